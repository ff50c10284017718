// Package e2e tests the installed suite end to end, as an administrator
// would run it: `make install` into a scratch PREFIX, config files made by
// `make install-configure` and edited, authdaemond started with
// `authdaemond start`, the servers with `imapd.rc start` / `pop3d.rc start`,
// clients (python3 imaplib/poplib and raw sockets) on loopback ports, then
// `imapd.rc stop`. It is the proof of the install/integration work: the
// process chain of reference §1 (couriertcpd -> login stage -> session
// running as the account, authdaemond separate behind its Unix socket),
// couriertcpd's limits (§2) and sysconftool's upgrade rules (§12.2).
//
// Invariants of the harness: every test runs against the one installation
// made in TestMain, sequentially (the configuration directory is compiled
// into the binaries); each test writes its own configuration, and its
// cleanup stops every process started from the installation and checks
// that none is left. The tests need root (they switch to uid 5000); they
// skip otherwise, except with CI=true, where they fail.
package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/testenv"
)

// The test account: numeric ids with no /etc/passwd entry, as for virtual
// mail users (reference §0.2 used uid/gid 5000).
const (
	acctName = "e2euser"
	acctPass = "e2e-Secret"
	acctUID  = 5000
	acctGID  = 5000
)

var (
	keep = flag.Bool("e2e.keep", false, "keep the scratch installation")

	repoRoot  string
	scratch   string // 0755 directory holding inst/, build/, home/
	inst      string // PREFIX
	setupErr  error
	installed bool
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if os.Geteuid() != 0 && !testenv.CI() {
			return m.Run() // every test skips
		}
		wd, err := os.Getwd()
		if err != nil {
			setupErr = err
			return m.Run()
		}
		repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
		scratch, err = os.MkdirTemp("", "gocourier-e2e-")
		if err != nil {
			setupErr = err
			return m.Run()
		}
		if !*keep {
			defer os.RemoveAll(scratch)
		}
		// uid 5000 must be able to reach its home directory below here.
		os.Chmod(scratch, 0755)
		inst = filepath.Join(scratch, "inst")
		cmd := exec.Command("make", "--no-print-directory", "-C", repoRoot, "install",
			"PREFIX="+inst, "BUILDDIR="+filepath.Join(scratch, "build"), "KEEP_GOING=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			setupErr = fmt.Errorf("make install: %v\n%s", err, out)
			return m.Run()
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "WARNING") {
				fmt.Fprintln(os.Stderr, "e2e:", l)
			}
		}
		installed = true
		return m.Run()
	}()
	os.Exit(code)
}

// needInstall skips unless root (or CI) and the installation succeeded,
// then checks that the named installed programs exist.
func needInstall(t testing.TB, progs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "end-to-end tests need root (they run servers as uid %d)", acctUID)
	}
	if setupErr != nil {
		t.Fatalf("installation failed: %v", setupErr)
	}
	if !installed {
		t.Fatal("not installed")
	}
	for _, p := range progs {
		if _, err := os.Stat(filepath.Join(inst, p)); err != nil {
			testenv.SkipOrFail(t, "%s is not built yet: %v", p, err)
		}
	}
}

func needCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			testenv.SkipOrFail(t, "%s not installed (Debian package needed)", n)
		}
	}
}

// run runs a command and returns its combined output, failing the test on
// a non-zero exit.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, buf.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s %s: timed out\n%s", name, strings.Join(args, " "), buf.String())
	}
	return buf.String()
}

// freePort: see testenv.FreePort (why not a port from Listen(":0")).
func freePort(t testing.TB) int { return testenv.FreePort(t) }

// setValue changes NAME's value line in a config file, or appends it.
func setValue(t testing.TB, file, name, value string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	found := false
	for i, l := range lines {
		if strings.HasPrefix(l, name+"=") {
			lines[i] = name + "=" + value
			found = true
		}
	}
	out := strings.Join(lines, "\n")
	if !found {
		out = strings.TrimSuffix(out, "\n") + "\n" + name + "=" + value + "\n"
	}
	if err := os.WriteFile(file, []byte(out), 0644); err != nil {
		t.Fatal(err)
	}
}

// getValue returns the value line of NAME in a config file.
func getValue(t testing.TB, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			return v
		}
	}
	return "<unset>"
}

// suite is one running configuration.
type suite struct {
	imapPort, pop3Port int
	home, maildir      string
}

type options struct {
	imapMaxPerIP int
	imapAccess   string // contents of etc/imapaccess, "" for none
	extraIMAP    map[string]string
	pop3         bool // also start pop3d.rc (needs pop3login and pop3d)
	uid, gid     int  // the account's ids; 0 means acctUID/acctGID
}

// resetConfig recreates the config files from their .dist copies.
func resetConfig(t testing.TB) {
	t.Helper()
	for _, f := range []string{"imapd", "imapd-ssl", "pop3d", "pop3d-ssl", "authdaemonrc", "imapaccess"} {
		os.Remove(filepath.Join(inst, "etc", f))
		os.Remove(filepath.Join(inst, "etc", f+".bak"))
	}
	run(t, "make", "--no-print-directory", "-C", repoRoot, "install-configure", "PREFIX="+inst)
}

