package starttls

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"gocourier/internal/paths"
)

// Program returns the couriertls binary a login stage would start:
// $COURIERTLS (the imapd-ssl/pop3d-ssl setting), else
// paths.Sbindir/couriertls.
func Program(getenv func(string) string) string {
	if p := getenv("COURIERTLS"); p != "" {
		return p
	}
	return paths.Sbindir + "/couriertls"
}

// Available reports whether STARTTLS/STLS can be offered (reference §3.1
// item 5, §6.1): the couriertls program is executable and TLS_CERTFILE
// names a file this process (root, before the privilege drop) can read.
// Courier checks only the program; checking the certificate too means a
// missing certificate gives "no STARTTLS" instead of a client stuck after
// "OK Begin SSL/TLS negotiation now.". It touches the file system, so
// login stages call it once at start and hand the result to the protocol
// code.
func Available(getenv func(string) string) bool {
	if unix.Access(Program(getenv), unix.X_OK) != nil {
		return false
	}
	cert := getenv("TLS_CERTFILE")
	if cert == "" {
		return false
	}
	f, err := os.Open(cert)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Offered reports whether a login stage for service ("imap" or "pop3")
// should advertise STARTTLS/STLS: <SERVICE>_STARTTLS starts with y/Y, the
// connection is not already on TLS (<SERVICE>_TLS=1), and available (the
// result of Available) is true.
func Offered(service string, getenv func(string) string, available bool) bool {
	p := prefix(service)
	v := getenv(p + "STARTTLS")
	return available && getenv(p+"TLS") != "1" && v != "" && (v[0] == 'y' || v[0] == 'Y')
}

// OnTLS reports whether the connection of a login or session stage is on
// TLS: <SERVICE>_TLS=1, which only couriertls (implicit port) or a
// completed STARTTLS sets.
func OnTLS(service string, getenv func(string) string) bool {
	return getenv(prefix(service)+"TLS") == "1"
}

// TLSRequired reports whether <SERVICE>_TLS_REQUIRED=1 demands TLS before
// any login, and the connection is not on TLS yet.
func TLSRequired(service string, getenv func(string) string) bool {
	return getenv(prefix(service)+"TLS_REQUIRED") == "1" && !OnTLS(service, getenv)
}

// ExternalID returns the verified client-certificate identity for the
// EXTERNAL mechanism, or "" when there is none. It trusts ExternalEnv only
// when the connection is on TLS: couriertls removes inherited values and
// sets both variables itself, so without <SERVICE>_TLS=1 the variable can
// only be a leftover of the configuration and is ignored (fail closed).
func ExternalID(service string, getenv func(string) string) string {
	if !OnTLS(service, getenv) {
		return ""
	}
	return getenv(ExternalEnv)
}

func prefix(service string) string {
	if service == "pop3" || service == "POP3" {
		return "POP3_"
	}
	return "IMAP_"
}

// ApplyEnv replaces this process's environment with
// MergeEnv(os.Environ(), s.Env(service)), so that a login stage's own
// getenv calls (capabilities, EXTERNAL) and the session stage it execs
// both see the TLS state.
func (s *Session) ApplyEnv(service string) error {
	env := MergeEnv(os.Environ(), s.Env(service))
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("starttls: setenv %s: %w", k, err)
		}
	}
	return nil
}
