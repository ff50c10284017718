// Package clients runs real IMAP clients (mbsync, mutt, python3 imaplib,
// offlineimap) against the full process chain of reference §1:
// couriertcpd -> imaplogin -> authdaemond (userdb) -> imapd, built from
// this tree with CGO_ENABLED=0. The tests are the proof that the clients
// administrators' users run do not notice the switch from Courier-IMAP.
//
// This file is the reusable harness (exported so tests/e2e or other
// integration packages may use it): Build compiles the chain, Start runs
// one isolated server (its own authdaemonrc, userdb, socket, port and
// home) and Server.Dial gives a logged-in go-imap/v2 client for checking
// the server state independently of the client under test.
//
// Invariants:
//   - Everything listens on 127.0.0.1 on a port chosen by the kernel, or
//     on a Unix socket in a temporary directory; nothing outside the
//     test's temporary directories is written.
//   - Every started process is killed and reaped by the test's cleanup.
//   - The account runs as uid/gid 5000 (a virtual mail user, as in
//     reference §0.2) when the tests run as root, as the caller otherwise;
//     its home and Maildir are owned by that id before the server starts.
//   - The server environment is etc/imapd.dist's defaults, so clients see
//     the capabilities and behaviour an installation has out of the box.
package clients

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"gocourier/internal/maildir"
	"gocourier/internal/pwhash"
	"gocourier/internal/testenv"
)

// Account defaults of the test user.
const (
	User = "imapuser"
	Pass = "Cl1ent-Secret"
)

// Programs maps the chain's program names to their built paths.
type Programs struct {
	Dir         string
	Tcpd        string
	Authd       string
	Imaplogin   string
	Imapd       string
	Courierlogr string // optional, "" when it did not build
}