func hashPassword(t testing.TB, pw string) string {
	t.Helper()
	needCommand(t, "openssl")
	out, err := exec.Command("openssl", "passwd", "-6", pw).Output()
	if err != nil {
		t.Fatalf("openssl passwd: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// makeMaildir creates home/Maildir with two messages, owned by the account.
func makeMaildir(t testing.TB, home string, uid, gid int) string {
	t.Helper()
	md := filepath.Join(home, "Maildir")
	os.RemoveAll(home)
	for _, d := range []string{home, md, md + "/cur", md + "/new", md + "/tmp"} {
		if err := os.Mkdir(d, 0700); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 2; i++ {
		msg := fmt.Sprintf("From: a@example.com\r\nTo: %s@example.com\r\nSubject: test %d\r\n\r\nBody %d.\r\n", acctName, i, i)
		name := fmt.Sprintf("%s/new/%d.M%dP1.e2e", md, 1700000000+i, i)
		if err := os.WriteFile(name, []byte(msg), 0600); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// startSuite configures and starts authdaemond, IMAP and POP3.
func startSuite(t testing.TB, o options) *suite {
	t.Helper()
	s := configureSuite(t, o)
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	run(t, filepath.Join(inst, "libexec/imapd.rc"), "start")
	waitFor(t, "IMAP port", func() bool { return canConnect(s.imapPort) })
	if o.pop3 {
		run(t, filepath.Join(inst, "libexec/pop3d.rc"), "start")
		waitFor(t, "POP3 port", func() bool { return canConnect(s.pop3Port) })
	}
	return s
}

func waitForAuthd(t testing.TB) {
	t.Helper()
	waitFor(t, "authdaemond socket", func() bool {
		st, err := os.Stat(filepath.Join(inst, "var/authdaemon/socket"))
		return err == nil && st.Mode()&os.ModeSocket != 0
	})
}

// configureSuite writes the configuration, the account and its maildir,
// and registers the cleanup that stops everything.
func configureSuite(t testing.TB, o options) *suite {
	t.Helper()
	needInstall(t, "sbin/couriertcpd", "sbin/authdaemond", "sbin/imaplogin", "bin/imapd", "sbin/sysconftool")
	if o.pop3 {
		needInstall(t, "sbin/pop3login", "bin/pop3d")
	}
	needCommand(t, "python3")
	stopAll(t) // leftovers of an earlier test
	resetConfig(t)
	s := &suite{imapPort: freePort(t), pop3Port: freePort(t)}
	etc := filepath.Join(inst, "etc")
	imapd, pop3d := filepath.Join(etc, "imapd"), filepath.Join(etc, "pop3d")
	setValue(t, imapd, "ADDRESS", "127.0.0.1")
	setValue(t, imapd, "PORT", strconv.Itoa(s.imapPort))
	setValue(t, imapd, "IMAPDSTART", "YES")
	// Failed logins sleep 5 s in Courier; the tests do not need to wait.
	setValue(t, imapd, "IMAP_LOGIN_FAILURE_DELAY", "0")
	if o.imapMaxPerIP > 0 {
		setValue(t, imapd, "MAXPERIP", strconv.Itoa(o.imapMaxPerIP))
	}
	for k, v := range o.extraIMAP {
		setValue(t, imapd, k, v)
	}
	if o.imapAccess != "" {
		if err := os.WriteFile(filepath.Join(etc, "imapaccess"), []byte(o.imapAccess), 0644); err != nil {
			t.Fatal(err)
		}
	}
	setValue(t, pop3d, "ADDRESS", "127.0.0.1")
	setValue(t, pop3d, "PORT", strconv.Itoa(s.pop3Port))
	setValue(t, pop3d, "POP3DSTART", "YES")
	setValue(t, pop3d, "POP3_LOGIN_FAILURE_DELAY", "0")
	// The implicit-TLS servers are enabled by default; a test that wants
	// them starts them (tls_test.go), never on the real 993/995.
	for _, f := range []struct{ file, start string }{{"imapd-ssl", "IMAPDSSLSTART"}, {"pop3d-ssl", "POP3DSSLSTART"}} {
		setValue(t, filepath.Join(etc, f.file), f.start, "NO")
		setValue(t, filepath.Join(etc, f.file), "SSLADDRESS", "127.0.0.1")
		setValue(t, filepath.Join(etc, f.file), "SSLPORT", strconv.Itoa(freePort(t)))
	}

	s.home = filepath.Join(scratch, "home", acctName)
	os.MkdirAll(filepath.Dir(s.home), 0755)
	if o.uid == 0 {
		o.uid, o.gid = acctUID, acctGID
	}
	s.maildir = makeMaildir(t, s.home, o.uid, o.gid)
	line := fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=%s\n",
		acctName, o.uid, o.gid, s.home, s.maildir, hashPassword(t, acctPass))
	if err := os.WriteFile(filepath.Join(etc, "userdb"), []byte(line), 0600); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		stopAll(t)
		if t.Failed() {
			dumpLogs(t)
		}
	})
	return s
}

func canConnect(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dumpLogs shows what the servers logged through syslog, if anything.
func dumpLogs(t testing.TB) {
	for _, f := range []string{"/var/log/syslog", "/var/log/mail.log"} {
		if b, err := os.ReadFile(f); err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("tail of %s:\n%s", f, strings.Join(lines, "\n"))
		}
	}
}

// proc describes a process of the installation.
type proc struct {
	pid, ppid int
	exe       string
	uids      []string // real, effective, saved, fs
	gids      []string
	groups    string
}

// installedProcs lists running processes whose executable is under inst.
func installedProcs() []proc {
	var out []proc
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || !strings.HasPrefix(exe, inst+"/") {
			continue
		}
		p := proc{pid: pid, exe: strings.TrimPrefix(exe, inst+"/")}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "PPid":
				p.ppid, _ = strconv.Atoi(v)
			case "Uid":
				p.uids = strings.Fields(v)
			case "Gid":
				p.gids = strings.Fields(v)
			case "Groups":
				p.groups = v
			case "State":
				if strings.HasPrefix(v, "Z") {
					p.exe += " (zombie)"
				}
			}
		}
		out = append(out, p)
	}
	return out
}

func procsNamed(name string) []proc {
	var out []proc
	for _, p := range installedProcs() {
		if filepath.Base(p.exe) == name {
			out = append(out, p)
		}
	}
	return out
}

