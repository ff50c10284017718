package pop3

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gocourier/internal/tlsconf/tlsconftest"
)

// stlsLogin runs a Login whose StartTLS hook terminates TLS in-process on
// the same socket (standing in for couriertls) and reports the calls.
type stlsLogin struct {
	mu     sync.Mutex
	checks []string // users Check / Pre saw
	done   chan *Credentials
	login  *Login
}

func startSTLS(t *testing.T, setup func(l *Login)) (net.Conn, *bufio.Reader, *stlsLogin) {
	t.Helper()
	srv, cli := socketPair(t)
	cert := tlsconftest.Cert(t, "", pkix.Name{CommonName: "localhost"}, false, nil)
	sl := &stlsLogin{done: make(chan *Credentials, 1)}
	l := &Login{Conn: NewConn(srv, srv, true), FailDelay: time.Millisecond,
		Capa: Capabilities{STLS: true},
		Check: func(cr Credentials) error {
			sl.mu.Lock()
			sl.checks = append(sl.checks, cr.User)
			sl.mu.Unlock()
			if cr.User == "alice" && cr.Pass == "pass" {
				return nil
			}
			return errors.New("fail")
		},
		Pre: func(id string) error {
			sl.mu.Lock()
			sl.checks = append(sl.checks, "PRE "+id)
			sl.mu.Unlock()
			if id == "alice" {
				return nil
			}
			return errors.New("fail")
		},
		IsTemporary: func(error) bool { return false },
	}
	l.StartTLS = func() (*Conn, error) {
		tc := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{*cert}})
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		return NewConn(tc, tc, true), nil
	}
	if setup != nil {
		setup(l)
	}
	sl.login = l
	go func() {
		cr, _ := l.Serve()
		l.Conn.Flush()
		srv.Close()
		sl.done <- cr
	}()
	t.Cleanup(func() { cli.Close() })
	r := bufio.NewReader(cli)
	if g := readLine(t, r); g != "+OK Hello there." {
		t.Fatalf("greeting %q", g)
	}
	return cli, r, sl
}

func upgrade(t *testing.T, c net.Conn) (net.Conn, *bufio.Reader) {
	t.Helper()
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return tc, bufio.NewReader(tc)
}

func capa(t *testing.T, c net.Conn, r *bufio.Reader) []string {
	t.Helper()
	if l := cmd(t, c, r, "CAPA"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("CAPA: %q", l)
	}
	return readMulti(t, r)
}

func TestSTLS(t *testing.T) {
	c, r, sl := startSTLS(t, nil)
	if !slices.Contains(capa(t, c, r), "STLS") {
		t.Errorf("CAPA lacks STLS")
	}
	if l := cmd(t, c, r, "USER alice"); l != "+OK Password required." {
		t.Fatalf("USER: %q", l)
	}
	if l := cmd(t, c, r, "STLS"); l != "+OK Begin SSL/TLS negotiation now." {
		t.Fatalf("STLS: %q", l)
	}
	c, r = upgrade(t, c)
	if slices.Contains(capa(t, c, r), "STLS") {
		t.Errorf("CAPA lists STLS on TLS")
	}
	if l := cmd(t, c, r, "STLS"); l != "-ERR TLS support not available." {
		t.Errorf("second STLS: %q", l)
	}
	// The USER given before STLS is forgotten.
	if l := cmd(t, c, r, "PASS pass"); l != "-ERR USER/PASS required." {
		t.Errorf("PASS after STLS without USER: %q", l)
	}
	cmd(t, c, r, "USER alice")
	io.WriteString(c, "PASS pass\r\n")
	if cr := <-sl.done; cr == nil || cr.User != "alice" {
		t.Fatalf("login after STLS: %+v", cr)
	}
	if !sl.login.TLSDone {
		t.Errorf("TLSDone not set")
	}
}

func TestSTLSNotOffered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(l *Login)
	}{
		{"STLS not in capabilities", func(l *Login) { l.Capa.STLS = false }},
		{"no StartTLS hook", func(l *Login) { l.StartTLS = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r, _ := startSTLS(t, tc.setup)
			if l := cmd(t, c, r, "STLS"); l != "-ERR TLS support not available." {
				t.Errorf("STLS: %q", l)
			}
			if l := cmd(t, c, r, "USER alice"); l != "+OK Password required." {
				t.Errorf("session not usable after a refused STLS: %q", l)
			}
		})
	}
}

