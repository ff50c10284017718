// Package authproto is the authdaemond wire protocol (reference §10): the
// request and reply formats, their parsers and encoders. The socket client
// that login stages and authtest use is internal/authclient; this package
// does no I/O of its own beyond reading a request from a bufio.Reader, so
// the session stages can link it (for UserInfo's option helpers) without
// net or os/user.
//
// Invariants:
//   - One request per connection; the server answers and closes (§10.1).
//   - A request is optional NAME=value meta lines, then one command line;
//     libcourierauth appends a NUL that the server ignores (§10.2).
//   - A command line is at most MaxLine (8190) bytes, and AUTH's byte count
//     is below MaxAuthLen (8192); anything else is malformed and the server
//     closes without replying (§10.2, §10.3).
//   - A reply is exactly "FAIL\n", or KEY=value lines in the fixed order of
//     §10.3 ending with ".\n". A client that sees EOF before either treats
//     it as a temporary failure, never as a login failure.
//   - Parsers never allocate more than the limits above, whatever the input.
package authproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits taken from libcourierauth/authdaemond, which use BUFSIZ (8192).
const (
	MaxLine    = 8190 // longest request line (BUFSIZ-2)
	MaxAuthLen = 8191 // largest AUTH byte count (n < BUFSIZ)
	MaxReply   = 8192 // client reply buffer for PRE/AUTH replies
	maxMeta    = 32   // meta lines accepted before the command
)

// Command words.
const (
	CmdPre       = "PRE"
	CmdAuth      = "AUTH"
	CmdPasswd    = "PASSWD"
	CmdEnumerate = "ENUMERATE"
)

// Authentication types carried by AUTH (§10.2).
const (
	AuthLogin      = "login"
	AuthCramMD5    = "cram-md5"
	AuthCramSHA1   = "cram-sha1"
	AuthCramSHA256 = "cram-sha256"
	AuthExternal   = "external"
)

var (
	// ErrMalformed: the request cannot be parsed; the server closes the
	// connection without a reply, as Courier's daemon does.
	ErrMalformed = errors.New("authproto: malformed request")
	// ErrFail is a FAIL reply: unknown user or wrong password.
	ErrFail = errors.New("authproto: authentication failed")
	// ErrTemporary: the daemon closed without a complete reply, could not be
	// reached, or timed out. Login stages answer "Temporary problem".
	ErrTemporary = errors.New("authproto: temporary authentication failure")
)

// Meta is one NAME=value line sent before the command (TCPREMOTEIP).
type Meta struct {
	Name, Value string
}

// Request is one parsed request. Which fields are set depends on Cmd:
//
//	PRE:       Module, Service, User
//	AUTH:      Service, AuthType, AuthData (login: "user\npass\n";
//	           cram-*: "b64challenge\nb64response\n")
//	PASSWD:    Service, User, OldPass, NewPass
//	ENUMERATE: nothing
type Request struct {
	Meta     []Meta
	Cmd      string
	Module   string
	Service  string
	User     string
	AuthType string
	AuthData string
	OldPass  string
	NewPass  string
}

// MetaValue returns the value of meta line name, or "".
func (r *Request) MetaValue(name string) string {
	for _, m := range r.Meta {
		if m.Name == name {
			return m.Value
		}
	}
	return ""
}

// LoginData splits AUTH login's authdata into user and password.
func (r *Request) LoginData() (user, pass string, ok bool) {
	return splitTwo(r.AuthData)
}

// CramData splits a cram-* authdata into the base64 challenge and response.
func (r *Request) CramData() (challenge, response string, ok bool) {
	return splitTwo(r.AuthData)
}

// splitTwo splits "a\nb\n" (the final newline optional) into a and b.
func splitTwo(s string) (string, string, bool) {
	a, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return "", "", false
	}
	b, tail, _ := strings.Cut(rest, "\n")
	if tail != "" {
		return "", "", false
	}
	return a, b, true
}

// NewLogin builds AUTH login.
func NewLogin(service, user, pass string) *Request {
	return &Request{Cmd: CmdAuth, Service: service, AuthType: AuthLogin,
		AuthData: user + "\n" + pass + "\n"}
}

// NewCram builds AUTH cram-md5/sha1/sha256 from the base64 challenge and
// base64 client response.
func NewCram(service, authType, challengeB64, responseB64 string) *Request {
	return &Request{Cmd: CmdAuth, Service: service, AuthType: authType,
		AuthData: challengeB64 + "\n" + responseB64 + "\n"}
}

// NewPre builds PRE . service user ("." means any module).
func NewPre(service, user string) *Request {
	return &Request{Cmd: CmdPre, Module: ".", Service: service, User: user}
}

// readLine reads one '\n'-terminated line of at most MaxLine bytes (not
// counting the newline) and returns it without the newline.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > MaxLine+1 {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLine)
		}
		if err == nil {
			return string(buf[:len(buf)-1]), nil
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(buf) == 0 {
				return "", io.EOF
			}
			return "", fmt.Errorf("%w: unterminated line", ErrMalformed)
		}
		return "", err
	}
}

// isMetaLine reports whether line is NAME=value: Courier's daemon treats a
// line as meta when its first word ends at '=' rather than at a space.
func isMetaLine(line string) bool {
	i := strings.IndexAny(line, "= ")
	return i > 0 && line[i] == '='
}

