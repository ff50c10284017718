package imappreauth_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/imappreauth"
	"gocourier/internal/rawimap"
)

type fakeAuth struct {
	mu   sync.Mutex
	reqs []*authproto.Request
	temp bool
}

func (f *fakeAuth) auth(req *authproto.Request) (*authproto.UserInfo, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.temp {
		return nil, errors.New("authd socket: connection refused")
	}
	u, p, _ := req.LoginData()
	if u == "alice" && p == "pass" {
		return &authproto.UserInfo{Address: "alice", UID: 1000, GID: 1000, Home: "/tmp"}, nil
	}
	return nil, authproto.ErrFail
}

type preResult struct {
	res *imappreauth.LoginResult
	err error
}

func startPre(t *testing.T, fa *fakeAuth, env map[string]string) (*rawimap.Conn, chan preResult, *bytes.Buffer) {
	srv, cli := net.Pipe()
	var log bytes.Buffer
	p := &imappreauth.PreLogin{
		Auth: fa.auth, Service: "imap", FailureDelay: 10 * time.Millisecond, Timeout: 5 * time.Second,
		Getenv: func(k string) string { return env[k] }, Log: &log, IP: "::ffff:127.0.0.1", Port: "4000",
		Closer: func() { srv.Close() },
	}
	ch := make(chan preResult, 1)
	go func() {
		r, err := p.Run(srv, srv)
		ch <- preResult{r, err}
		srv.Close()
	}()
	t.Cleanup(func() { cli.Close() })
	return rawimap.New(t, cli), ch, &log
}

func TestPreLoginGreetingAndCommands(t *testing.T) {
	c, ch, log := startPre(t, &fakeAuth{}, testEnv)
	g := c.Line()
	want := "* OK [CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION ENABLE UTF8=ACCEPT LITERAL+ SASL-IR] Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.  See COPYING for distribution information."
	if g != want {
		t.Fatalf("greeting\n got %q\nwant %q", g, want)
	}
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"capability", "a CAPABILITY", []string{"* CAPABILITY IMAP4rev1", "a OK CAPABILITY completed"}, nil},
		{"noop", "b Noop", []string{"b OK NOOP completed"}, nil},
		{"select before login", "c SELECT INBOX", []string{"c NO Error in IMAP command received by server."}, nil},
		{"unknown before login", "c2 FOOBAR", []string{"c2 BAD Error in IMAP command received by server."}, nil},
		{"login missing arg", "d LOGIN alice", []string{"d BAD "}, nil},
		{"login failure", "e LOGIN alice wrong", []string{"e NO Login failed."}, nil},
	})
	c.Send("f LOGIN {5}\r\n")
	if l := c.Line(); l != "+ OK" {
		t.Fatalf("continuation %q", l)
	}
	c.Send("alice \"pass\"\r\n")
	r := <-ch
	if r.err != nil || r.res == nil || r.res.Tag != "f" || r.res.Account.Address != "alice" {
		t.Fatalf("result %+v %v", r.res, r.err)
	}
	l := log.String()
	for _, w := range []string{"DEBUG: Connection, ip=[::ffff:127.0.0.1], port=[4000]", "INFO: LOGIN FAILED, user=alice, ip=[::ffff:127.0.0.1], port=[4000]"} {
		if !strings.Contains(l, w) {
			t.Errorf("log lacks %q:\n%s", w, l)
		}
	}
}