// stopAll stops the servers through their own commands, then makes sure
// nothing from the installation is left, killing stragglers (and failing
// the test if there were any).
func stopAll(t testing.TB) {
	t.Helper()
	if inst == "" {
		return
	}
	for _, rc := range []string{"imapd.rc", "pop3d.rc", "imapd-ssl.rc", "pop3d-ssl.rc"} {
		exec.Command(filepath.Join(inst, "libexec", rc), "stop").Run()
	}
	exec.Command(filepath.Join(inst, "sbin/authdaemond"), "stop").Run()
	deadline := time.Now().Add(10 * time.Second)
	for len(installedProcs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := installedProcs(); len(left) > 0 {
		for _, p := range left {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		t.Errorf("processes left after stop: %+v", left)
	}
}

// python runs a python3 script with arguments and returns its output.
func python(t testing.TB, script string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("python3", append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return buf.String(), errors.New("python3 timed out")
	}
}

const imapScript = `
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
typ, data = m.login(sys.argv[2], sys.argv[3])
print("LOGIN", typ)
typ, data = m.select("INBOX")
print("SELECT", typ, data[0].decode())
typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("FETCH", typ, len([d for d in data if isinstance(d, tuple)]))
m.logout()
print("DONE")
`

const pop3Script = `
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
print("GREETING", p.getwelcome().decode())
p.user(sys.argv[2])
print("PASS", p.pass_(sys.argv[3]).decode())
count, size = p.stat()
print("STAT", count)
resp, lines, octets = p.retr(1)
print("RETR", b"Subject: test 1" in lines)
p.quit()
print("DONE")
`

func TestIMAPLoginPython(t *testing.T) {
	s := startSuite(t, options{})
	out, err := python(t, imapScript, strconv.Itoa(s.imapPort), acctName, acctPass)
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	for _, want := range []string{"LOGIN OK", "SELECT OK 2", "FETCH OK 2", "DONE"} {
		if !strings.Contains(out, want) {
			t.Errorf("imaplib output lacks %q:\n%s", want, out)
		}
	}
	// A wrong password is refused and the login stage stays usable.
	out, err = python(t, imapScript, strconv.Itoa(s.imapPort), acctName, "wrong")
	if err == nil || strings.Contains(out, "LOGIN OK") {
		t.Errorf("wrong password accepted: %v\n%s", err, out)
	}
}

func TestPOP3LoginPython(t *testing.T) {
	s := startSuite(t, options{pop3: true})
	out, err := python(t, pop3Script, strconv.Itoa(s.pop3Port), acctName, acctPass)
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	for _, want := range []string{"GREETING +OK", "PASS +OK", "STAT 2", "RETR True", "DONE"} {
		if !strings.Contains(out, want) {
			t.Errorf("poplib output lacks %q:\n%s", want, out)
		}
	}
	out, err = python(t, pop3Script, strconv.Itoa(s.pop3Port), acctName, "wrong")
	if err == nil {
		t.Errorf("wrong password accepted:\n%s", out)
	}
}

// imapConn is a raw IMAP connection for tests that keep a session open.
type imapConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialIMAP(t testing.TB, port int) (*imapConn, string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return nil, "", err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	ic := &imapConn{c: c, r: bufio.NewReader(c)}
	line, err := ic.r.ReadString('\n')
	return ic, line, err
}

// command sends one command and returns the lines up to its tagged reply.
func (ic *imapConn) command(tag, cmd string) (string, error) {
	ic.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(ic.c, "%s %s\r\n", tag, cmd); err != nil {
		return "", err
	}
	var all strings.Builder
	for {
		line, err := ic.r.ReadString('\n')
		all.WriteString(line)
		if err != nil {
			return all.String(), err
		}
		if strings.HasPrefix(line, tag+" ") {
			return all.String(), nil
		}
	}
}

// TestProcessChain checks reference §1: the session process runs with the
// account's uid/gid and no other groups, descends from couriertcpd, and
// authdaemond is a separate process reached over its Unix socket.
func TestProcessChain(t *testing.T) {
	s := startSuite(t, options{extraIMAP: map[string]string{"IMAP_UMASK": "027", "IMAP_ULIMITD": "262144"}})
	ic, greet, err := dialIMAP(t, s.imapPort)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer ic.c.Close()
	if !strings.HasPrefix(greet, "* OK") {
		t.Fatalf("greeting %q", greet)
	}
	if out, err := ic.command("a1", fmt.Sprintf("LOGIN %s %s", acctName, acctPass)); err != nil || !strings.Contains(out, "a1 OK") {
		t.Fatalf("LOGIN: %v %q", err, out)
	}
	if out, err := ic.command("a2", "SELECT INBOX"); err != nil || !strings.Contains(out, "a2 OK") {
		t.Fatalf("SELECT: %v %q", err, out)
	}

	sessions := procsNamed("imapd")
	if len(sessions) != 1 {
		t.Fatalf("want one imapd session process, got %+v (all: %+v)", sessions, installedProcs())
	}
	sess := sessions[0]
	want := strconv.Itoa(acctUID)
	for _, u := range sess.uids {
		if u != want {
			t.Errorf("imapd uids %v, want all %d", sess.uids, acctUID)
			break
		}
	}
	for _, g := range sess.gids {
		if g != strconv.Itoa(acctGID) {
			t.Errorf("imapd gids %v, want all %d", sess.gids, acctGID)
			break
		}
	}
	if sess.groups != "" {
		t.Errorf("imapd has supplementary groups %q, want none", sess.groups)
	}
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", sess.pid))
	if cwd != s.maildir {
		t.Errorf("imapd cwd %q, want the maildir %q", cwd, s.maildir)
	}

	// The rc script's work: settings exported from etc/imapd and
	// imapd-ssl, IMAP_STARTTLS copied from IMAPDSTARTTLS, env -i (no
	// PATH), umask from IMAP_UMASK, data limit from IMAP_ULIMITD
	// (reference §1.2, §12.1).
	env := procEnv(sess.pid)
	for k, want := range map[string]string{
		"IMAP_STARTTLS":   "YES",
		"IMAPDSTARTTLS":   "YES",
		"MAXPERIP":        "20",
		"IMAP_KEYWORDS":   "1",
		"TLS_VERIFYPEER":  "NONE",
		"IMAP_CAPABILITY": "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
		"TCPREMOTEIP":     "::ffff:127.0.0.1",
		"AUTHENTICATED":   acctName,
	} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("imapd environment %s=%q (set %v), want %q", k, got, ok, want)
		}
	}
	if p, ok := env["PATH"]; ok {
		t.Errorf("imapd environment has PATH=%q; the rc script must start from env -i", p)
	}
	if got := statusField(sess.pid, "Umask"); got != "0027" {
		t.Errorf("imapd umask %q, want 0027 from IMAP_UMASK", got)
	}
	if got := dataLimit(sess.pid); got != "268435456" {
		t.Errorf("imapd max data size %q, want 268435456 from IMAP_ULIMITD=262144", got)
	}

	// Ancestry: imapd (exec'd in place of imaplogin) -> couriertcpd.
	tcpds := procsNamed("couriertcpd")
	isTcpd := map[int]bool{}
	for _, p := range tcpds {
		isTcpd[p.pid] = true
	}
	ancestors := ancestry(sess.pid)
	found := false
	for _, a := range ancestors {
		if isTcpd[a] {
			found = true
		}
	}
	if !found {
		t.Errorf("imapd %d does not descend from couriertcpd %v (ancestors %v)", sess.pid, tcpds, ancestors)
	}

	authds := procsNamed("authdaemond")
	if len(authds) == 0 {
		t.Fatal("no authdaemond process")
	}
	for _, a := range authds {
		for _, anc := range ancestors {
			if anc == a.pid {
				t.Errorf("authdaemond %d is an ancestor of imapd", a.pid)
			}
		}
		if a.uids[0] != "0" {
			t.Errorf("authdaemond runs as uid %s, want root", a.uids[0])
		}
	}
	sock := filepath.Join(inst, "var/authdaemon/socket")
	st, err := os.Stat(sock)
	if err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("authdaemond socket %s: %v %v", sock, st, err)
	}
	dst, _ := os.Stat(filepath.Dir(sock))
	if dst.Mode().Perm() != 0750 {
		t.Errorf("%s mode %v, want 0750", filepath.Dir(sock), dst.Mode().Perm())
	}
	if !socketOwnedBy(authds, sock) {
		t.Errorf("no authdaemond process holds a listening socket at %s", sock)
	}

	// Without authdaemond, logins fail: the login stage really asks it.
	run(t, filepath.Join(inst, "sbin/authdaemond"), "stop")
	waitFor(t, "authdaemond exit", func() bool { return len(procsNamed("authdaemond")) == 0 })
	ic2, _, err := dialIMAP(t, s.imapPort)
	if err != nil {
		t.Fatal(err)
	}
	defer ic2.c.Close()
	if out, _ := ic2.command("b1", fmt.Sprintf("LOGIN %s %s", acctName, acctPass)); strings.Contains(out, "b1 OK") {
		t.Errorf("login succeeded with authdaemond stopped: %q", out)
	}
}

