package imappreauth_test

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/imappreauth"
	"gocourier/internal/rawimap"
	"gocourier/internal/tlsconf/tlsconftest"
)

// tlsPre is a pre-login stage whose StartTLS hook does what imaplogin's
// does, in-process: a TLS server on the same connection (standing in for
// couriertls) and the TLS variables in the environment.
type tlsPre struct {
	mu      sync.Mutex
	env     map[string]string
	reqs    []*authproto.Request
	started int
}

func (tp *tlsPre) getenv(k string) string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.env[k]
}

func (tp *tlsPre) auth(req *authproto.Request) (*authproto.UserInfo, error) {
	tp.mu.Lock()
	tp.reqs = append(tp.reqs, req)
	tp.mu.Unlock()
	ok := false
	switch req.Cmd {
	case authproto.CmdPre:
		ok = req.User == "alice"
	default:
		u, p, _ := req.LoginData()
		ok = u == "alice" && p == "pass"
	}
	if ok {
		return &authproto.UserInfo{Address: "alice", UID: 1000, GID: 1000, Home: "/tmp"}, nil
	}
	return nil, authproto.ErrFail
}

var tlsCertOnce struct {
	sync.Once
	cert *tls.Certificate
}

func serverCert(t *testing.T) *tls.Certificate {
	tlsCertOnce.Do(func() {
		tlsCertOnce.cert = tlsconftest.Cert(t, "", pkix.Name{CommonName: "localhost"}, false, nil)
	})
	return tlsCertOnce.cert
}

// startTLSPre runs a PreLogin with env (plus testEnv) and returns the
// client side and the result channel. available is TLSAvailable;
// external, when set, is the identity the "certificate" yields.
func startTLSPre(t *testing.T, env map[string]string, available bool, external string) (*rawimap.Conn, *tlsPre, chan preResult) {
	srv, cli := net.Pipe()
	tp := &tlsPre{env: map[string]string{"IMAP_CAPABILITY_TLS": testEnv["IMAP_CAPABILITY"] + " AUTH=PLAIN"}}
	for k, v := range testEnv {
		tp.env[k] = v
	}
	for k, v := range env {
		tp.env[k] = v
	}
	cert := serverCert(t)
	p := &imappreauth.PreLogin{
		Auth: tp.auth, Service: "imap", FailureDelay: time.Millisecond, Timeout: 10 * time.Second,
		Getenv: tp.getenv, IP: "::ffff:127.0.0.1", Port: "4000", Closer: func() { srv.Close() },
		TLSAvailable: available,
		StartTLS: func() (io.Reader, io.Writer, error) {
			tc := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if err := tc.Handshake(); err != nil {
				return nil, nil, err
			}
			tp.mu.Lock()
			tp.started++
			tp.env["IMAP_TLS"], tp.env["IMAP_STARTTLS"], tp.env["IMAP_TLS_REQUIRED"] = "1", "NO", "0"
			if external != "" {
				tp.env["TLS_EXTERNAL_ID"] = external
			}
			tp.mu.Unlock()
			return tc, tc, nil
		},
	}
	ch := make(chan preResult, 1)
	go func() {
		r, err := p.Run(srv, srv)
		ch <- preResult{r, err}
		srv.Close()
	}()
	t.Cleanup(func() { cli.Close() })
	return rawimap.New(t, cli), tp, ch
}