func TestPreLoginAuthenticate(t *testing.T) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pass"))
	tests := []struct {
		name  string
		lines []string // client lines; "+" lines expect a continuation first
		ok    bool
	}{
		{"plain continuation", []string{"a AUTHENTICATE PLAIN", "+" + plain}, true},
		{"plain sasl-ir", []string{"a AUTHENTICATE PLAIN " + plain}, true},
		{"plain authzid", []string{"a AUTHENTICATE PLAIN", "+" + base64.StdEncoding.EncodeToString([]byte("alice\x00alice\x00pass"))}, true},
		{"login mech", []string{"a AUTHENTICATE LOGIN", "+" + base64.StdEncoding.EncodeToString([]byte("alice")), "+" + base64.StdEncoding.EncodeToString([]byte("pass"))}, true},
		{"cancel", []string{"a AUTHENTICATE PLAIN", "+*"}, false},
		{"bad base64", []string{"a AUTHENTICATE PLAIN", "+!!!"}, false},
		{"unknown mech", []string{"a AUTHENTICATE FOOBAR"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ch, _ := startPre(t, &fakeAuth{}, nil)
			c.Line()
			for _, l := range tc.lines {
				if strings.HasPrefix(l, "+") {
					if got := c.Line(); !strings.HasPrefix(got, "+ ") {
						t.Fatalf("want continuation, got %q", got)
					}
					l = l[1:]
				}
				c.Send(l + "\r\n")
			}
			if tc.ok {
				r := <-ch
				if r.res == nil {
					t.Fatalf("no login: %v", r.err)
				}
				return
			}
			if got := c.Line(); got != "a NO Login failed." {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestPreLoginTemporaryFailure(t *testing.T) {
	c, ch, _ := startPre(t, &fakeAuth{temp: true}, nil)
	c.Line()
	c.Send("a LOGIN alice pass\r\n")
	if l := c.Line(); l != "* BYE Temporary problem, please try again later" {
		t.Fatalf("got %q", l)
	}
	if r := <-ch; r.res != nil {
		t.Fatal("logged in")
	}
}

func TestPreLoginLogoutAndErrors(t *testing.T) {
	c, ch, log := startPre(t, &fakeAuth{}, nil)
	c.Line()
	for i := 0; i < 3; i++ {
		c.Cmd("x FOO")
	}
	got := c.Cmd("y LOGOUT")
	rawimap.MustContain(t, got, "* BYE Courier-IMAP server shutting down", "y OK LOGOUT completed")
	<-ch
	if !strings.Contains(log.String(), "INFO: LOGOUT, ip=[::ffff:127.0.0.1], port=[4000], rcvd=") {
		t.Errorf("log %s", log.String())
	}
	c2, _, _ := startPre(t, &fakeAuth{}, nil)
	c2.Line()
	for i := 0; i < 9; i++ {
		c2.Cmd("x FOO")
	}
	c2.Send("x FOO\r\n")
	c2.Line()
	if l := c2.Line(); !strings.HasPrefix(l, "* BYE [ALERT] Fatal error: TOO MANY CONSECUTIVE") {
		t.Fatalf("got %q", l)
	}
}

func TestPreLoginTimeout(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	p := &imappreauth.PreLogin{Auth: (&fakeAuth{}).auth, Timeout: 200 * time.Millisecond, Getenv: func(string) string { return "" },
		Closer: func() { srv.Close() }}
	done := make(chan error, 1)
	go func() { _, err := p.Run(srv, srv); done <- err }()
	c := rawimap.New(t, cli)
	c.Line()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error after timeout")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pre-auth timeout did not end the session")
	}
}

// TestPreLoginLeavesPipelinedCommands checks that commands sent after
// LOGIN in the same packet are left for the session stage.
func TestPreLoginLeavesPipelinedCommands(t *testing.T) {
	in := strings.NewReader("a LOGIN alice pass\r\nb SELECT INBOX\r\n")
	p := &imappreauth.PreLogin{Auth: (&fakeAuth{}).auth, Getenv: func(string) string { return "" }}
	res, err := p.Run(in, io.Discard)
	if err != nil || res == nil {
		t.Fatalf("login: %v", err)
	}
	rest, _ := io.ReadAll(in)
	if string(rest) != "b SELECT INBOX\r\n" {
		t.Fatalf("left %q", rest)
	}
}

// TestPreLoginID: ID is refused before login as Courier does while it is
// not advertised, and answered (RFC 2971 §3: valid in all states) once
// IMAP_ID_FIELDS advertises it, also for a list at RFC 2971's limits.
func TestPreLoginID(t *testing.T) {
	long := make([]string, 30)
	for i := range long {
		long[i] = `"` + strings.Repeat("f", 30) + `" "` + strings.Repeat("v", 1024) + `"`
	}
	tests := []struct {
		name, fields, cmd string
		want              []string
	}{
		{"off", "", `a ID ("name" "x")`, []string{"a NO Error in IMAP command received by server."}},
		{"on", "name,version", `a ID ("name" "x")`, []string{`* ID ("name" "Courier-IMAP" "version" "5.0.13")`, "a OK ID completed"}},
		{"on NIL", "name", `a ID NIL`, []string{`* ID ("name" "Courier-IMAP")`, "a OK ID completed"}},
		{"on, 30 long pairs", "name", "a ID (" + strings.Join(long, " ") + ")", []string{`* ID ("name" "Courier-IMAP")`, "a OK ID completed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range testEnv {
				env[k] = v
			}
			env["IMAP_ID_FIELDS"] = tc.fields
			c, _, _ := startPre(t, &fakeAuth{}, env)
			if g := c.Line(); strings.Contains(g, " ID ") != (tc.fields != "") {
				t.Errorf("greeting %q", g)
			}
			rawimap.RunSteps(t, c, []rawimap.Step{{tc.name, tc.cmd, tc.want, nil}, {"still open", "b NOOP", []string{"b OK NOOP completed"}, nil}})
		})
	}
}

// Without a Random source (the session binary's case: no crypto linked)
// CRAM cannot make a challenge and says so instead of sending a guessable
// one.
func TestPreLoginCRAMWithoutRandom(t *testing.T) {
	c, _, _ := startPre(t, &fakeAuth{}, testEnv)
	c.Line()
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"cram without random", "a AUTHENTICATE CRAM-MD5", []string{"a NO [UNAVAILABLE] Temporary problem"}, nil},
		{"still serving", "b NOOP", []string{"b OK NOOP completed"}, nil},
	})
}