func procEnv(pid int) map[string]string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	m := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func statusField(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// dataLimit is the soft "Max data size" of pid, in bytes.
func dataLimit(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Max data size") {
			if f := strings.Fields(strings.TrimPrefix(l, "Max data size")); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// ancestry returns the parent chain of pid up to init.
func ancestry(pid int) []int {
	var out []int
	for i := 0; i < 64 && pid > 1; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			break
		}
		pp := 0
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PPid:"); ok {
				pp, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		out = append(out, pp)
		pid = pp
	}
	return out
}

// socketOwnedBy reports whether the process listening on the Unix socket
// at path is one of procs: SO_PEERCRED on a connection gives the pid that
// called listen().
func socketOwnedBy(procs []proc, path string) bool {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return false
	}
	for _, p := range procs {
		if int(cred.Pid) == p.pid {
			return true
		}
	}
	return false
}

// refused reports whether a connection gets no greeting (closed at once).
func refused(t testing.TB, port int) bool {
	t.Helper()
	ic, line, err := dialIMAP(t, port)
	if err != nil {
		return true // connection refused outright also counts
	}
	defer ic.c.Close()
	return !strings.HasPrefix(line, "* OK")
}

func TestMaxPerIP(t *testing.T) {
	s := startSuite(t, options{imapMaxPerIP: 2})
	var held []*imapConn
	defer func() {
		for _, c := range held {
			c.c.Close()
		}
	}()
	// startSuite's probe connections count until couriertcpd has reaped
	// their login stages, so the two allowed connections are retried for
	// a while rather than expected at the first attempt.
	deadline := time.Now().Add(10 * time.Second)
	for len(held) < 2 {
		ic, greet, err := dialIMAP(t, s.imapPort)
		if err == nil && strings.HasPrefix(greet, "* OK") {
			held = append(held, ic)
			continue
		}
		if ic != nil {
			ic.c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not open 2 connections with MAXPERIP=2: %v %q", err, greet)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 3; i++ {
		if !refused(t, s.imapPort) {
			t.Fatalf("connection %d beyond MAXPERIP=2 from 127.0.0.1 accepted", i+3)
		}
	}
	held[0].c.Close()
	held = held[1:]
	waitFor(t, "a slot after closing one connection", func() bool { return !refused(t, s.imapPort) })
}

func TestAccessFileDeny(t *testing.T) {
	s := startSuite(t, options{imapAccess: "127.0.0.1\tdeny\n"})
	if !refused(t, s.imapPort) {
		t.Errorf("connection from a denied address was greeted")
	}
}

// TestAccessFileOnlyIMAP: POP3 has no access file configured, so the IMAP
// one does not affect it.
func TestAccessFileOnlyIMAP(t *testing.T) {
	s := startSuite(t, options{imapAccess: "127.0.0.1\tdeny\n", pop3: true})
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.pop3Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "+OK") {
		t.Errorf("POP3 greeting %q", line)
	}
}