// ReadRequest reads and parses one request from br. It reads exactly the
// request (AUTH's n bytes included) and never the trailing NUL. Errors
// wrapping ErrMalformed mean the caller should close without replying; an
// io.EOF or a read error (timeout) means the same.
func ReadRequest(br *bufio.Reader) (*Request, error) {
	req := &Request{}
	var line string
	for {
		l, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if isMetaLine(l) {
			if len(req.Meta) >= maxMeta {
				return nil, fmt.Errorf("%w: too many meta lines", ErrMalformed)
			}
			name, value, _ := strings.Cut(l, "=")
			req.Meta = append(req.Meta, Meta{name, value})
			continue
		}
		line = l
		break
	}
	word, rest, _ := strings.Cut(line, " ")
	switch word {
	case CmdPre:
		f := strings.Fields(rest)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: PRE needs module, service and userid", ErrMalformed)
		}
		req.Cmd, req.Module, req.Service, req.User = CmdPre, f[0], f[1], f[2]
	case CmdAuth:
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 0 || n > MaxAuthLen {
			return nil, fmt.Errorf("%w: bad AUTH byte count %q", ErrMalformed, rest)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, fmt.Errorf("%w: short AUTH data: %v", ErrMalformed, err)
		}
		service, after, ok1 := bytes.Cut(data, []byte("\n"))
		authType, authData, ok2 := bytes.Cut(after, []byte("\n"))
		if !ok1 || !ok2 || len(service) == 0 || len(authType) == 0 {
			return nil, fmt.Errorf("%w: AUTH data lacks service or type", ErrMalformed)
		}
		req.Cmd, req.Service, req.AuthType, req.AuthData = CmdAuth, string(service), string(authType), string(authData)
	case CmdPasswd:
		f := strings.Split(rest, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("%w: PASSWD needs 4 tab-separated fields", ErrMalformed)
		}
		req.Cmd, req.Service, req.User, req.OldPass, req.NewPass = CmdPasswd, f[0], f[1], f[2], f[3]
	case CmdEnumerate:
		if strings.TrimSpace(rest) != "" {
			return nil, fmt.Errorf("%w: ENUMERATE takes no arguments", ErrMalformed)
		}
		req.Cmd = CmdEnumerate
	default:
		return nil, fmt.Errorf("%w: unknown command %q", ErrMalformed, truncate(word, 40))
	}
	return req, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Validate checks that the request can be encoded so that the server parses
// back the same request: no newlines inside fields, no tabs in PASSWD fields,
// sizes within limits.
func (r *Request) Validate() error {
	bad := func(what, s, chars string) error {
		if strings.ContainsAny(s, chars) {
			return fmt.Errorf("authproto: %s contains a forbidden character", what)
		}
		return nil
	}
	for _, m := range r.Meta {
		if m.Name == "" || strings.ContainsAny(m.Name, "= \n\x00") || strings.ContainsAny(m.Value, "\n\x00") {
			return fmt.Errorf("authproto: bad meta line %q", m.Name)
		}
	}
	switch r.Cmd {
	case CmdPre:
		for _, f := range []struct{ n, v string }{{"module", r.Module}, {"service", r.Service}, {"userid", r.User}} {
			if f.v == "" {
				return fmt.Errorf("authproto: empty %s", f.n)
			}
			if err := bad(f.n, f.v, " \t\r\n\x00"); err != nil {
				return err
			}
		}
	case CmdAuth:
		if r.Service == "" || r.AuthType == "" {
			return errors.New("authproto: empty service or auth type")
		}
		if err := bad("service", r.Service, "\n\x00"); err != nil {
			return err
		}
		if err := bad("auth type", r.AuthType, "\n\x00"); err != nil {
			return err
		}
		if r.AuthType != AuthExternal {
			if _, _, ok := splitTwo(r.AuthData); !ok {
				return errors.New("authproto: AUTH data must be two lines")
			}
		}
		if n := len(r.Service) + len(r.AuthType) + 2 + len(r.AuthData); n > MaxAuthLen {
			return fmt.Errorf("authproto: AUTH data too long (%d bytes)", n)
		}
	case CmdPasswd:
		for _, s := range []string{r.Service, r.User, r.OldPass, r.NewPass} {
			if err := bad("PASSWD field", s, "\t\n\x00"); err != nil {
				return err
			}
		}
	case CmdEnumerate:
	default:
		return fmt.Errorf("authproto: unknown command %q", r.Cmd)
	}
	return nil
}

// Encode renders the request as libcourierauth 0.71 sends it, including the
// trailing NUL (§10.2). It does not validate; call Validate first.
func (r *Request) Encode() []byte {
	var b bytes.Buffer
	for _, m := range r.Meta {
		b.WriteString(m.Name + "=" + m.Value + "\n")
	}
	switch r.Cmd {
	case CmdPre:
		fmt.Fprintf(&b, "PRE %s %s %s\n", r.Module, r.Service, r.User)
	case CmdAuth:
		body := r.Service + "\n" + r.AuthType + "\n" + r.AuthData
		fmt.Fprintf(&b, "AUTH %d\n%s", len(body), body)
	case CmdPasswd:
		fmt.Fprintf(&b, "PASSWD %s\t%s\t%s\t%s\n", r.Service, r.User, r.OldPass, r.NewPass)
	case CmdEnumerate:
		b.WriteString("ENUMERATE\n")
	}
	b.WriteByte(0)
	return b.Bytes()
}