// upgrade does the client side of the TLS handshake on c's connection
// and makes c read and write through TLS.
func upgrade(t *testing.T, c *rawimap.Conn) {
	t.Helper()
	tc := tls.Client(c.C, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	*c = *rawimap.New(t, tc)
}

func TestPreLoginSTARTTLSAdvertised(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		available bool
		want      bool
	}{
		{"offered", map[string]string{"IMAP_STARTTLS": "YES"}, true, true},
		{"lower-case yes", map[string]string{"IMAP_STARTTLS": "yes"}, true, true},
		{"IMAP_STARTTLS=NO", map[string]string{"IMAP_STARTTLS": "NO"}, true, false},
		{"unset", nil, true, false},
		{"couriertls or certificate missing", map[string]string{"IMAP_STARTTLS": "YES"}, false, false},
		{"already on TLS", map[string]string{"IMAP_STARTTLS": "YES", "IMAP_TLS": "1"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := startTLSPre(t, tc.env, tc.available, "")
			g := c.Line()
			if got := strings.Contains(g, " STARTTLS"); got != tc.want {
				t.Errorf("greeting %q: STARTTLS %v, want %v", g, got, tc.want)
			}
			if strings.Contains(g, "LOGINDISABLED") {
				t.Errorf("LOGINDISABLED without IMAP_TLS_REQUIRED: %q", g)
			}
			if !tc.want {
				if got := c.Cmd("a STARTTLS"); got[len(got)-1] != "a NO Error in IMAP command received by server." {
					t.Errorf("STARTTLS not offered: %q", got)
				}
			}
		})
	}
}

func TestPreLoginSTARTTLS(t *testing.T) {
	c, tp, ch := startTLSPre(t, map[string]string{"IMAP_STARTTLS": "YES"}, true, "")
	c.Line()
	if got := c.Cmd("a STARTTLS"); len(got) != 1 || got[0] != "a OK Begin SSL/TLS negotiation now." {
		t.Fatalf("STARTTLS: %q", got)
	}
	upgrade(t, c)
	got := c.Cmd("b CAPABILITY")
	if strings.Contains(got[0], "STARTTLS") || !strings.Contains(got[0], "AUTH=PLAIN") {
		t.Errorf("capabilities after STARTTLS: %q", got)
	}
	if got := c.Cmd("c STARTTLS"); got[0] != "c NO Error in IMAP command received by server." {
		t.Errorf("second STARTTLS: %q", got)
	}
	c.Send("d LOGIN alice pass\r\n")
	r := <-ch
	if r.err != nil || r.res == nil || r.res.Tag != "d" {
		t.Fatalf("login after STARTTLS: %+v", r)
	}
	if tp.started != 1 {
		t.Errorf("StartTLS called %d times", tp.started)
	}
}

// TestPreLoginSTARTTLSInjection: bytes pipelined after STARTTLS are not
// read by the login stage; they reach the handshake and make it fail, and
// the injected command is never answered.
func TestPreLoginSTARTTLSInjection(t *testing.T) {
	c, tp, ch := startTLSPre(t, map[string]string{"IMAP_STARTTLS": "YES"}, true, "")
	c.Line()
	go c.C.Write([]byte("a STARTTLS\r\nb LOGIN alice pass\r\n"))
	if l := c.Line(); l != "a OK Begin SSL/TLS negotiation now." {
		t.Fatalf("STARTTLS: %q", l)
	}
	r := <-ch
	if r.err == nil || r.res != nil {
		t.Errorf("Run after an injected command: %+v, want a handshake error", r)
	}
	if len(tp.reqs) != 0 {
		t.Errorf("the injected LOGIN reached authentication: %+v", tp.reqs[0])
	}
}

func TestPreLoginTLSRequired(t *testing.T) {
	c, tp, ch := startTLSPre(t, map[string]string{"IMAP_STARTTLS": "YES", "IMAP_TLS_REQUIRED": "1"}, true, "")
	if g := c.Line(); !strings.Contains(g, " STARTTLS LOGINDISABLED") {
		t.Errorf("greeting: %q", g)
	}
	for _, step := range []struct{ cmd, want string }{
		{"a LOGIN alice pass", "a NO STARTTLS required"},
		{"b LOGIN {5}", ""}, // literal: continuation, then the refusal
		{"c AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pass")), "c NO STARTTLS required"},
		{"d AUTHENTICATE CRAM-MD5", "d NO STARTTLS required"},
	} {
		if step.want == "" {
			c.Send(step.cmd + "\r\n")
			if l := c.Line(); l != "+ OK" {
				t.Fatalf("continuation %q", l)
			}
			c.Send("alice pass\r\n")
			if got := c.Until("b"); got[len(got)-1] != "b NO STARTTLS required" {
				t.Errorf("LOGIN with literal: %q", got)
			}
			continue
		}
		if got := c.Cmd(step.cmd); got[len(got)-1] != step.want {
			t.Errorf("%s: %q, want %q", step.cmd, got, step.want)
		}
	}
	if len(tp.reqs) != 0 {
		t.Errorf("%d requests reached authentication before TLS", len(tp.reqs))
	}
	c.Cmd("e STARTTLS")
	upgrade(t, c)
	if got := c.Cmd("f CAPABILITY"); strings.Contains(got[0], "LOGINDISABLED") {
		t.Errorf("LOGINDISABLED after STARTTLS: %q", got)
	}
	c.Send("g LOGIN alice pass\r\n")
	if r := <-ch; r.res == nil {
		t.Fatalf("login after STARTTLS: %+v", r)
	}
}