func TestAccessFileAllowOthers(t *testing.T) {
	// Only another network is denied: 127.0.0.1 falls to the default.
	s := startSuite(t, options{imapAccess: "10.1.2\tdeny\n*\tallow\n"})
	if refused(t, s.imapPort) {
		t.Errorf("127.0.0.1 refused though only 10.1.2 is denied")
	}
}

// TestIMAPRCStop: imapd.rc stop ends couriertcpd and the running
// sessions, leaving no process.
func TestIMAPRCStop(t *testing.T) {
	s := startSuite(t, options{})
	ic, _, err := dialIMAP(t, s.imapPort)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.c.Close()
	if out, err := ic.command("a1", fmt.Sprintf("LOGIN %s %s", acctName, acctPass)); err != nil || !strings.Contains(out, "a1 OK") {
		t.Fatalf("LOGIN: %v %q", err, out)
	}
	if len(procsNamed("imapd")) != 1 {
		t.Fatalf("no imapd session: %+v", installedProcs())
	}
	run(t, filepath.Join(inst, "libexec/imapd.rc"), "stop")
	waitFor(t, "IMAP processes to exit", func() bool {
		return len(procsNamed("imapd")) == 0 && len(tcpdsFor("imaplogin")) == 0
	})
	if _, err := os.Stat(filepath.Join(inst, "var/imapd.pid")); err == nil {
		t.Logf("note: var/imapd.pid left after stop")
	}
	if canConnect(s.imapPort) {
		t.Errorf("IMAP port still accepting after imapd.rc stop")
	}
}

// TestPOP3SIGTERM: SIGTERM to the couriertcpd named in the pid file stops
// the POP3 server and its sessions.
func TestPOP3SIGTERM(t *testing.T) {
	s := startSuite(t, options{pop3: true})
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.pop3Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	br.ReadString('\n')
	fmt.Fprintf(c, "USER %s\r\n", acctName)
	br.ReadString('\n')
	fmt.Fprintf(c, "PASS %s\r\n", acctPass)
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "+OK") {
		t.Fatalf("PASS: %q", line)
	}
	pops := procsNamed("pop3d")
	if len(pops) != 1 {
		t.Fatalf("no pop3d session: %+v", installedProcs())
	}
	if p := pops[0]; strings.Join(p.uids, ",") != "5000,5000,5000,5000" ||
		strings.Join(p.gids, ",") != "5000,5000,5000,5000" || p.groups != "" {
		t.Errorf("pop3d credentials uid %v gid %v groups %q, want the account's and no groups", p.uids, p.gids, p.groups)
	}
	b, err := os.ReadFile(filepath.Join(inst, "var/pop3d.pid"))
	if err != nil {
		t.Fatalf("pop3d pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 1 {
		t.Fatalf("bad pid file %q", b)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	waitFor(t, "POP3 processes to exit", func() bool {
		return len(tcpdsFor("pop3login")) == 0 && len(procsNamed("pop3d")) == 0
	})
	if canConnect(s.pop3Port) {
		t.Errorf("POP3 port still accepting after SIGTERM")
	}
}

// tcpdsFor lists couriertcpd processes whose command line runs prog.
func tcpdsFor(prog string) []proc {
	var out []proc
	for _, p := range procsNamed("couriertcpd") {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		if bytes.Contains(b, []byte(prog)) {
			out = append(out, p)
		}
	}
	return out
}

// TestSSLRCNotStarted: the implicit-TLS servers are on by default now
// that couriertls exists (IMAPDSSLSTART=YES / POP3DSSLSTART=YES in the
// .dist files); with NO the -ssl scripts start nothing and exit 0, and
// with the TLS helper missing they refuse with exit 1.
func TestSSLRCNotStarted(t *testing.T) {
	needInstall(t, "sbin/sysconftool")
	resetConfig(t)
	for _, f := range []struct{ file, start string }{{"imapd-ssl", "IMAPDSSLSTART"}, {"pop3d-ssl", "POP3DSSLSTART"}} {
		if v := getValue(t, filepath.Join(inst, "etc", f.file), f.start); v != "YES" {
			t.Errorf("default %s=%s in %s, want YES", f.start, v, f.file)
		}
		if v := getValue(t, filepath.Join(inst, "etc", f.file), "COURIERTLS"); v != filepath.Join(inst, "sbin/couriertls") {
			t.Errorf("default COURIERTLS=%s in %s, want sbin/couriertls", v, f.file)
		}
		setValue(t, filepath.Join(inst, "etc", f.file), f.start, "NO")
	}
	for _, rc := range []string{"imapd-ssl.rc", "pop3d-ssl.rc"} {
		out := run(t, filepath.Join(inst, "libexec", rc), "start")
		if !strings.Contains(out, "not started") {
			t.Errorf("%s start: %q", rc, out)
		}
	}
	if n := len(procsNamed("couriertcpd")); n != 0 {
		t.Errorf("%d couriertcpd running after the -ssl scripts", n)
	}
	// Enabled, but the TLS helper is missing: a clear message and exit 1.
	setValue(t, filepath.Join(inst, "etc/imapd-ssl"), "IMAPDSSLSTART", "YES")
	setValue(t, filepath.Join(inst, "etc/imapd-ssl"), "COURIERTLS", filepath.Join(scratch, "no-such-couriertls"))
	out, err := exec.Command(filepath.Join(inst, "libexec/imapd-ssl.rc"), "start").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not installed") {
		t.Errorf("imapd-ssl.rc start without a TLS helper: %v %q", err, out)
	}
	if n := len(procsNamed("couriertcpd")); n != 0 {
		t.Errorf("%d couriertcpd running after a refused -ssl start", n)
	}
}

