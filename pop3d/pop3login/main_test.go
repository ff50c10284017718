package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/maildir"
)

var binDir string

// TestMain builds pop3login and pop3d for the chain tests.
func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "pop3logintest")
	if err != nil {
		panic(err)
	}
	for _, p := range [][2]string{{"pop3login", "."}, {"pop3d", ".."}} {
		b := exec.Command("go", "build", "-o", filepath.Join(binDir, p[0]), p[1])
		b.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := b.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", p[0], err, out)
			os.Exit(1)
		}
	}
	os.Chmod(binDir, 0o755)
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// fakeAuthd answers authdaemond requests on a Unix socket (reference §10):
// carol/pass is good (home = home, this process's uid/gid), "tempfail"
// gets a dropped connection (a temporary failure), the rest FAIL.
func fakeAuthd(t *testing.T, home, options string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				req, err := authproto.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				u, p, _ := req.LoginData()
				switch {
				case u == "tempfail":
					return
				case u == "carol" && p == "pass" && req.Service == "pop3":
					c.Write(authproto.EncodeReply(&authproto.UserInfo{UID: mailUID(), GID: mailUID(),
						Home: home, Address: "carol", Options: options}))
				default:
					io.WriteString(c, "FAIL\n")
				}
			}(c)
		}
	}()
	return sock
}

// chain listens on 127.0.0.1:0 and runs pop3login -> pop3d per
// connection, standing in for couriertcpd. It returns the address and a
// function giving the collected stderr log.
func chain(t *testing.T, home, options string, extraEnv ...string) (string, func() string) {
	t.Helper()
	chownTree(t, home)
	sock := fakeAuthd(t, home, options)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var logs strings.Builder
	lw := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	go func() {
		for i := 0; i < 200; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ra := c.RemoteAddr().(*net.TCPAddr)
			f, _ := c.(*net.TCPConn).File()
			c.Close()
			cmd := exec.Command(filepath.Join(binDir, "pop3login"), filepath.Join(binDir, "pop3d"), "Maildir")
			cmd.Env = append([]string{"AUTHDAEMONSOCK=" + sock, "POP3_LOGIN_FAILURE_DELAY=0.2",
				"TCPREMOTEIP=::ffff:" + ra.IP.String(), fmt.Sprintf("TCPREMOTEPORT=%d", ra.Port)}, extraEnv...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, lw
			if err := cmd.Start(); err == nil {
				wg.Add(1)
				go func() { cmd.Wait(); wg.Done() }()
			}
			f.Close()
		}
	}()
	return ln.Addr().String(), func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// mailUID is the account the sessions run as: ourselves, or nobody when
// the tests run as root (privdrop refuses to run a session as root).
func mailUID() int {
	if os.Getuid() == 0 {
		return 65534
	}
	return os.Getuid()
}

// newHome makes a home with an empty Maildir, reachable and owned by
// mailUID.
func newHome(t *testing.T) (string, string) {
	home, err := os.MkdirTemp("", "pop3home")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	os.Chmod(home, 0o755)
	md := filepath.Join(home, "Maildir")
	if err := maildir.Make(md); err != nil {
		t.Fatal(err)
	}
	return home, md
}

// chownTree gives the home to mailUID after the test wrote its messages.
func chownTree(t *testing.T, dir string) {
	if os.Getuid() != 0 {
		return
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, mailUID(), mailUID())
		}
		return err
	})
}

