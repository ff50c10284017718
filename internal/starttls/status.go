package starttls

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Variables couriertls sets for the program (and Session.Env returns),
// besides IMAP_TLS/POP3_TLS. Courier's couriertls sets TLS_SUBJECT_<FIELD>
// for every subject field of a verified client certificate and
// TLS_CONNECTED_PROTOCOL; ExternalEnv is ours: the TLS_EXTERNAL field's
// value alone, so a login stage needs no knowledge of field names.
const (
	SubjectEnvPrefix = "TLS_SUBJECT_"
	ProtocolEnv      = "TLS_CONNECTED_PROTOCOL"
)

// ExternalEnv is the environment variable in which a program started
// behind couriertls (or a login stage after STARTTLS) receives the
// identity taken from a verified client certificate (the TLS_EXTERNAL
// subject field). couriertls always removes an inherited value first, so
// when IMAP_TLS=1/POP3_TLS=1 came from couriertls the variable is either
// absent or set by couriertls itself.
const ExternalEnv = "TLS_EXTERNAL_ID"

// Status is what couriertls reports on its status descriptor once the
// handshake has finished (or failed).
type Status struct {
	OK       bool
	External string // verified client identity, "" if none
	Version  string // e.g. "TLSv1.3"
	Cipher   string // e.g. "TLS_AES_128_GCM_SHA256"
	// Protocol is Courier's TLS_CONNECTED_PROTOCOL text,
	// e.g. "TLSv1.3,256bits,TLS_AES_256_GCM_SHA384".
	Protocol string
	// Subject holds "FIELD=value" for each subject field of a verified
	// client certificate (FIELD upper-cased: CN, EMAILADDRESS, ...).
	Subject []string
	Err     string // failure reason when !OK
}

// maxStatus bounds what ReadStatus accepts; a status is a few lines.
const maxStatus = 4096

// WriteStatus writes st in the status line protocol:
//
//	EXTERNAL <id>          (optional)
//	VERSION <name>         (optional)
//	CIPHER <name>          (optional)
//	PROTOCOL <desc>        (optional)
//	SUBJECT <FIELD>=<v>    (zero or more)
//	OK                     (last line on success)
//
// or a single "ERR <reason>" line. Values containing control characters
// are dropped (an identity with a newline could forge lines).
func WriteStatus(w io.Writer, st Status) error {
	var b strings.Builder
	if !st.OK {
		fmt.Fprintf(&b, "ERR %s\n", clean(st.Err))
	} else {
		kvs := [][2]string{{"EXTERNAL", st.External}, {"VERSION", st.Version}, {"CIPHER", st.Cipher}, {"PROTOCOL", st.Protocol}}
		for _, f := range st.Subject {
			if name, _, ok := strings.Cut(f, "="); ok && validName(name) {
				kvs = append(kvs, [2]string{"SUBJECT", f})
			}
		}
		for _, kv := range kvs {
			if v := kv[1]; v != "" && clean(v) == v {
				fmt.Fprintf(&b, "%s %s\n", kv[0], v)
			}
		}
		b.WriteString("OK\n")
	}
	if b.Len() > maxStatus {
		return errors.New("starttls: status too long")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// validName accepts the characters of an environment variable name.
func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// ReadStatus reads one status report. Anything other than a well-formed
// report ending in "OK" (EOF, ERR, garbage, too long) is an error: the
// caller must then treat the TLS session as failed.
func ReadStatus(r io.Reader) (Status, error) {
	var st Status
	sc := bufio.NewScanner(io.LimitReader(r, maxStatus))
	sc.Buffer(make([]byte, 0, 512), maxStatus)
	for sc.Scan() {
		line := sc.Text()
		key, val, _ := strings.Cut(line, " ")
		if clean(val) != val {
			return Status{}, fmt.Errorf("starttls: control character in status line %q", line)
		}
		switch key {
		case "OK":
			st.OK = true
			return st, nil
		case "ERR":
			st.Err = val
			return st, fmt.Errorf("starttls: TLS handshake failed: %s", val)
		case "EXTERNAL":
			st.External = val
		case "VERSION":
			st.Version = val
		case "CIPHER":
			st.Cipher = val
		case "PROTOCOL":
			st.Protocol = val
		case "SUBJECT":
			name, _, ok := strings.Cut(val, "=")
			if !ok || !validName(name) || len(st.Subject) >= 32 {
				return Status{}, fmt.Errorf("starttls: bad status line %q", line)
			}
			st.Subject = append(st.Subject, val)
		default:
			return Status{}, fmt.Errorf("starttls: bad status line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return Status{}, fmt.Errorf("starttls: reading status: %w", err)
	}
	return Status{}, errors.New("starttls: TLS helper ended without a status (handshake failed or timed out)")
}

// Env returns the variables a login or session stage gets once its
// connection is on TLS (reference §1.2: after STARTTLS, IMAP_TLS=1,
// IMAP_STARTTLS=NO, IMAP_TLS_REQUIRED=0; POP3 likewise with POP3_), then
// Courier's TLS_CONNECTED_PROTOCOL and TLS_SUBJECT_<FIELD> variables and
// ExternalEnv when a client certificate was verified. service is "imap"
// or "pop3".
func Env(service string, st Status) []string {
	p := "IMAP_"
	if strings.EqualFold(service, "pop3") {
		p = "POP3_"
	}
	env := []string{p + "TLS=1", p + "STARTTLS=NO", p + "TLS_REQUIRED=0"}
	if st.Protocol != "" {
		env = append(env, ProtocolEnv+"="+st.Protocol)
	}
	for _, f := range st.Subject {
		env = append(env, SubjectEnvPrefix+f)
	}
	if st.External != "" {
		env = append(env, ExternalEnv+"="+st.External)
	}
	return env
}

// TrustedOnly reports whether an inherited variable must be removed
// before the TLS variables are added: only couriertls may set them.
func TrustedOnly(kv string) bool {
	return strings.HasPrefix(kv, SubjectEnvPrefix) || strings.HasPrefix(kv, ProtocolEnv+"=") ||
		strings.HasPrefix(kv, ExternalEnv+"=")
}

// MergeEnv returns base without the variables for which TrustedOnly is
// true and without any variable that add sets, followed by add. Appending
// alone is not enough: with duplicate names, getenv (C and Go alike)
// returns the first, and the rc scripts export IMAP_STARTTLS=YES.
func MergeEnv(base, add []string) []string {
	set := map[string]bool{}
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	out := make([]string, 0, len(base)+len(add))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !set[k] && !TrustedOnly(kv) {
			out = append(out, kv)
		}
	}
	return append(out, add...)
}
