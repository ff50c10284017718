package login

import (
	"errors"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/authd"
	"gocourier/internal/authproto"
)

func TestApplyDefDomain(t *testing.T) {
	tests := []struct{ defdomain, domainsep, user, want string }{
		{"", "", "alice", "alice"},
		{"@example.com", "", "alice", "alice@example.com"},
		{"@example.com", "", "alice@other.org", "alice@other.org"},
		{"@example.com", "%@", "alice%x", "alice%x"},
		{"@example.com", "%", "alice@x", "alice@x@example.com"},
		{".example.com", "", "alice", "alice.example.com"},
	}
	for _, tc := range tests {
		t.Setenv("DEFDOMAIN", tc.defdomain)
		t.Setenv("DOMAINSEP", tc.domainsep)
		if got := ApplyDefDomain(tc.user); got != tc.want {
			t.Errorf("DEFDOMAIN=%q DOMAINSEP=%q %q -> %q, want %q", tc.defdomain, tc.domainsep, tc.user, got, tc.want)
		}
	}
}

func TestServiceName(t *testing.T) {
	t.Setenv("TCPLOCALPORT", "993")
	t.Setenv("AUTHSERVICE993", "imaps")
	if got := ServiceName("imap"); got != "imaps" {
		t.Errorf("got %q", got)
	}
	t.Setenv("TCPLOCALPORT", "143")
	if got := ServiceName("imap"); got != "imap" {
		t.Errorf("got %q", got)
	}
	os.Unsetenv("TCPLOCALPORT")
	if got := ServiceName("pop3"); got != "pop3" {
		t.Errorf("got %q", got)
	}
}

func TestSessionEnv(t *testing.T) {
	u := &authproto.UserInfo{Address: "alice", Options: "disableimap=1", Quota: "1000S"}
	base := []string{"PATH=/bin", "AUTHENTICATED=evil", "MAILDIRQUOTA=9S", "TCPREMOTEIP=::ffff:1.2.3.4"}
	env := SessionEnv(u, base, []string{"IMAPLOGINTAG=a1"})
	want := []string{"PATH=/bin", "TCPREMOTEIP=::ffff:1.2.3.4", "AUTHENTICATED=alice", "OPTIONS=disableimap=1", "MAILDIRQUOTA=1000S", "IMAPLOGINTAG=a1"}
	if strings.Join(env, "\n") != strings.Join(want, "\n") {
		t.Errorf("env\n%q\nwant\n%q", env, want)
	}
	u.Quota = ""
	env = SessionEnv(u, base, nil)
	for _, kv := range env {
		if strings.HasPrefix(kv, "MAILDIRQUOTA=") {
			t.Errorf("stale quota inherited: %v", env)
		}
	}
	if SessionMaildir(u, "Maildir") != "Maildir" {
		t.Error("default maildir")
	}
	u.Maildir = "/srv/m"
	if SessionMaildir(u, "Maildir") != "/srv/m" {
		t.Error("account maildir")
	}
}

func startAuthd(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	udb := filepath.Join(dir, "userdb")
	os.WriteFile(udb, []byte("alice\tuid=5000|gid=5000|home=/srv/mail/alice|systempw={SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"+
		"alice@example.com\tuid=5001|gid=5001|home=/srv/mail/ex|systempw={SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"), 0o600)
	sock := filepath.Join(dir, "run", "socket")
	l, err := authd.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	logger := log.New(os.Stderr, "", 0)
	srv := &authd.Server{Logger: logger}
	srv.Reconfigure(authd.BuildModules(authd.DefaultConfig(dir, udb), nil), "", 0)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(0); l.Close() })
	t.Setenv("AUTHDAEMONSOCK", sock)
	return sock
}

func TestLoginAgainstAuthd(t *testing.T) {
	startAuthd(t)
	t.Setenv("TCPREMOTEIP", "::ffff:127.0.0.1")
	t.Setenv("DEFDOMAIN", "")
	u, err := Login("imap", "alice", "secret")
	if err != nil || u.UID != 5000 || u.Address != "alice" || u.Passwd2 != "secret" {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := Login("imap", "alice", "wrong"); !errors.Is(err, ErrLoginFailed) || IsTemporary(err) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Login("imap", "alice\nx", "secret"); !errors.Is(err, ErrLoginFailed) {
		t.Fatalf("newline in user: %v", err)
	}
	// A 9000-character user name is a temporary error (transcript 11-C).
	if _, err := Login("imap", strings.Repeat("a", 9000), "x"); !IsTemporary(err) {
		t.Fatalf("huge user: %v", err)
	}
	t.Setenv("DEFDOMAIN", "@example.com")
	if u, err := Login("imap", "alice", "secret"); err != nil || u.UID != 5001 {
		t.Fatalf("DEFDOMAIN: %+v %v", u, err)
	}
	if u, err := Pre("imap", "alice"); err != nil || u.Address != "alice@example.com" {
		t.Fatalf("Pre: %+v %v", u, err)
	}
	if _, err := CRAM("imap", "CRAM-MD5", "PDEyMzRAdm0+", "YWxpY2UgMDA="); !errors.Is(err, ErrLoginFailed) {
		t.Fatalf("CRAM without secret: %v", err)
	}
	if _, err := CRAM("imap", "PLAIN", "x", "y"); !errors.Is(err, ErrLoginFailed) {
		t.Fatalf("CRAM with bad mech: %v", err)
	}
}

func TestLoginNoDaemon(t *testing.T) {
	t.Setenv("AUTHDAEMONSOCK", filepath.Join(t.TempDir(), "none"))
	start := time.Now()
	_, err := Login("imap", "alice", "secret")
	if !IsTemporary(err) || errors.Is(err, ErrLoginFailed) {
		t.Fatalf("want temporary, got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("missing socket should fail fast")
	}
}

// ExecSession refuses before exec when the drop is impossible, and never
// execs as root with uid 0.
func TestExecSessionRefuses(t *testing.T) {
	u := &authproto.UserInfo{UID: 0, GID: 0, Home: "/", Address: "root"}
	if os.Geteuid() != 0 {
		u.UID, u.GID = os.Geteuid()+1, os.Getegid()
	}
	if err := ExecSession(u, "/bin/true", "Maildir", nil); err == nil {
		t.Fatal("ExecSession returned nil")
	}
	if err := ExecSession(&authproto.UserInfo{UID: -1, GID: -1}, "/bin/true", "Maildir", nil); err == nil {
		t.Fatal("ExecSession without uid returned nil")
	}
}