func writeMessages(t *testing.T, md string, n int) {
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("From: a@example.com\nSubject: message %d\nMessage-ID: <%d@example.com>\n\nbody %d\n.dot\n", i, i, i)
		name := fmt.Sprintf("%d.M%dP1V1I%d.test,S=%d", 1700000000+i, i, i, len(text))
		if err := os.WriteFile(filepath.Join(md, "new", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type conn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &conn{t, c, bufio.NewReader(c)}
}

func (c *conn) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *conn) send(s string) string {
	c.t.Helper()
	io.WriteString(c.c, s+"\r\n")
	return c.line()
}

func TestChainLogin(t *testing.T) {
	home, md := newHome(t)
	writeMessages(t, md, 2)
	addr, logs := chain(t, home, "")
	c := dial(t, addr)
	steps := []struct{ send, want string }{
		{"", "+OK Hello there."},
		{"STAT", "-ERR Invalid command."},
		{"USER carol", "+OK Password required."},
		{"PASS wrong", "-ERR [AUTH] Login failed."},
		{"USER tempfail", "+OK Password required."},
		{"PASS x", "-ERR [SYS/TEMP] Temporary problem, please try again later"},
		{"USER carol", "+OK Password required."},
		{"PASS pass", "+OK logged in."},
		{"STAT", "+OK 2 "},
		{"QUIT", "+OK Bye-bye."},
	}
	for _, s := range steps {
		var got string
		if s.send == "" {
			got = c.line()
		} else {
			got = c.send(s.send)
		}
		if !strings.HasPrefix(got, s.want) {
			t.Errorf("%q -> %q, want %q", s.send, got, s.want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	l := logs()
	for _, want := range []string{"DEBUG: Connection, ip=[::ffff:127.0.0.1]", "INFO: LOGIN FAILED, user=carol, ip=[::ffff:127.0.0.1]",
		"INFO: LOGIN, user=carol", "INFO: LOGOUT, user=carol"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}

// TestChainPipelinedAfterPass checks that commands sent together with PASS
// reach pop3d (pop3login must not swallow them).
func TestChainPipelinedAfterPass(t *testing.T) {
	home, md := newHome(t)
	writeMessages(t, md, 1)
	addr, _ := chain(t, home, "")
	c := dial(t, addr)
	c.line()
	io.WriteString(c.c, "USER carol\r\nPASS pass\r\nSTAT\r\nQUIT\r\n")
	for _, want := range []string{"+OK Password required.", "+OK logged in.", "+OK 1 ", "+OK Bye-bye."} {
		if got := c.line(); !strings.HasPrefix(got, want) {
			t.Errorf("got %q want %q", got, want)
		}
	}
}

func TestChainAuthPlainAndDisabled(t *testing.T) {
	home, _ := newHome(t)
	addr, _ := chain(t, home, "disablepop3=1", "POP3AUTH=PLAIN LOGIN")
	c := dial(t, addr)
	c.line()
	if got := c.send("CAPA"); !strings.HasPrefix(got, "+OK") {
		t.Fatal(got)
	}
	var capa []string
	for l := c.line(); l != "."; l = c.line() {
		capa = append(capa, l)
	}
	if !strings.Contains(strings.Join(capa, "|"), "SASL PLAIN LOGIN") {
		t.Errorf("CAPA %q", capa)
	}
	if got := c.send("AUTH PLAIN AGNhcm9sAHBhc3M="); got != "-ERR [AUTH] POP3 access disabled for this account." {
		t.Errorf("disabled account: %q", got)
	}
}

func TestFetchmail(t *testing.T) {
	if _, err := exec.LookPath("fetchmail"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("fetchmail missing (Debian package fetchmail)")
		}
		t.Skip("fetchmail missing (Debian package fetchmail)")
	}
	home, md := newHome(t)
	writeMessages(t, md, 1000)
	addr, logs := chain(t, home, "")
	host, port, _ := net.SplitHostPort(addr)
	fh := t.TempDir()
	count := filepath.Join(fh, "count")
	run := func(keep string) int {
		rc := filepath.Join(fh, "rc")
		os.WriteFile(rc, []byte(fmt.Sprintf(`set no bouncemail
poll %s with proto POP3 port %s and timeout 60 and uidl:
  user "carol" there with password "pass" is "root" here
  options %s no rewrite sslproto '' mda "/bin/sh -c 'cat >/dev/null; echo x >> %s'"
`, host, port, keep, count)), 0o600)
		os.Remove(count)
		cmd := exec.Command("fetchmail", "--nosyslog", "-N", "-f", rc, "--idfile", filepath.Join(fh, "ids"), "--pidfile", filepath.Join(fh, "pid"))
		cmd.Env = []string{"HOME=" + fh, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		// fetchmail exits 1 when there was no mail.
		if err != nil && cmd.ProcessState.ExitCode() != 1 {
			t.Fatalf("fetchmail: %v\n%s\n%s", err, out, logs())
		}
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "x")
	}
	if n := run("keep"); n != 1000 {
		t.Fatalf("first run fetched %d, want 1000", n)
	}
	if n := run("keep"); n != 0 {
		t.Errorf("second keep run fetched %d, want 0", n)
	}
	if n := run("no keep fetchall"); n != 1000 {
		t.Errorf("delete run fetched %d, want 1000", n)
	}
	left, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(left) != 0 {
		t.Errorf("%d messages left after delete run", len(left))
	}
}