// TestPreLoginTLSRequiredWithoutHelper: TLS required but STARTTLS
// unavailable still refuses logins (fail closed).
func TestPreLoginTLSRequiredWithoutHelper(t *testing.T) {
	c, _, _ := startTLSPre(t, map[string]string{"IMAP_STARTTLS": "YES", "IMAP_TLS_REQUIRED": "1"}, false, "")
	if g := c.Line(); strings.Contains(g, "STARTTLS") || !strings.Contains(g, "LOGINDISABLED") {
		t.Errorf("greeting: %q", g)
	}
	if got := c.Cmd("a LOGIN alice pass"); got[0] != "a NO STARTTLS required" {
		t.Errorf("LOGIN: %q", got)
	}
}

func TestPreLoginExternal(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name    string
		env     map[string]string
		cmd     string // after "a AUTHENTICATE EXTERNAL"
		resp    string // continuation answer, "" if none expected
		wantOK  bool
		advert  bool
		authReq bool // a PRE request reached authd
	}{
		{"empty authzid", map[string]string{"IMAP_TLS": "1", "TLS_EXTERNAL_ID": "alice"}, " =", "", true, true, true},
		{"same authzid", map[string]string{"IMAP_TLS": "1", "TLS_EXTERNAL_ID": "alice"}, " " + b64("alice"), "", true, true, true},
		{"no initial response", map[string]string{"IMAP_TLS": "1", "TLS_EXTERNAL_ID": "alice"}, "", "=", true, true, true},
		{"other authzid", map[string]string{"IMAP_TLS": "1", "TLS_EXTERNAL_ID": "alice"}, " " + b64("bob"), "", false, true, false},
		{"unknown account", map[string]string{"IMAP_TLS": "1", "TLS_EXTERNAL_ID": "mallory"}, " =", "", false, true, true},
		{"certificate without the field", map[string]string{"IMAP_TLS": "1"}, " =", "", false, false, false},
		{"identity without TLS", map[string]string{"TLS_EXTERNAL_ID": "alice"}, " =", "", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, tp, ch := startTLSPre(t, tc.env, false, "")
			g := c.Line()
			if got := strings.Contains(g, "AUTH=EXTERNAL"); got != tc.advert {
				t.Errorf("greeting %q: AUTH=EXTERNAL %v, want %v", g, got, tc.advert)
			}
			c.Send("a AUTHENTICATE EXTERNAL" + tc.cmd + "\r\n")
			if tc.resp != "" {
				if l := c.Line(); l != "+ " {
					t.Fatalf("continuation %q", l)
				}
				c.Send("\r\n")
			}
			if tc.wantOK {
				r := <-ch
				if r.res == nil || r.res.User != "alice" || r.res.Tag != "a" {
					t.Fatalf("EXTERNAL: %+v", r)
				}
			} else if l := c.Line(); l != "a NO Login failed." {
				t.Errorf("EXTERNAL: %q", l)
			}
			tp.mu.Lock()
			defer tp.mu.Unlock()
			if got := len(tp.reqs) > 0; got != tc.authReq {
				t.Errorf("authd asked: %v, want %v", got, tc.authReq)
			}
			for _, r := range tp.reqs {
				if r.Cmd != authproto.CmdPre {
					t.Errorf("EXTERNAL sent %s, want PRE", r.Cmd)
				}
			}
		})
	}
}
