package authclient

import (
	"bufio"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/authproto"
)

// fakeDaemon listens on a Unix socket and answers every connection with
// reply(request), then closes, as authdaemond does (one request per
// connection). It returns the socket path and a channel of the requests
// it read.
func fakeDaemon(t *testing.T, reply func(*authproto.Request) string) (string, <-chan *authproto.Request) {
	t.Helper()
	sock, l := listenUnix(t)
	reqs := make(chan *authproto.Request, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			req, err := authproto.ReadRequest(bufio.NewReader(c))
			if err == nil {
				reqs <- req
				c.Write([]byte(reply(req)))
			}
			c.Close()
		}
	}()
	return sock, reqs
}

// listenUnix listens on a new Unix socket, closed when the test ends.
func listenUnix(t *testing.T) (string, net.Listener) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return sock, l
}

func TestDo(t *testing.T) {
	sock, reqs := fakeDaemon(t, func(r *authproto.Request) string {
		name := r.User // PRE
		if user, _, ok := r.LoginData(); ok {
			name = user // AUTH login
		}
		switch name {
		case "alice":
			return "UID=5000\nGID=5001\nHOME=/srv/mail/alice\nADDRESS=alice\nOPTIONS=disableimap=0\n.\n"
		case "sysuser":
			return "USERNAME=root\nGID=0\nHOME=/root\n.\n"
		case "nosuchuser":
			return "USERNAME=gocourier-no-such-user\nGID=0\nHOME=/\n.\n"
		}
		return "FAIL\n"
	})
	c := New(sock)

	req := authproto.NewLogin("imap", "alice", "secret")
	req.Meta = []authproto.Meta{{Name: "TCPREMOTEIP", Value: "192.0.2.1"}}
	u, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if u.UID != 5000 || u.GID != 5001 || u.Home != "/srv/mail/alice" || u.Address != "alice" {
		t.Fatalf("%+v", u)
	}
	got := <-reqs
	if got.Cmd != authproto.CmdAuth || got.MetaValue("TCPREMOTEIP") != "192.0.2.1" {
		t.Fatalf("daemon read %+v", got)
	}
	if user, pass, ok := got.LoginData(); !ok || user != "alice" || pass != "secret" {
		t.Fatalf("login data %q %q %v", user, pass, ok)
	}

	if _, err := c.Do(authproto.NewPre("imap", "bob")); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("FAIL reply: %v", err)
	}
	<-reqs

	// USERNAME without UID is resolved through the passwd database.
	u, err = c.Do(authproto.NewPre("imap", "sysuser"))
	if err != nil || u.UID != 0 {
		t.Fatalf("USERNAME=root: %+v %v", u, err)
	}
	<-reqs
	_, err = c.Do(authproto.NewPre("imap", "nosuchuser"))
	if !errors.Is(err, authproto.ErrTemporary) || errors.Is(err, authproto.ErrFail) {
		t.Fatalf("unknown USERNAME: %v", err)
	}
	<-reqs
}

// A request that libcourierauth would refuse to send is a temporary
// failure, and nothing reaches the daemon.
func TestDoInvalidRequest(t *testing.T) {
	sock, reqs := fakeDaemon(t, func(*authproto.Request) string { return "FAIL\n" })
	_, err := New(sock).Do(authproto.NewPre("imap", strings.Repeat("x", authproto.MaxLine)))
	if !errors.Is(err, authproto.ErrTemporary) {
		t.Fatalf("oversize request: %v", err)
	}
	select {
	case r := <-reqs:
		t.Fatalf("daemon got %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
}

// The daemon dying mid-request gives the client a temporary error.
func TestDaemonDiesMidRequest(t *testing.T) {
	sock, l := listenUnix(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 100)
			c.Read(buf)
			c.Write([]byte("UID=1\nGID=1\n")) // partial reply, then death
			c.Close()
		}
	}()
	_, err := New(sock).Do(authproto.NewLogin("imap", "a", "b"))
	if !errors.Is(err, authproto.ErrTemporary) {
		t.Fatalf("want temporary, got %v", err)
	}
	// No daemon at all.
	_, err = New(sock + "-missing").Do(authproto.NewLogin("imap", "a", "b"))
	if !errors.Is(err, authproto.ErrTemporary) {
		t.Fatalf("no socket: %v", err)
	}
}

func TestClientReadTimeout(t *testing.T) {
	sock, l := listenUnix(t)
	go func() {
		c, err := l.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	c := New(sock)
	c.Timeouts.Read = 300 * time.Millisecond
	start := time.Now()
	_, err := c.Do(authproto.NewPre("imap", "a"))
	if !errors.Is(err, authproto.ErrTemporary) || time.Since(start) > time.Second {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
}

func TestPasswd(t *testing.T) {
	sock, reqs := fakeDaemon(t, func(r *authproto.Request) string {
		switch r.User {
		case "alice":
			return "OK\n"
		case "bob":
			return "FAIL\n"
		}
		return "WHAT\n"
	})
	c := New(sock)
	if err := c.Passwd("imap", "alice", "old", "new"); err != nil {
		t.Fatal(err)
	}
	if r := <-reqs; r.Cmd != authproto.CmdPasswd || r.OldPass != "old" || r.NewPass != "new" {
		t.Fatalf("daemon read %+v", r)
	}
	if err := c.Passwd("imap", "bob", "old", "new"); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("FAIL: %v", err)
	}
	<-reqs
	if err := c.Passwd("imap", "carol", "old", "new"); !errors.Is(err, authproto.ErrTemporary) {
		t.Fatalf("odd reply: %v", err)
	}
	<-reqs
	// A tab cannot be sent in PASSWD: FAIL without asking, as Courier.
	if err := c.Passwd("imap", "alice", "o\tld", "new"); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("tab in password: %v", err)
	}
}

func TestEnumerate(t *testing.T) {
	sock, _ := fakeDaemon(t, func(*authproto.Request) string {
		return string(authproto.EncodeEnumHeader("authuserdb")) +
			string(authproto.EncodeEnumEntry(authproto.EnumEntry{Name: "alice", UID: 5000, GID: 5000, Home: "/h", Maildir: "/h/Maildir"})) +
			".\n"
	})
	var names []string
	err := New(sock).Enumerate(func(module string, e authproto.EnumEntry) {
		names = append(names, module+":"+e.Name)
	})
	if err != nil || len(names) != 1 || names[0] != "authuserdb:alice" {
		t.Fatalf("%v %v", names, err)
	}
}

func TestReplyComplete(t *testing.T) {
	for in, want := range map[string]bool{
		"FAIL\n": true, ".\n": true, "UID=1\nGID=1\n.\n": true,
		"": false, "FAIL": false, "UID=1\n": false, "UID=1\n.": false,
	} {
		if got := replyComplete([]byte(in)); got != want {
			t.Errorf("replyComplete(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDefaultTimeouts(t *testing.T) {
	t.Setenv("TIMEOUT_SOCK", "3")
	t.Setenv("TIMEOUT_WRITE", "0")
	t.Setenv("TIMEOUT_READ", "x")
	got := DefaultTimeouts()
	want := Timeouts{Connect: 3 * time.Second, Write: 10 * time.Second, Read: 30 * time.Second}
	if got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
}