// TestInstallConfigure exercises the sysconftool rules through
// `make install-configure` (reference §12.2).
func TestInstallConfigure(t *testing.T) {
	needInstall(t, "sbin/sysconftool")
	etc := filepath.Join(inst, "etc")
	imapd, dist := filepath.Join(etc, "imapd"), filepath.Join(etc, "imapd.dist")
	orig, err := os.ReadFile(dist)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(dist, orig, 0644) })
	resetConfig(t)
	got, _ := os.ReadFile(imapd)
	if !bytes.Equal(got, orig) {
		t.Fatalf("fresh etc/imapd differs from imapd.dist")
	}
	if _, err := os.Stat(imapd + ".bak"); err == nil {
		t.Errorf("fresh install left a .bak")
	}
	st, _ := os.Stat(filepath.Join(etc, "userdb"))
	if st == nil || st.Mode().Perm() != 0600 {
		t.Errorf("etc/userdb: %v, want mode 0600", st)
	}

	// The administrator changes two settings.
	setValue(t, imapd, "MAXDAEMONS", "77") // ##NAME: MAXDAEMONS:0
	setValue(t, imapd, "PORT", "9143")     // ##NAME: PORT:1
	setValue(t, imapd, "IMAP_OBSOLETE_CLIENT", "1")
	adminVersion, _ := os.ReadFile(imapd)

	// Same ##VERSION: nothing happens.
	out := run(t, "make", "--no-print-directory", "-C", repoRoot, "install-configure", "PREFIX="+inst)
	if got, _ := os.ReadFile(imapd); !bytes.Equal(got, adminVersion) {
		t.Errorf("re-run with the same ##VERSION changed etc/imapd:\n%s", out)
	}

	// A new release: PORT's revision is raised, IMAP_OBSOLETE_CLIENT is
	// gone, a new setting appears.
	nd := string(orig)
	nd = strings.Replace(nd, "##VERSION: ", "##VERSION: next-", 1)
	nd = strings.Replace(nd, "##NAME: PORT:1", "##NAME: PORT:2", 1)
	nd = strings.Replace(nd, "\nPORT=143\n", "\nPORT=1143\n", 1)
	start := strings.Index(nd, "##NAME: IMAP_OBSOLETE_CLIENT:0")
	end := strings.Index(nd, "##NAME: IMAP_UMASK:0")
	if start < 0 || end < start {
		t.Fatal("imapd.dist lacks the blocks this test edits")
	}
	nd = nd[:start] + nd[end:]
	nd += "\n##NAME: E2E_NEW_SETTING:0\n#\n# added by the test\n\nE2E_NEW_SETTING=fresh\n"
	if err := os.WriteFile(dist, []byte(nd), 0644); err != nil {
		t.Fatal(err)
	}
	out = run(t, "make", "--no-print-directory", "-C", repoRoot, "install-configure", "PREFIX="+inst)
	checks := []struct{ name, want string }{
		{"MAXDAEMONS", "77"}, // same revision: admin's value kept
		{"PORT", "1143"},     // revision raised: new default
		{"E2E_NEW_SETTING", "fresh"},
		{"IMAP_OBSOLETE_CLIENT", "<unset>"}, // removed block dropped
		{"ADDRESS", "0"},
	}
	for _, c := range checks {
		if got := getValue(t, imapd, c.name); got != c.want {
			t.Errorf("%s = %q, want %q", c.name, got, c.want)
		}
	}
	if bak, err := os.ReadFile(imapd + ".bak"); err != nil || !bytes.Equal(bak, adminVersion) {
		t.Errorf("imapd.bak is not the previous file (err %v)", err)
	}
	if b, _ := os.ReadFile(imapd); !strings.HasPrefix(string(b), "##VERSION: next-") {
		t.Errorf("merged file does not carry the new ##VERSION")
	}
	for _, want := range []string{"PORT", "E2E_NEW_SETTING", "IMAP_OBSOLETE_CLIENT"} {
		if !strings.Contains(out, want) {
			t.Errorf("install-configure output does not mention %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MAXDAEMONS") {
		t.Errorf("install-configure reports the unchanged MAXDAEMONS:\n%s", out)
	}

	// An old file without ##VERSION is backed up and replaced.
	os.WriteFile(filepath.Join(etc, "pop3d"), []byte("PORT=7\n"), 0644)
	run(t, "make", "--no-print-directory", "-C", repoRoot, "install-configure", "PREFIX="+inst)
	if getValue(t, filepath.Join(etc, "pop3d"), "PORT") != "110" {
		t.Errorf("pop3d without ##VERSION not replaced")
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "pop3d.bak")); string(b) != "PORT=7\n" {
		t.Errorf("pop3d.bak = %q", b)
	}
}

