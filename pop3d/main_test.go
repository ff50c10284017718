package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/maildir"
)

var pop3dBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pop3dtest")
	if err != nil {
		panic(err)
	}
	pop3dBin = filepath.Join(dir, "pop3d")
	b := exec.Command("go", "build", "-o", pop3dBin, ".")
	b.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := b.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build pop3d: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// makeHome creates home/Maildir with the given messages delivered the way
// a delivery agent does.
func makeHome(t testing.TB, msgs ...string) (home, md string) {
	t.Helper()
	home = t.TempDir()
	md = filepath.Join(home, "Maildir")
	if err := maildir.Make(md); err != nil {
		t.Fatal(err)
	}
	// Each delivery's name starts with a later second: a name's
	// microseconds are not zero-padded (as in Courier's names), so two
	// deliveries in one second may sort out of order (M99.. after M100..).
	clock := time.Now().Add(-time.Hour).Truncate(time.Second)
	m, err := maildir.Open(md, maildir.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range msgs {
		if _, err := m.Deliver(md, strings.NewReader(s), false); err != nil {
			t.Fatal(err)
		}
	}
	return home, md
}

type client struct {
	t    testing.TB
	c    net.Conn
	r    *bufio.Reader
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

// startPop3d runs pop3d as pop3login would: in home, with the client
// socket (one end of a socketpair) on fds 0 and 1.
func startPop3d(t testing.TB, home string, env ...string) *client {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "client"), os.NewFile(uintptr(fds[1]), "server")
	cmd := exec.Command(pop3dBin, "Maildir")
	cmd.Dir = home
	cmd.Env = append([]string{"AUTHENTICATED=carol", "TCPREMOTEIP=::ffff:127.0.0.1", "TCPREMOTEPORT=4242"}, env...)
	cmd.Stdin, cmd.Stdout = theirs, theirs
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{t: t, c: c, r: bufio.NewReader(c), cmd: cmd, logs: logs}
	t.Cleanup(func() { c.Close(); cmd.Process.Kill(); cmd.Wait() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (%q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) send(s string) string {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	return c.line()
}

func (c *client) multi() []string {
	c.t.Helper()
	var out []string
	for {
		l := c.line()
		if l == "." {
			return out
		}
		out = append(out, l)
	}
}

// wait waits for pop3d to exit and returns its log.
func (c *client) wait() string {
	c.t.Helper()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		c.t.Fatal("pop3d did not exit")
	}
	return c.logs.String()
}

const m1 = "From: a@example.com\nSubject: one\n\nhello\n.leading dot\n"
const m2 = "From: b@example.com\nSubject: two\n\nsecond\n"

func TestSession(t *testing.T) {
	home, md := makeHome(t, m1, m2)
	c := startPop3d(t, home)
	if g := c.line(); g != "+OK logged in." {
		t.Fatalf("greeting %q", g)
	}
	s1, s2 := len(m1)+strings.Count(m1, "\n"), len(m2)+strings.Count(m2, "\n")
	if got, want := c.send("STAT"), fmt.Sprintf("+OK 2 %d", s1+s2); got != want {
		t.Errorf("STAT %q want %q", got, want)
	}
	c.send("UIDL")
	uidls := c.multi()
	re := regexp.MustCompile(`^\d UID\d+-\d+$`)
	if len(uidls) != 2 || !re.MatchString(uidls[0]) || !strings.HasPrefix(uidls[0], "1 UID1-") || !strings.HasPrefix(uidls[1], "2 UID2-") {
		t.Errorf("UIDL %q", uidls)
	}
	if got := c.send("RETR 1"); got != fmt.Sprintf("+OK %d octets follow.", s1) {
		t.Errorf("RETR %q", got)
	}
	body := c.multi()
	if strings.Join(body, "\n") != "From: a@example.com\nSubject: one\n\nhello\n..leading dot" {
		t.Errorf("body %q", body)
	}
	if got := c.send("DELE 1"); got != "+OK Deleted." {
		t.Errorf("DELE %q", got)
	}
	if got := c.send("QUIT"); got != "+OK Bye-bye." {
		t.Errorf("QUIT %q", got)
	}
	logs := c.wait()
	for _, want := range []string{"INFO: LOGIN, user=carol, ip=[::ffff:127.0.0.1], port=[4242]\n",
		"INFO: LOGOUT, user=carol, ip=[::ffff:127.0.0.1], port=[4242], top=0, retr="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	left, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(left) != 1 || !strings.Contains(left[0].Name(), ":2,") {
		t.Errorf("cur after QUIT: %v", left)
	}
	// The second session sees one message with the same UIDL as before.
	c2 := startPop3d(t, home)
	c2.line()
	c2.send("UIDL")
	if got := c2.multi(); len(got) != 1 || got[0] != "1 "+strings.SplitN(uidls[1], " ", 2)[1] {
		t.Errorf("UIDL after delete %q (before %q)", got, uidls)
	}
	c2.send("QUIT")
}

func TestNoQuitNoDelete(t *testing.T) {
	home, md := makeHome(t, m1, m2)
	c := startPop3d(t, home)
	c.line()
	c.send("DELE 1")
	c.send("DELE 2")
	c.c.Close()
	logs := c.wait()
	if !strings.Contains(logs, "INFO: DISCONNECTED, user=carol") {
		t.Errorf("log %s", logs)
	}
	left, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(left) != 2 {
		t.Errorf("%d messages left, want 2", len(left))
	}
}

func TestInUse(t *testing.T) {
	home, _ := makeHome(t, m1)
	a := startPop3d(t, home)
	if g := a.line(); g != "+OK logged in." {
		t.Fatal(g)
	}
	b := startPop3d(t, home)
	if g := b.line(); !strings.HasPrefix(g, "-ERR [IN-USE] ") {
		t.Errorf("second session: %q", g)
	}
	b.wait()
	a.send("QUIT")
	a.wait()
	c := startPop3d(t, home)
	if g := c.line(); g != "+OK logged in." {
		t.Errorf("after first quit: %q", g)
	}
}

func TestRetrRemovedMeanwhile(t *testing.T) {
	home, md := makeHome(t, m1, m2)
	c := startPop3d(t, home)
	c.line()
	files, _ := filepath.Glob(filepath.Join(md, "cur", "*"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	os.Remove(files[0])
	if got := c.send("RETR 1"); !strings.HasPrefix(got, "-ERR ") {
		t.Errorf("RETR removed: %q", got)
	}
	if got := c.send("RETR 2"); !strings.HasPrefix(got, "+OK ") {
		t.Errorf("RETR 2: %q", got)
	}
	c.multi()
	if seen, _ := filepath.Glob(filepath.Join(md, "cur", "*:2,S")); len(seen) != 1 {
		t.Errorf("RETR did not set the S flag: %v", seen)
	}
	c.send("DELE 1")
	if got := c.send("QUIT"); got != "+OK Bye-bye." {
		t.Errorf("QUIT after deleting a vanished message: %q", got)
	}
}

func TestStartupChecks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(home string)
		env   []string
		want  string
		log   string
	}{
		{"missing maildir", func(h string) { os.RemoveAll(filepath.Join(h, "Maildir")) }, nil,
			"-ERR [SYS/PERM] chdir Maildir failed", "chdir Maildir: No such file or directory"},
		{"no cur", func(h string) { os.RemoveAll(filepath.Join(h, "Maildir", "cur")) }, nil,
			"-ERR [SYS/PERM] Maildir invalid (no 'cur' directory)", ""},
		{"sticky home", func(h string) { os.Chmod(h, 0o755|os.ModeSticky) }, nil,
			"-ERR [SYS/TEMP] Your account is temporarily unavailable (+t bit set on home directory).", "INFO: LOCKED, user=carol"},
		{"disablepop3", nil, []string{"OPTIONS=disableimap=0,disablepop3=1"},
			"-ERR [AUTH] POP3 access disabled for this account.", ""},
		{"disableinsecurepop3", nil, []string{"OPTIONS=disableinsecurepop3=1"},
			"-ERR [AUTH] POP3 access disabled via insecure connection.", ""},
		{"disableinsecurepop3 on TLS", nil, []string{"OPTIONS=disableinsecurepop3=1", "POP3_TLS=1"}, "+OK logged in.", ""},
		{"no AUTHENTICATED", nil, []string{"AUTHENTICATED="}, "-ERR AUTHENTICATED environment variable not set.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home, _ := makeHome(t, m1)
			if tc.setup != nil {
				tc.setup(home)
			}
			c := startPop3d(t, home, tc.env...)
			if got := c.line(); got != tc.want {
				t.Errorf("got %q want %q", got, tc.want)
			}
			if tc.want != "+OK logged in." {
				logs := c.wait()
				if !strings.Contains(logs, tc.log) {
					t.Errorf("log %q lacks %q", logs, tc.log)
				}
			}
		})
	}
}

func TestLoginexec(t *testing.T) {
	home, md := makeHome(t, m1)
	os.WriteFile(filepath.Join(md, "loginexec"), []byte("#!/bin/sh\ntouch ran\nexit 0\n"), 0o755)
	c := startPop3d(t, home)
	if g := c.line(); g != "+OK logged in." {
		t.Fatal(g)
	}
	c.send("QUIT")
	c.wait()
	if _, err := os.Stat(filepath.Join(md, "ran")); err != nil {
		t.Error("loginexec did not run")
	}
	if _, err := os.Stat(filepath.Join(md, "loginexec")); err == nil {
		t.Error("loginexec not removed after exit 0")
	}
}

// TestIdleTimeoutOnSocket: with the client socket on fd 0 the idle
// timeout is a read deadline on stdioconn.Socket's pollable file.
func TestIdleTimeoutOnSocket(t *testing.T) {
	home, _ := makeHome(t, m1)
	c := startPop3d(t, home, "POP3_IDLE_TIMEOUT=0.3")
	if g := c.line(); g != "+OK logged in." {
		t.Fatalf("greeting %q", g)
	}
	if l := c.line(); l != "-ERR Disconnected for inactivity." {
		t.Fatalf("after the idle timeout: %q", l)
	}
	if log := c.wait(); !strings.Contains(log, "INFO: TIMEOUT, user=carol") {
		t.Errorf("log: %s", log)
	}
}