// Build compiles the chain from the module rooted at repo into dir
// (CGO_ENABLED=0, as the Makefile does). dir must be reachable by the
// mail user, because imaplogin execs imapd after dropping privileges.
func Build(repo, dir string) (*Programs, error) {
	p := &Programs{Dir: dir}
	for _, b := range []struct {
		dst *string
		pkg string
		opt bool
	}{
		{&p.Tcpd, "./tcpd", false},
		{&p.Authd, "./authd", false},
		{&p.Imaplogin, "./imapd/imaplogin", false},
		{&p.Imapd, "./imapd", false},
		{&p.Courierlogr, "./cmd/courierlogger", true},
	} {
		out := filepath.Join(dir, filepath.Base(b.pkg))
		switch b.pkg {
		case "./tcpd":
			out = filepath.Join(dir, "couriertcpd")
		case "./authd":
			out = filepath.Join(dir, "authdaemond")
		}
		cmd := exec.Command("go", "build", "-o", out, b.pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			if b.opt {
				continue
			}
			return nil, fmt.Errorf("build %s: %w\n%s", b.pkg, err, msg)
		}
		*b.dst = out
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return p, nil
}

// MailID is the uid and gid the account runs as.
func MailID() int {
	if os.Geteuid() == 0 {
		return 5000
	}
	return os.Geteuid()
}

// Server is one running chain with one account.
type Server struct {
	Addr    string // 127.0.0.1:port
	Port    int
	Home    string
	Maildir string
	Dir     string // scratch: authdaemonrc, userdb, socket, log

	logf string
}

// Options tune Start.
type Options struct {
	// Seed fills the account's Maildir before the server starts (it runs
	// as root on a fresh Maildir; Start chowns the tree afterwards).
	Seed func(maildir string) error
	// Env adds or overrides IMAP_* settings.
	Env []string
}

// DefaultEnv is etc/imapd.dist's settings relevant to a session.
var DefaultEnv = []string{
	`IMAP_CAPABILITY=IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE`,
	"IMAP_KEYWORDS=1",
	"IMAP_ACL=1",
	"IMAP_IDLE_TIMEOUT=60",
	"IMAP_ENHANCEDIDLE=0",
	"IMAP_MAILBOX_SANITY_CHECK=1",
	"IMAP_DISABLETHREADSORT=0",
	"IMAP_CHECK_ALL_FOLDERS=0",
	"IMAP_OBSOLETE_CLIENT=0",
	"IMAP_UMASK=022",
	"IMAP_USELOCKS=1",
	"IMAP_TRASHFOLDERNAME=Trash",
	"IMAP_EMPTYTRASH=Trash:7",
	"IMAP_MOVE_EXPUNGE_TO_TRASH=0",
	"IMAP_LOGIN_FAILURE_DELAY=0.2",
}

// Start runs authdaemond and couriertcpd for a fresh account and waits
// until both answer. The processes die with the test.
func Start(t testing.TB, p *Programs, opt Options) *Server {
	t.Helper()
	s := &Server{}
	var err error
	s.Dir, err = os.MkdirTemp("", "imapclients-srv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.Dir) })
	os.Chmod(s.Dir, 0o755)
	s.Home = filepath.Join(s.Dir, "home")
	s.Maildir = filepath.Join(s.Home, "Maildir")
	if err := os.Mkdir(s.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := maildir.Make(s.Maildir); err != nil {
		t.Fatal(err)
	}
	if opt.Seed != nil {
		if err := opt.Seed(s.Maildir); err != nil {
			t.Fatalf("seed maildir: %v", err)
		}
	}
	if err := ChownTree(s.Home); err != nil {
		t.Fatal(err)
	}

	varDir := filepath.Join(s.Dir, "var")
	os.Mkdir(varDir, 0o755)
	rc := filepath.Join(s.Dir, "authdaemonrc")
	udb := filepath.Join(s.Dir, "userdb")
	sock := filepath.Join(varDir, "socket")
	hash, err := pwhash.Generate(pwhash.SchemeSHA512Crypt, Pass)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, rc, fmt.Sprintf("authmodulelist=\"authuserdb\"\nauthdaemonvar=%s\nDEFAULTOPTIONS=\"\"\nUSERDB=%s\n", varDir, udb), 0o644)
	mustWrite(t, udb, fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|systempw=%s\n", User, MailID(), MailID(), s.Home, hash), 0o600)

	s.logf = filepath.Join(s.Dir, "log")
	env := append([]string{"AUTHDAEMONRC=" + rc, "AUTHDAEMONVAR=" + varDir, "AUTHDAEMONSOCK=" + sock,
		"PATH=/usr/bin:/bin", "HOSTNAME=clients.test"}, DefaultEnv...)
	env = append(env, opt.Env...)

	ad := exec.Command(p.Authd, "-f")
	ad.Env = env
	alog, _ := os.Create(filepath.Join(s.Dir, "authd.log"))
	ad.Stdout, ad.Stderr = alog, alog
	if err := ad.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Process.Kill(); ad.Wait(); alog.Close() })
	waitFor(t, "authdaemond socket", func() bool { _, err := os.Stat(sock); return err == nil })

	s.Port = freePort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.Port)
	td := exec.Command(p.Tcpd, "-stderr="+s.logf, "-nodnslookup", "-noidentlookup", "-address=127.0.0.1",
		"-maxprocs=100", "-maxperip=100", fmt.Sprint(s.Port), p.Imaplogin, p.Imapd, "Maildir")
	td.Env = env
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.Process.Kill(); td.Wait() })
	waitFor(t, "couriertcpd", func() bool {
		c, err := net.Dial("tcp", s.Addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return s
}

// Logs returns the server's stderr log so far (couriertcpd's -stderr file).
func (s *Server) Logs() string {
	b, _ := os.ReadFile(s.logf)
	a, _ := os.ReadFile(filepath.Join(s.Dir, "authd.log"))
	return string(b) + "\n--- authdaemond ---\n" + string(a)
}

// Dial returns a go-imap/v2 client logged in as the test account. It is
// the independent observer of the server state.
func (s *Server) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(User, Pass).Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, s.Logs())
	}
	return c
}

// Run runs a client program with a time limit and returns its combined
// output; err includes the exit status.
func Run(ctx context.Context, limit time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("%s: timed out after %v", name, limit))
	}
	return string(out), err
}

// Require skips the test when prog is not on PATH, or fails it with
// CI=true (CI installs every Debian package the tests need).
func Require(t testing.TB, prog, debPkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		SkipOrFail(t, "%s missing (Debian package %s)", prog, debPkg)
	}
	return p
}

// SkipOrFail skips, or fails when CI=true (testenv.SkipOrFail).
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.SkipOrFail(t, format, args...)
}

// ChownTree gives dir to the mail user (a no-op unless root).
func ChownTree(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, MailID(), MailID())
		}
		return err
	})
}

// MaildirFiles lists the message files of a maildir folder (cur and new).
func MaildirFiles(folder string) ([]string, error) {
	var out []string
	for _, sub := range []string{"cur", "new"} {
		es, err := os.ReadDir(filepath.Join(folder, sub))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", folder, err)
		}
		for _, e := range es {
			if !strings.HasPrefix(e.Name(), ".") {
				out = append(out, filepath.Join(sub, e.Name()))
			}
		}
	}
	return out, nil
}

func mustWrite(t testing.TB, name, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// freePort: see testenv.FreePort (why not a port from Listen(":0")).
func freePort(t testing.TB) int { return testenv.FreePort(t) }

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