// TestSysvinitScript: the LSB init script installed by make
// install-sysvinit starts authdaemond and the servers enabled in the
// config files, reports their status, and stops them all.
func TestSysvinitScript(t *testing.T) {
	s := configureSuite(t, options{})
	initd := filepath.Join(scratch, "init.d")
	run(t, "make", "--no-print-directory", "-C", repoRoot, "install-sysvinit", "PREFIX="+inst,
		"BUILDDIR="+filepath.Join(scratch, "build"), "INITDIR="+initd, "KEEP_GOING=1")
	script := filepath.Join(initd, "courier-imap")
	// POP3DSTART=NO: the script must leave POP3 alone.
	setValue(t, filepath.Join(inst, "etc/pop3d"), "POP3DSTART", "NO")
	out := run(t, script, "start")
	waitFor(t, "IMAP port", func() bool { return canConnect(s.imapPort) })
	if len(procsNamed("authdaemond")) == 0 {
		t.Errorf("init script did not start authdaemond:\n%s", out)
	}
	if n := len(tcpdsFor("pop3login")); n != 0 {
		t.Errorf("POP3 started although POP3DSTART=NO")
	}
	if strings.Contains(out, "pop3d") {
		t.Errorf("start output mentions pop3d although POP3DSTART=NO:\n%s", out)
	}
	out = run(t, script, "status")
	for _, want := range []string{"authdaemond is running", "imapd is running", "pop3d is not running"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	run(t, script, "reload")
	if !canConnect(s.imapPort) {
		t.Errorf("IMAP not serving after reload")
	}
	run(t, script, "stop")
	waitFor(t, "every process to exit", func() bool { return len(installedProcs()) == 0 })
	cmd := exec.Command(script, "status")
	if err := cmd.Run(); err == nil {
		t.Errorf("status exits 0 with nothing running")
	}
}

// TestSystemdUnitsVerify: the units installed by make install-systemd
// pass systemd-analyze verify once the programs they name exist.
func TestSystemdUnitsVerify(t *testing.T) {
	needInstall(t, "sbin/authdaemond")
	needCommand(t, "systemd-analyze")
	dir := filepath.Join(scratch, "units")
	run(t, "make", "--no-print-directory", "-C", repoRoot, "install-systemd", "PREFIX="+inst,
		"BUILDDIR="+filepath.Join(scratch, "build"), "SYSTEMDUNITDIR="+dir)
	units, _ := filepath.Glob(filepath.Join(dir, "*"))
	var check []string
	for _, u := range units {
		if !strings.Contains(filepath.Base(u), "@") { // templates are verified through their sockets
			check = append(check, u)
		}
	}
	if len(check) < 7 {
		t.Fatalf("installed units: %v", units)
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify"}, check...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=warning")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "/units/") || strings.Contains(l, inst) {
			t.Errorf("verify: %s", l)
		}
	}
}

// activate runs systemd-socket-activate (as systemd would run the unit)
// and returns a function that stops it and waits.
func activate(t testing.TB, args ...string) func() {
	t.Helper()
	needCommand(t, "systemd-socket-activate")
	cmd := exec.Command("systemd-socket-activate", args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("systemd-socket-activate output:\n%s", buf.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestSocketActivation: imapd.service's command (imapd.rc foreground)
// serves the listener systemd passes in LISTEN_FDS (Accept=no).
func TestSocketActivation(t *testing.T) {
	s := configureSuite(t, options{})
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	stop := activate(t, "-l", fmt.Sprintf("127.0.0.1:%d", s.imapPort),
		filepath.Join(inst, "libexec/imapd.rc"), "foreground")
	out, err := python(t, imapScript, strconv.Itoa(s.imapPort), acctName, acctPass)
	if err != nil || !strings.Contains(out, "LOGIN OK") || !strings.Contains(out, "SELECT OK 2") {
		t.Fatalf("imaplib through the activated socket: %v\n%s", err, out)
	}
	// couriertcpd itself holds the activated socket (no extra process).
	if n := len(procsNamed("couriertcpd")); n != 1 {
		t.Errorf("%d couriertcpd processes, want 1", n)
	}
	stop()
	waitFor(t, "couriertcpd to exit", func() bool { return len(procsNamed("couriertcpd")) == 0 })
}

// TestAcceptSocket: imapd-accept@.service's command (imapd.rc inetd) serves
// one connection on stdin/stdout (Accept=yes).
func TestAcceptSocket(t *testing.T) {
	s := configureSuite(t, options{})
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	activate(t, "--inetd", "-a", "-l", fmt.Sprintf("127.0.0.1:%d", s.imapPort),
		filepath.Join(inst, "libexec/imapd.rc"), "inetd")
	for i := 0; i < 2; i++ { // one process per connection, twice
		out, err := python(t, imapScript, strconv.Itoa(s.imapPort), acctName, acctPass)
		if err != nil || !strings.Contains(out, "LOGIN OK") || !strings.Contains(out, "FETCH OK 2") {
			t.Fatalf("imaplib through an Accept=yes connection: %v\n%s", err, out)
		}
	}
}

// procsUnder lists processes whose executable lies below dir.
func procsUnder(dir string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasPrefix(exe, dir+"/") {
			out = append(out, pid)
		}
	}
	return out
}

// TestMakeRun: `make run` installs a private copy, creates demo/demo with
// three messages, serves IMAP (and POP3 once built) in the foreground, and
// Ctrl-C (SIGINT to the process group) stops everything.
func TestMakeRun(t *testing.T) {
	needInstall(t)
	needCommand(t, "python3", "openssl")
	demo := filepath.Join(scratch, "demo")
	imapPort, pop3Port := freePort(t), freePort(t)
	cmd := exec.Command("make", "--no-print-directory", "-C", repoRoot, "run")
	cmd.Env = append(os.Environ(), "DEMO_DIR="+demo, "KEEP_GOING=1",
		"BUILDDIR="+filepath.Join(scratch, "build-demo"),
		"IMAP_PORT="+strconv.Itoa(imapPort), "POP3_PORT="+strconv.Itoa(pop3Port))
	var buf testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		for _, p := range procsUnder(demo) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(buf.String(), "serving") {
		select {
		case err := <-done:
			t.Fatalf("make run exited early: %v\n%s", err, buf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run did not start serving:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "demo IMAP port", func() bool { return canConnect(imapPort) })
	out, err := python(t, imapScript, strconv.Itoa(imapPort), "demo", "demo")
	if err != nil || !strings.Contains(out, "LOGIN OK") || !strings.Contains(out, "SELECT OK 3") {
		t.Errorf("imaplib demo/demo: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(demo, "sbin/pop3login")); err == nil {
		waitFor(t, "demo POP3 port", func() bool { return canConnect(pop3Port) })
		out, err := python(t, pop3Script+"", strconv.Itoa(pop3Port), "demo", "demo")
		if err != nil || !strings.Contains(out, "PASS +OK") || !strings.Contains(out, "STAT 3") {
			t.Errorf("poplib demo/demo: %v\n%s", err, out)
		}
	} else {
		t.Logf("POP3 not built yet; only IMAP checked")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // Ctrl-C
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("make run did not stop on SIGINT:\n%s", buf.String())
	}
	waitFor(t, "demo processes to exit", func() bool { return len(procsUnder(demo)) == 0 })
	if t.Failed() {
		t.Logf("make run output:\n%s", buf.String())
	}
}

// TestUnprivileged: the chain `make run` uses when not started by root.
// authdaemond and couriertcpd run as an ordinary user (uid 5001) who owns
// the state directory, and the account has that same uid/gid, so the login
// stage's privilege drop is a no-op and everything works without root.
func TestUnprivileged(t *testing.T) {
	const uid, gid = 5001, 5001
	s := configureSuite(t, options{uid: uid, gid: gid})
	// The user owns the state directory (with whatever earlier runs left
	// there, e.g. authdaemond's lock file) and the userdb.
	chownAll := func(u, g int) error {
		err := filepath.Walk(filepath.Join(inst, "var"), func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, u, g)
		})
		if err != nil {
			return err
		}
		return os.Chown(filepath.Join(inst, "etc/userdb"), u, g)
	}
	if err := chownAll(uid, gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chownAll(0, 0) })
	start := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}, Setpgid: true}
		var buf testenv.SyncBuffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", filepath.Base(name), buf.String())
			}
		})
	}
	start(filepath.Join(inst, "sbin/authdaemond"), "-f")
	waitForAuthd(t)
	start(filepath.Join(inst, "libexec/imapd.rc"), "foreground")
	waitFor(t, "IMAP port", func() bool { return canConnect(s.imapPort) })
	ic, _, err := dialIMAP(t, s.imapPort)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.c.Close()
	if out, err := ic.command("a1", fmt.Sprintf("LOGIN %s %s", acctName, acctPass)); err != nil || !strings.Contains(out, "a1 OK") {
		t.Fatalf("LOGIN as an unprivileged suite: %v %q", err, out)
	}
	for _, p := range installedProcs() {
		if p.uids[0] != strconv.Itoa(uid) {
			t.Errorf("%s (pid %d) runs as uid %s, want %d", p.exe, p.pid, p.uids[0], uid)
		}
	}
}