// TestSTLSInjection: a command pipelined after STLS is never executed: it
// stays in the socket, reaches the TLS handshake and makes it fail.
func TestSTLSInjection(t *testing.T) {
	c, r, sl := startSTLS(t, nil)
	io.WriteString(c, "STLS\r\nUSER alice\r\nPASS pass\r\n")
	if l := readLine(t, r); l != "+OK Begin SSL/TLS negotiation now." {
		t.Fatalf("STLS: %q", l)
	}
	if cr := <-sl.done; cr != nil {
		t.Errorf("injected login accepted: %+v", cr)
	}
	if len(sl.checks) != 0 {
		t.Errorf("injected commands reached authentication: %q", sl.checks)
	}
}

func TestSTLSRequired(t *testing.T) {
	c, r, sl := startSTLS(t, func(l *Login) { l.TLSRequired = true })
	for _, line := range []string{"USER alice", "PASS pass", "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pass")), "AUTH EXTERNAL ="} {
		if l := cmd(t, c, r, line); l != "-ERR TLS required to log in." {
			t.Errorf("%s before STLS: %q", line, l)
		}
	}
	if len(sl.checks) != 0 {
		t.Errorf("credentials checked before TLS: %q", sl.checks)
	}
	capa(t, c, r) // still allowed
	cmd(t, c, r, "STLS")
	c, r = upgrade(t, c)
	cmd(t, c, r, "USER alice")
	io.WriteString(c, "PASS pass\r\n")
	if cr := <-sl.done; cr == nil {
		t.Fatal("login after STLS refused")
	}
}

func TestAuthExternal(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name     string
		external string
		line     string
		cont     bool // a "+ " continuation is expected, answered with an empty line
		ok       bool
		checks   []string
	}{
		{"empty authzid", "alice", "AUTH EXTERNAL =", false, true, []string{"PRE alice"}},
		{"same authzid", "alice", "AUTH EXTERNAL " + b64("alice"), false, true, []string{"PRE alice"}},
		{"no initial response", "alice", "AUTH EXTERNAL", true, true, []string{"PRE alice"}},
		{"other authzid", "alice", "AUTH EXTERNAL " + b64("bob"), false, false, nil},
		{"unknown account", "mallory", "AUTH EXTERNAL =", false, false, []string{"PRE mallory"}},
		{"no certificate identity", "", "AUTH EXTERNAL =", false, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r, sl := startSTLS(t, func(l *Login) { l.External = tc.external })
			io.WriteString(c, tc.line+"\r\n")
			if tc.cont {
				if l := readLine(t, r); l != "+ " {
					t.Fatalf("continuation %q", l)
				}
				io.WriteString(c, "\r\n")
			}
			if tc.ok {
				if cr := <-sl.done; cr == nil || cr.User != tc.external || cr.Method != "EXTERNAL" {
					t.Fatalf("EXTERNAL: %+v", cr)
				}
			} else if l := readLine(t, r); l != "-ERR [AUTH] Login failed." {
				t.Errorf("EXTERNAL: %q", l)
			}
			sl.mu.Lock()
			defer sl.mu.Unlock()
			if !slices.Equal(sl.checks, tc.checks) {
				t.Errorf("authd calls %q, want %q", sl.checks, tc.checks)
			}
		})
	}
}

func TestCapabilitiesExternal(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"plain port", map[string]string{"POP3AUTH": "PLAIN", "TLS_EXTERNAL_ID": "alice"}, []string{"PLAIN"}},
		{"TLS without certificate", map[string]string{"POP3_TLS": "1", "POP3AUTH_TLS": "PLAIN LOGIN"}, []string{"PLAIN", "LOGIN"}},
		{"TLS with certificate", map[string]string{"POP3_TLS": "1", "POP3AUTH_TLS": "PLAIN LOGIN", "TLS_EXTERNAL_ID": "alice"}, []string{"PLAIN", "LOGIN", "EXTERNAL"}},
		{"empty list stays empty", map[string]string{"POP3_TLS": "1", "TLS_EXTERNAL_ID": "alice"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CapabilitiesFromEnv(func(k string) string { return tc.env[k] }).SASL
			if !slices.Equal(got, tc.want) {
				t.Errorf("SASL %q, want %q", got, tc.want)
			}
		})
	}
}