// TestMkCert: mkimapdcert writes key and certificate into TLS_CERTFILE
// with mode 600, and leaves an existing file alone.
func TestMkCert(t *testing.T) {
	needInstall(t, "share/mkimapdcert", "share/mkpop3dcert")
	needCommand(t, "openssl")
	if _, err := os.Stat(filepath.Join(inst, "sbin/mkimapdcert")); err == nil {
		t.Errorf("the old sbin/mkimapdcert script is still installed")
	}
	cert := filepath.Join(scratch, "e2e-imapd.pem")
	os.Remove(cert)
	run(t, filepath.Join(inst, "share/mkimapdcert"), cert)
	st, err := os.Stat(cert)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0600 {
		t.Errorf("%s mode %v, want 0600", cert, st.Mode().Perm())
	}
	b, _ := os.ReadFile(cert)
	if !bytes.Contains(b, []byte("PRIVATE KEY-----")) || !bytes.Contains(b, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("%s lacks the key or the certificate", cert)
	}
	out := run(t, "openssl", "x509", "-in", cert, "-noout", "-subject")
	if !strings.Contains(out, "localhost") {
		t.Errorf("subject %q", out)
	}
	// Called with TLS_CERTFILE (as the -ssl rc scripts do): an existing
	// file is refused with exit 1 and left alone.
	cmd := exec.Command(filepath.Join(inst, "share/mkimapdcert"))
	cmd.Env = append(os.Environ(), "TLS_CERTFILE="+cert)
	o, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(o), "already exists") {
		t.Errorf("second run: %v %q", err, o)
	}
	if b2, _ := os.ReadFile(cert); !bytes.Equal(b, b2) {
		t.Errorf("existing certificate replaced without -f")
	}
}

// TestReadmeListsInstalledFiles: every file `make install` puts under
// PREFIX is named in README.md (directly or by a "dir/*" entry).
func TestReadmeListsInstalledFiles(t *testing.T) {
	needInstall(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range []string{"bin", "sbin", "libexec", "share", "etc"} {
		filepath.Walk(filepath.Join(inst, dir), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(inst, p)
			if dir == "etc" && !strings.HasSuffix(rel, ".dist") {
				return nil // made by install-configure and the tests
			}
			n++
			if !bytes.Contains(readme, []byte(rel)) && !bytes.Contains(readme, []byte(filepath.Dir(rel)+"/*")) {
				t.Errorf("README.md does not mention installed file %s", rel)
			}
			return nil
		})
	}
	if n < 20 {
		t.Errorf("only %d installed files found", n)
	}
	if st, err := os.Stat(filepath.Join(inst, "var/authdaemon")); err != nil || st.Mode().Perm() != 0750 {
		t.Errorf("var/authdaemon: %v %v, want a 0750 directory", st, err)
	}
}
