package main

// Integration tests: they build couriertcpd (and courierlogger) and run them
// on 127.0.0.1 with this test binary as the child program. The child mode is
// chosen by TCPD_TEST_CHILD, which couriertcpd passes through like any other
// variable.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gocourier/internal/handoff"

	"gocourier/internal/testenv"
)

var binDir string

func TestMain(m *testing.M) {
	if mode := os.Getenv("TCPD_TEST_CHILD"); mode != "" {
		childMain(mode)
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "tcpdtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	for _, pkg := range []string{"gocourier/tcpd", "gocourier/cmd/courierlogger"} {
		name := "couriertcpd"
		if strings.HasSuffix(pkg, "courierlogger") {
			name = "courierlogger"
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// childMain is the program couriertcpd runs. It uses raw system calls on
// fds 0 and 1 so that the Go runtime opens no descriptor of its own.
func childMain(mode string) {
	if mode == "diespare" && handoff.Pending() {
		os.Exit(2) // a program that cannot be pre-started
	}
	if mode == "reuse" {
		reuseStageMain()
		return
	}
	if mode == "session" {
		sessionMain()
		return
	}
	// With -prestart the child waits here for its connection.
	if err := handoff.Receive(); err != nil {
		if errors.Is(err, handoff.ErrClosed) {
			os.Exit(0)
		}
		os.Exit(3)
	}
	out := func(s string) { syscall.Write(1, []byte(s)) }
	switch mode {
	case "greet":
		out("HELLO\n")
	case "stderr":
		fmt.Fprintf(os.Stderr, "INFO: child says hello pid=%d\n", os.Getpid())
		out("LOGGED\n")
	default:
		env := os.Environ()
		sort.Strings(env)
		var b strings.Builder
		for _, kv := range env {
			b.WriteString("ENV " + kv + "\n")
		}
		fl, _ := unix.FcntlInt(0, unix.F_GETFL, 0)
		nd, _ := unix.GetsockoptInt(0, unix.IPPROTO_TCP, unix.TCP_NODELAY)
		slack, _ := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
		fmt.Fprintf(&b, "PID %d\nNONBLOCK %d\nNODELAY %d\nSLACK %d\nEND\n", os.Getpid(), fl&unix.O_NONBLOCK, nd, slack)
		out(b.String())
	}
	// Stay until the client closes, so tests control the lifetime.
	buf := make([]byte, 512)
	for {
		n, err := syscall.Read(0, buf)
		if n <= 0 || err != nil {
			return
		}
	}
}

// reuseStageMain is a reusable pre-started stage (internal/handoff): per
// connection it writes "STAGE <pid>", reads one command line and does it:
// "DONE" hands itself back, "SPAWN uid gid dir" asks couriertcpd to start
// this program in "session" mode as uid/gid in dir, "EXEC" execs that
// session in place.
func reuseStageMain() {
	st, err := handoff.Open()
	if err != nil || st == nil {
		os.Exit(3)
	}
	for {
		if err := st.Next(); err != nil {
			if errors.Is(err, handoff.ErrClosed) {
				os.Exit(0)
			}
			os.Exit(3)
		}
		syscall.Write(1, []byte(fmt.Sprintf("STAGE %d\n", os.Getpid())))
		var line []byte
		b := make([]byte, 1)
		for {
			n, err := syscall.Read(0, b)
			if n <= 0 || err != nil || b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		f := strings.Fields(string(line))
		// Go's Getenv takes the first of duplicate entries.
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "TCPD_TEST_CHILD=") {
				env = append(env, kv)
			}
		}
		env = append(env, "TCPD_TEST_CHILD=session")
		prog := os.Args[0]
		if p := os.Getenv("TCPD_TEST_SESSION_BIN"); p != "" {
			prog = p // a copy the account can execute
		}
		switch {
		case len(f) == 4 && f[0] == "SPAWN":
			uid, _ := strconv.Atoi(f[1])
			gid, _ := strconv.Atoi(f[2])
			err := st.Spawn(&handoff.Spawn{UID: uid, GID: gid, Dir: f[3], Path: prog, Args: []string{prog}, Env: env})
			if err != nil {
				syscall.Write(1, []byte("SPAWNERR "+err.Error()+"\n"))
				if st.Done() != nil {
					os.Exit(4)
				}
			}
		case len(f) == 1 && f[0] == "EXEC":
			syscall.Exec(prog, []string{prog}, env)
			os.Exit(5)
		default:
			if st.Done() != nil {
				os.Exit(4)
			}
		}
	}
}

// sessionMain reports who it is and stays until the client closes.
func sessionMain() {
	groups, _ := unix.Getgroups()
	cwd, _ := os.Getwd()
	fds, _ := os.ReadDir("/proc/self/fd")
	fl, _ := unix.FcntlInt(0, unix.F_GETFL, 0)
	// Count what we were given: not the runtime's own cgroup files (Go
	// keeps them open to follow CPU limits) nor the listing's directory.
	nfds := 0
	for _, e := range fds {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && !strings.HasPrefix(l, "/sys/fs/cgroup/") {
			nfds++
		}
	}
	slack, _ := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	msg := fmt.Sprintf("SESSION pid=%d ppid=%d uid=%d gid=%d groups=%d cwd=%s fds=%d nonblock=%d slack=%d\n",
		os.Getpid(), os.Getppid(), os.Getuid(), os.Getgid(), len(groups), cwd, nfds, fl&unix.O_NONBLOCK, slack)
	syscall.Write(1, []byte(msg))
	buf := make([]byte, 512)
	for {
		n, err := syscall.Read(0, buf)
		if n <= 0 || err != nil {
			return
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// freePort: see testenv.FreePort (why not a port from Listen(":0")).
func freePort(t *testing.T) int { return testenv.FreePort(t) }

// notifySocket is a fake systemd notify socket.
type notifySocket struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	dir, err := os.MkdirTemp("", "ntf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	// Reachable after couriertcpd drops privileges (TestUserGroupDrop).
	os.Chmod(dir, 0o755)
	os.Chmod(p, 0o777)
	n := &notifySocket{path: p, conn: c}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return n
}

func (n *notifySocket) seen(s string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.msgs {
		if slices.Contains(strings.Split(m, "\n"), s) {
			return true
		}
	}
	return false
}

type daemon struct {
	cmd    *exec.Cmd
	stderr *testenv.SyncBuffer
	port   int
	done   chan struct{}
	err    error
}

// startTcpd runs couriertcpd in the foreground on 127.0.0.1 and waits for
// READY=1 on a notify socket.
func startTcpd(t *testing.T, mode string, extraEnv []string, opts ...string) *daemon {
	t.Helper()
	return startTcpdWith(t, nil, []string{os.Args[0]}, mode, extraEnv, opts...)
}

// startTcpdWith also passes extra inherited descriptors (fd 3...) to
// couriertcpd and names the child program and its arguments.
func startTcpdWith(t *testing.T, files []*os.File, prog []string, mode string, extraEnv []string, opts ...string) *daemon {
	t.Helper()
	port := freePort(t)
	ns := newNotifySocket(t)
	args := append([]string{"-address=127.0.0.1"}, opts...)
	args = append(args, strconv.Itoa(port))
	args = append(args, prog...)
	cmd := exec.Command(filepath.Join(binDir, "couriertcpd"), args...)
	cmd.ExtraFiles = files
	cmd.Env = append(os.Environ(), "TCPD_TEST_CHILD="+mode, "NOTIFY_SOCKET="+ns.path)
	cmd.Env = append(cmd.Env, extraEnv...)
	d := &daemon{cmd: cmd, stderr: &testenv.SyncBuffer{}, port: port, done: make(chan struct{})}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("couriertcpd stderr:\n%s", d.stderr.String())
		}
	})
	waitFor(t, "READY=1", 5*time.Second, func() bool { return ns.seen("READY=1") })
	return d
}

func (d *daemon) addr() string { return "127.0.0.1:" + strconv.Itoa(d.port) }

type session struct {
	c     net.Conn
	r     *bufio.Reader
	env   map[string]string
	pid   int
	slack int
	lines []string
}

// dialFrom connects from a given loopback source address ("" = default).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	dl := net.Dialer{Timeout: 3 * time.Second}
	if src != "" {
		dl.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := dl.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readReport reads the env child's report up to END. ok is false when the
// connection ended first (refused by couriertcpd).
func readReport(t *testing.T, c net.Conn) (*session, bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s := &session{c: c, r: bufio.NewReader(c), env: map[string]string{}}
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				return s, false
			}
			t.Fatalf("reading child report: %v (got %q)", err, s.lines)
		}
		line = strings.TrimSuffix(line, "\n")
		s.lines = append(s.lines, line)
		switch {
		case line == "END":
			c.SetReadDeadline(time.Time{})
			return s, true
		case strings.HasPrefix(line, "ENV "):
			k, v, _ := strings.Cut(line[4:], "=")
			s.env[k] = v
		case strings.HasPrefix(line, "PID "):
			s.pid, _ = strconv.Atoi(line[4:])
		case strings.HasPrefix(line, "SLACK "):
			s.slack, _ = strconv.Atoi(line[6:])
		}
	}
}

func connectReport(t *testing.T, src, addr string) (*session, bool) {
	t.Helper()
	return readReport(t, dialFrom(t, src, addr))
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestChildEnvironmentAndDescriptors(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "imapaccess")
	writeFile(t, acc, "127.0.0.1\tallow,FOO=bar,QUOTED=\"a,b\",EMPTY\n")
	// couriertcpd inherits a descriptor without close-on-exec (fd 3, as a
	// careless parent might pass); it must not reach the child.
	leak, err := os.Open(acc)
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	d := startTcpdWith(t, []*os.File{leak}, []string{os.Args[0]}, "env",
		[]string{"WATCHDOG_USEC=200000", "LISTEN_FDNAMES=junk", "KEEPME=1"},
		"-access="+acc, "-nodnslookup", "-noidentlookup")
	c := dialFrom(t, "", d.addr())
	s, ok := readReport(t, c)
	if !ok {
		t.Fatalf("connection refused; stderr: %s", d.stderr.String())
	}
	lport := strconv.Itoa(c.LocalAddr().(*net.TCPAddr).Port)
	want := map[string]string{
		"TCPREMOTEIP":   "::ffff:127.0.0.1",
		"TCPREMOTEPORT": lport,
		"TCPLOCALIP":    "::ffff:127.0.0.1",
		"TCPLOCALPORT":  strconv.Itoa(d.port),
		"FOO":           "bar",
		"QUOTED":        "a,b",
		"EMPTY":         "",
		"KEEPME":        "1",
	}
	for k, v := range want {
		if got, ok := s.env[k]; !ok || got != v {
			t.Errorf("child env %s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "LISTEN_FDNAMES", "LISTEN_FDS", "LISTEN_PID",
		"COURIERTCPD_DAEMON_FD", "TCPREMOTEHOST", "TCPREMOTEINFO", "TCPLOCALHOST"} {
		if _, ok := s.env[k]; ok {
			t.Errorf("child env has %s", k)
		}
	}
	if !slices.Contains(s.lines, "NONBLOCK 0") {
		t.Errorf("child socket is non-blocking: %v", s.lines)
	}
	if !slices.Contains(s.lines, "NODELAY 1") {
		t.Errorf("TCP_NODELAY not set: %v", s.lines)
	}
	// Descriptors of the live child, seen from outside: exactly 0, 1, 2.
	fds := childFds(t, s.pid)
	if len(fds) != 3 {
		t.Fatalf("child has descriptors %v, want only 0, 1, 2", fds)
	}
	if !strings.HasPrefix(fds[0], "0->socket:") || !strings.HasPrefix(fds[1], "1->socket:") {
		t.Errorf("fds 0/1 are not the socket: %v", fds)
	}
}

// childFds lists a live child's descriptors as "n->target". The Go runtime
// of our (Go) test child opens the cgroup CPU quota files itself at start
// (Go >= 1.25, cgroup v1); those are the child's own and are left out.
func childFds(t *testing.T, pid int) []string {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range ents {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if strings.HasPrefix(link, "/sys/fs/cgroup/") {
			continue
		}
		// The runtime's own poller (a pre-started stage waits for its
		// connection in it) is the child's, close-on-exec, not inherited.
		if link == "anon_inode:[eventpoll]" || link == "anon_inode:[eventfd]" {
			info, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
			var flags int
			for _, l := range strings.Split(string(info), "\n") {
				if v, ok := strings.CutPrefix(l, "flags:"); ok {
					fmt.Sscanf(strings.TrimSpace(v), "%o", &flags)
				}
			}
			if flags&unix.O_CLOEXEC != 0 {
				continue
			}
		}
		fds = append(fds, e.Name()+"->"+link)
	}
	return fds
}

func TestWatchdogAndStopping(t *testing.T) {
	port := freePort(t)
	ns := newNotifySocket(t)
	cmd := exec.Command(filepath.Join(binDir, "couriertcpd"), "-address=127.0.0.1", strconv.Itoa(port), os.Args[0])
	cmd.Env = append(os.Environ(), "TCPD_TEST_CHILD=env", "NOTIFY_SOCKET="+ns.path, "WATCHDOG_USEC=100000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "READY=1", 5*time.Second, func() bool { return ns.seen("READY=1") })
	waitFor(t, "WATCHDOG=1", 2*time.Second, func() bool { return ns.seen("WATCHDOG=1") })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// The datagram is sent before exit but read by the socket's reader
	// goroutine, which a loaded machine may not have run yet.
	waitFor(t, "STOPPING=1", 2*time.Second, func() bool { return ns.seen("STOPPING=1") })
}

func TestAccessDeny(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "acc")
	writeFile(t, acc, "127.0.0.1\tdeny\n")
	t.Run("with denymsg", func(t *testing.T) {
		d := startTcpd(t, "env", nil, "-access="+acc, "-denymsg=Access denied, go away.")
		c := dialFrom(t, "", d.addr())
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil || string(b) != "Access denied, go away.\n" {
			t.Fatalf("got %q, %v", b, err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		d := startTcpd(t, "env", nil, "-access="+acc)
		c := dialFrom(t, "", d.addr())
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		if len(b) != 0 {
			t.Fatalf("denied client got %q", b)
		}
	})
}

func TestAccessMostSpecificWins(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "acc")
	writeFile(t, acc, "*\tallow,LEVEL=default\n127.0\tdeny\n127.0.0.1\tallow,LEVEL=host\n127.0.1\tallow,LEVEL=net\n")
	d := startTcpd(t, "env", nil, "-access="+acc)
	tests := []struct {
		src   string
		ok    bool
		level string
	}{
		{"127.0.0.1", true, "host"},
		{"127.0.0.2", false, ""},
		{"127.0.1.7", true, "net"},
		{"127.1.0.1", true, "default"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			s, ok := connectReport(t, tc.src, d.addr())
			if ok != tc.ok || s.env["LEVEL"] != tc.level {
				t.Fatalf("from %s: served=%v LEVEL=%q; want %v %q", tc.src, ok, s.env["LEVEL"], tc.ok, tc.level)
			}
			if ok && s.env["TCPREMOTEIP"] != "::ffff:"+tc.src {
				t.Fatalf("TCPREMOTEIP=%q", s.env["TCPREMOTEIP"])
			}
		})
	}
}

func TestSIGHUPReloadsAccess(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "acc")
	writeFile(t, acc, "127.0.0.1\tallow,GEN=1\n")
	d := startTcpd(t, "env", nil, "-access="+acc)
	if s, ok := connectReport(t, "", d.addr()); !ok || s.env["GEN"] != "1" {
		t.Fatalf("before reload: %v %v", ok, s.env["GEN"])
	}
	writeFile(t, acc, "127.0.0.1\tdeny\n127.0.0.2\tallow,GEN=2\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload log line", 5*time.Second, func() bool { return strings.Contains(d.stderr.String(), "reloaded") })
	if _, ok := connectReport(t, "", d.addr()); ok {
		t.Fatal("127.0.0.1 still allowed after reload")
	}
	if s, ok := connectReport(t, "127.0.0.2", d.addr()); !ok || s.env["GEN"] != "2" {
		t.Fatalf("127.0.0.2 after reload: %v %v", ok, s.env["GEN"])
	}
}

func TestMaxPerIP(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "acc")
	writeFile(t, acc, "127.0.0.3\tallow,MAXCPERIP=3\n")
	d := startTcpd(t, "env", nil, "-maxperip=2", "-maxprocs=20", "-access="+acc)
	for i := 0; i < 2; i++ {
		if _, ok := connectReport(t, "", d.addr()); !ok {
			t.Fatalf("connection %d refused", i+1)
		}
	}
	if _, ok := connectReport(t, "", d.addr()); ok {
		t.Fatal("third connection from 127.0.0.1 was served with -maxperip=2")
	}
	waitFor(t, "ALERT line", 3*time.Second, func() bool {
		return strings.Contains(d.stderr.String(), "ALERT: Maximum connection limit reached for ::ffff:127.0.0.1")
	})
	// Another address is unaffected, and MAXCPERIP from the access file
	// overrides the limit for its netblock.
	for i := 0; i < 3; i++ {
		if _, ok := connectReport(t, "127.0.0.3", d.addr()); !ok {
			t.Fatalf("127.0.0.3 connection %d refused (MAXCPERIP=3)", i+1)
		}
	}
	if _, ok := connectReport(t, "127.0.0.3", d.addr()); ok {
		t.Fatal("fourth connection from 127.0.0.3 served despite MAXCPERIP=3")
	}
}

func TestMaxProcs(t *testing.T) {
	d := startTcpd(t, "env", nil, "-maxprocs=2", "-maxperip=10")
	first, ok := connectReport(t, "", d.addr())
	if !ok {
		t.Fatal("refused")
	}
	if _, ok := connectReport(t, "127.0.0.2", d.addr()); !ok {
		t.Fatal("refused")
	}
	// The third is accepted by the kernel but not served while both slots
	// are busy.
	c := dialFrom(t, "127.0.0.4", d.addr())
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("third connection served while maxprocs=2 were busy (n=%d err=%v)", n, err)
	}
	if !strings.Contains(d.stderr.String(), "ALERT: 2 maximum active connections.") {
		t.Errorf("no ALERT line: %s", d.stderr.String())
	}
	first.c.Close() // frees a slot
	s, ok := readReport(t, c)
	if !ok || s.env["TCPREMOTEIP"] != "::ffff:127.0.0.4" {
		t.Fatalf("queued connection not served after a slot freed: %v", s.lines)
	}
}

func TestManyConnectionsFromOneAddressDoNotBlockOthers(t *testing.T) {
	d := startTcpd(t, "env", nil, "-maxperip=4", "-maxprocs=30")
	var conns []net.Conn
	for i := 0; i < 300; i++ {
		c, err := net.DialTimeout("tcp", d.addr(), 2*time.Second)
		if err != nil {
			break // the backlog may fill; that is fine
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	if _, ok := connectReport(t, "127.0.0.5", d.addr()); !ok {
		t.Fatal("other address refused while one address hammered")
	}
	t.Logf("opened %d connections from 127.0.0.1; another address served after %v", len(conns), time.Since(start))
	if d.stderr.String() == "" {
		t.Error("expected ALERT lines")
	}
}

// alive reports whether pid exists and is not a zombie (the container's
// init may not reap re-parented daemons).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestSIGTERMKillsChildren(t *testing.T) {
	d := startTcpd(t, "env", nil, "-maxperip=10")
	var pids []int
	for i := 0; i < 3; i++ {
		s, ok := connectReport(t, "", d.addr())
		if !ok {
			t.Fatal("refused")
		}
		pids = append(pids, s.pid)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if d.err != nil {
			t.Fatalf("couriertcpd exit: %v", d.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("couriertcpd did not exit after SIGTERM")
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("child %d still exists after couriertcpd exited", p)
		}
	}
	if _, err := net.DialTimeout("tcp", d.addr(), time.Second); err == nil {
		t.Error("port still accepting after exit")
	}
}

func TestPidFileStartStopRestart(t *testing.T) {
	dir := t.TempDir()
	pidf := filepath.Join(dir, "tcpd.pid")
	acc := filepath.Join(dir, "acc")
	writeFile(t, acc, "127.0.0.1\tallow,GEN=1\n")
	logf := filepath.Join(dir, "stderr.log")
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	bin := filepath.Join(binDir, "couriertcpd")
	errf, _ := os.Create(filepath.Join(dir, "start.err"))
	defer errf.Close()
	start := exec.Command(bin, "-pid="+pidf, "-address=127.0.0.1", "-access="+acc, "-stderr="+logf,
		strconv.Itoa(port), os.Args[0])
	start.Env = append(os.Environ(), "TCPD_TEST_CHILD=env")
	start.Stderr = errf
	t0 := time.Now()
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(errf.Name())
		t.Fatalf("start: %v %s", err, b)
	}
	b, err := os.ReadFile(pidf)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Logf("daemon pid %d started in %v", pid, time.Since(t0))
	stopped := false
	defer func() {
		if !stopped {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	if pid <= 1 || pid == start.Process.Pid || !alive(pid) {
		t.Fatalf("bad daemon pid %d", pid)
	}
	s, ok := connectReport(t, "", addr)
	if !ok || s.env["GEN"] != "1" {
		t.Fatalf("daemon not serving: %v", s.lines)
	}
	s.c.Close()

	// A second start fails while the first runs.
	again := exec.Command(bin, "-pid="+pidf, "-address=127.0.0.1", strconv.Itoa(freePort(t)), os.Args[0])
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "already running") {
		t.Errorf("second start: %v %s", err, out)
	}

	writeFile(t, acc, "127.0.0.1\tallow,GEN=2\n")
	if out, err := exec.Command(bin, "-pid="+pidf, "-restart").CombinedOutput(); err != nil {
		t.Fatalf("-restart: %v %s", err, out)
	}
	waitFor(t, "reload", 5*time.Second, func() bool {
		b, _ := os.ReadFile(logf)
		return strings.Contains(string(b), "reloaded")
	})
	if s, ok := connectReport(t, "", addr); !ok || s.env["GEN"] != "2" {
		t.Fatalf("after -restart: %v", s.lines)
	} else {
		s.c.Close()
	}

	held, ok := connectReport(t, "", addr) // a child that must die with the daemon
	if !ok {
		t.Fatal("refused")
	}
	if out, err := exec.Command(bin, "-pid="+pidf, "-stop").CombinedOutput(); err != nil {
		t.Fatalf("-stop: %v %s", err, out)
	}
	stopped = true
	if alive(pid) {
		t.Fatal("daemon alive after -stop returned")
	}
	if alive(held.pid) {
		t.Error("child alive after -stop")
	}
	if _, err := os.Stat(pidf); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	// Stopping again is harmless.
	if out, err := exec.Command(bin, "-pid="+pidf, "-stop").CombinedOutput(); err != nil {
		t.Errorf("second -stop: %v %s", err, out)
	}
}

func TestStderrLoggerRestarted(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "log.out")
	logger := filepath.Join(dir, "fakelogger")
	// A logger that records its argument and pid, then copies stdin.
	writeFile(t, logger, "#!/bin/sh\necho \"START $1 $$\" >> "+out+"\nexec cat >> "+out+"\n")
	os.Chmod(logger, 0o755)
	d := startTcpd(t, "stderr", nil, "-stderrlogger="+logger, "-stderrloggername=imapd-test", "-maxperip=10")
	read := func() string { b, _ := os.ReadFile(out); return string(b) }
	hello := func() {
		c := dialFrom(t, "", d.addr())
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "LOGGED\n" {
			t.Fatalf("child: %q %v", line, err)
		}
		c.Close()
	}
	hello()
	waitFor(t, "child stderr in logger", 5*time.Second, func() bool {
		return strings.Contains(read(), "INFO: child says hello")
	})
	first := read()
	if !strings.HasPrefix(first, "START imapd-test ") {
		t.Fatalf("logger not started with the name: %q", first)
	}
	lpid, _ := strconv.Atoi(strings.Fields(strings.SplitN(first, "\n", 2)[0])[2])
	syscall.Kill(lpid, syscall.SIGKILL)
	waitFor(t, "logger restart", 10*time.Second, func() bool { return strings.Count(read(), "START imapd-test") == 2 })
	before := strings.Count(read(), "child says hello")
	hello()
	waitFor(t, "child stderr after restart", 5*time.Second, func() bool {
		return strings.Count(read(), "child says hello") == before+1
	})
	waitFor(t, "restart log line", 5*time.Second, func() bool { return strings.Contains(read(), "restarted") })
}

func TestStderrSocket(t *testing.T) {
	d := startTcpd(t, "stderr", nil, "-stderr=socket")
	c := dialFrom(t, "", d.addr())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	var got []string
	for i := 0; i < 2; i++ {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	if !strings.HasPrefix(got[0], "INFO: child says hello") {
		t.Fatalf("stderr not on the socket: %q", got)
	}
}

func TestUsageErrors(t *testing.T) {
	bin := filepath.Join(binDir, "couriertcpd")
	for _, args := range [][]string{{}, {"143"}, {"-stop"}, {"-maxprocs=0", "143", "/bin/true"}, {"-bogus", "1", "x"}} {
		if err := exec.Command(bin, args...).Run(); err == nil {
			t.Errorf("couriertcpd %v succeeded", args)
		}
	}
	// A port already in use is reported, not ignored.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	out, err := exec.Command(bin, "-address=127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "/bin/true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") {
		t.Errorf("bind conflict: %v %s", err, out)
	}
}

func needProgram(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (Debian package systemd)", name)
		}
		t.Skipf("%s not installed (Debian package systemd)", name)
	}
	return p
}

func TestSystemdSocketActivation(t *testing.T) {
	ssa := needProgram(t, "systemd-socket-activate")
	bin := filepath.Join(binDir, "couriertcpd")
	for _, accept := range []bool{false, true} {
		t.Run(fmt.Sprintf("accept=%v", accept), func(t *testing.T) {
			port := freePort(t)
			addr := "127.0.0.1:" + strconv.Itoa(port)
			args := []string{"-l", addr, "-E", "TCPD_TEST_CHILD=env", "-E", "MARK=sd"}
			if accept {
				args = append(args, "--accept")
			}
			acc := filepath.Join(t.TempDir(), "acc")
			writeFile(t, acc, "127.0.0.2\tdeny\n")
			args = append(args, bin, "-maxperip=10", "-access="+acc, "-denymsg=nope", "9", os.Args[0])
			cmd := exec.Command(ssa, args...)
			stderr := &testenv.SyncBuffer{}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
				}
			}()
			waitFor(t, "socket", 5*time.Second, func() bool {
				return strings.Contains(stderr.String(), "Listening on")
			})
			for i := 0; i < 2; i++ {
				s, ok := connectReport(t, "", addr)
				if !ok {
					t.Fatalf("not served: %s", stderr.String())
				}
				if s.env["MARK"] != "sd" || s.env["TCPLOCALPORT"] != strconv.Itoa(port) ||
					s.env["TCPREMOTEIP"] != "::ffff:127.0.0.1" {
					t.Fatalf("env: %v", s.env)
				}
				for _, k := range []string{"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} {
					if _, ok := s.env[k]; ok {
						t.Errorf("child got %s", k)
					}
				}
				if fds := childFds(t, s.pid); len(fds) != 3 {
					t.Errorf("child has descriptors %v", fds)
				}
				s.c.Close()
			}
			c := dialFrom(t, "127.0.0.2", addr)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if b, _ := io.ReadAll(c); string(b) != "nope\n" {
				t.Fatalf("denied client got %q", b)
			}
		})
	}
}

func TestConnectToExecLatency(t *testing.T) {
	t.Run("go-child", func(t *testing.T) {
		measureLatency(t, startTcpd(t, "greet", nil, "-maxperip=50", "-maxprocs=50"))
	})
	t.Run("bin-echo", func(t *testing.T) {
		measureLatency(t, startTcpdWith(t, nil, []string{"/bin/echo", "HELLO"}, "greet", nil, "-maxperip=50", "-maxprocs=50"))
	})
}

func measureLatency(t *testing.T, d *daemon) {
	const n = 200
	lat := make([]time.Duration, 0, n)
	buf := make([]byte, 6)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		c, err := net.Dial("tcp", d.addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "HELLO\n" {
			t.Fatalf("greeting %q %v", buf, err)
		}
		lat = append(lat, time.Since(t0))
		c.Close()
	}
	slices.Sort(lat)
	t.Logf("connect -> first byte from exec'd child, %d connections: median %v, p90 %v, max %v",
		n, lat[n/2], lat[n*9/10], lat[n-1])
	if lat[n/2] > time.Second {
		t.Fatalf("median latency %v", lat[n/2])
	}
}

func TestCourierlogger(t *testing.T) {
	ns := newNotifySocket(t) // any unixgram socket will do as a syslog socket
	cmd := exec.Command(filepath.Join(binDir, "courierlogger"), "-socket="+ns.path, "-facility=mail", "imapd")
	cmd.Stdin = strings.NewReader("INFO: LOGIN, user=alice, ip=[::ffff:127.0.0.1]\nERR: alice: chdir\nplain line\nDEBUG: Connection\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	want := []string{"<22>", "imapd[", "LOGIN, user=alice, ip=[::ffff:127.0.0.1]"}
	waitFor(t, "4 messages", 3*time.Second, func() bool {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		return len(ns.msgs) == 4
	})
	ns.mu.Lock()
	msgs := slices.Clone(ns.msgs)
	ns.mu.Unlock()
	for _, w := range want {
		if !strings.Contains(msgs[0], w) {
			t.Errorf("message %q lacks %q", msgs[0], w)
		}
	}
	if strings.Contains(msgs[0], "INFO:") {
		t.Errorf("prefix not stripped: %q", msgs[0])
	}
	if !strings.HasPrefix(msgs[1], "<19>") || !strings.HasPrefix(msgs[2], "<19>") || !strings.HasPrefix(msgs[3], "<23>") {
		t.Errorf("levels wrong: %q", msgs)
	}
}

func TestCourierloggerStartStop(t *testing.T) {
	dir := t.TempDir()
	pidf := filepath.Join(dir, "logger.pid")
	ns := newNotifySocket(t)
	bin := filepath.Join(binDir, "courierlogger")
	// The supervised program: a shell loop that logs and sleeps.
	out, err := exec.Command(bin, "-pid="+pidf, "-socket="+ns.path, "-name=svc", "-start",
		"/bin/sh", "-c", "echo 'NOTICE: started' >&2; trap 'echo \"INFO: hup\" >&2' HUP; while :; do sleep 0.1; done").CombinedOutput()
	if err != nil {
		t.Fatalf("start: %v %s", err, out)
	}
	waitFor(t, "started line", 5*time.Second, func() bool {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		return len(ns.msgs) > 0 && strings.Contains(ns.msgs[0], "<21>") && strings.Contains(ns.msgs[0], "svc[")
	})
	b, _ := os.ReadFile(pidf)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if !alive(pid) {
		t.Fatalf("logger pid %d not alive", pid)
	}
	if out, err := exec.Command(bin, "-pid="+pidf, "-restart").CombinedOutput(); err != nil {
		t.Fatalf("restart: %v %s", err, out)
	}
	waitFor(t, "hup line", 5*time.Second, func() bool {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		return strings.Contains(strings.Join(ns.msgs, "|"), "hup")
	})
	if out, err := exec.Command(bin, "-pid="+pidf, "-stop").CombinedOutput(); err != nil {
		t.Fatalf("stop: %v %s", err, out)
	}
	if alive(pid) {
		t.Fatal("logger alive after -stop")
	}
}

func TestIPv6Peer(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	dir := t.TempDir()
	acc := filepath.Join(dir, "acc")
	// Courier's IPv6 access-file form: colon-prefixed groups.
	writeFile(t, acc, ":0000:0000:0000:0000:0000:0000:0000\tallow,SIX=prefix\n")
	d := startTcpd(t, "env", nil, "-address=::1", "-access="+acc)
	s, ok := connectReport(t, "", "[::1]:"+strconv.Itoa(d.port))
	if !ok {
		t.Fatal("refused")
	}
	if s.env["TCPREMOTEIP"] != "::1" || s.env["TCPLOCALIP"] != "::1" || s.env["SIX"] != "prefix" {
		t.Fatalf("env: REMOTE=%q LOCAL=%q SIX=%q", s.env["TCPREMOTEIP"], s.env["TCPLOCALIP"], s.env["SIX"])
	}
}

func TestAllAddressesDualStack(t *testing.T) {
	// -address=0: one socket for IPv4 and IPv6; IPv4 peers appear mapped.
	d := startTcpd(t, "env", nil, "-address=0")
	s, ok := connectReport(t, "", d.addr())
	if !ok || s.env["TCPREMOTEIP"] != "::ffff:127.0.0.1" || s.env["TCPLOCALIP"] != "::ffff:127.0.0.1" {
		t.Fatalf("served=%v env=%v", ok, s.env)
	}
}

func TestMaxPerC(t *testing.T) {
	d := startTcpd(t, "env", nil, "-maxperc=1", "-maxperip=5")
	if _, ok := connectReport(t, "127.0.0.1", d.addr()); !ok {
		t.Fatal("first refused")
	}
	if _, ok := connectReport(t, "127.0.0.2", d.addr()); ok {
		t.Fatal("second connection from the same /24 served with -maxperc=1")
	}
	if _, ok := connectReport(t, "127.0.1.1", d.addr()); !ok {
		t.Fatal("other /24 refused")
	}
}

func TestUserGroupDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	prog := []string{"/bin/sh", "-c", `echo "ID $(id -u) $(id -g) $(id -G)"`}
	d := startTcpdWith(t, nil, prog, "env", nil, "-user=nobody", "-group=nogroup")
	c := dialFrom(t, "", d.addr())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ID 65534 65534 65534\n" {
		t.Fatalf("child identity %q %v", line, err)
	}
	// The daemon itself runs as nobody too, after binding.
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if !strings.Contains(string(b), "Uid:\t65534\t65534\t65534") {
		t.Fatalf("daemon not dropped: %s", b)
	}
}

func TestWithRealCourierlogger(t *testing.T) {
	if _, err := os.Stat("/dev/log"); err == nil {
		t.Skip("/dev/log exists: lines would go to the system log")
	}
	// Without syslog courierlogger writes to couriertcpd's original stderr.
	d := startTcpd(t, "stderr", nil, "-stderrlogger="+filepath.Join(binDir, "courierlogger"),
		"-stderrloggername=imapd")
	c := dialFrom(t, "", d.addr())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "LOGGED\n" {
		t.Fatalf("%q %v", l, err)
	}
	waitFor(t, "logged line", 5*time.Second, func() bool {
		return strings.Contains(d.stderr.String(), "imapd: info: child says hello")
	})
}

func TestAcceptEMFILEBacksOff(t *testing.T) {
	d := startTcpd(t, "env", nil)
	pid := d.cmd.Process.Pid
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The limit applies to descriptor numbers: set it to the lowest free
	// one, so that accept(2) fails with EMFILE.
	used := map[int]bool{}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		used[n] = true
	}
	low := 0
	for used[low] {
		low++
	}
	lim := unix.Rlimit{Cur: uint64(low), Max: old.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	c := dialFrom(t, "", d.addr())
	waitFor(t, "accept error log", 5*time.Second, func() bool {
		s := d.stderr.String()
		return strings.Contains(s, "accept:") && strings.Contains(s, "too many open files")
	})
	time.Sleep(300 * time.Millisecond)
	if n := strings.Count(d.stderr.String(), "accept:"); n > 2 {
		t.Errorf("accept error logged %d times in 300ms: not backing off", n)
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	// The waiting client is served once descriptors are available again.
	if s, ok := readReport(t, c); !ok || s.env["TCPREMOTEIP"] != "::ffff:127.0.0.1" {
		t.Fatalf("not served after recovery: %v", s.lines)
	}
}

// threadSlacks returns the timer slack of each thread of process pid.
func threadSlacks(t *testing.T, pid int) map[string]int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range tasks {
		b, err := os.ReadFile("/proc/" + e.Name() + "/timerslack_ns")
		if err != nil {
			continue // the thread ended, or we may not read it
		}
		out[e.Name()], _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	return out
}

// -timerslack (ours): the children start with the given timer slack,
// 1 ms by default, so that their Go runtime's monitor thread naps at that
// granularity instead of every 20 µs (DESIGN §7); 0 leaves them
// couriertcpd's own. As root couriertcpd's threads take it too.
func TestTimerSlack(t *testing.T) {
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts []string
		want int
	}{
		{nil, 1000000},
		{[]string{"-timerslack=250us"}, 250000},
		{[]string{"-timerslack=2000000"}, 2000000},
		{[]string{"-timerslack=0"}, own},
		{[]string{"-prestart=1"}, 1000000},
	} {
		t.Run(strings.Join(tc.opts, " "), func(t *testing.T) {
			d := startTcpd(t, "env", nil, tc.opts...)
			s, ok := connectReport(t, "", d.addr())
			if !ok {
				t.Fatal("refused")
			}
			if s.slack != tc.want {
				t.Errorf("child's timer slack %d ns, want %d", s.slack, tc.want)
			}
			if os.Geteuid() != 0 || tc.want == own {
				return
			}
			for tid, v := range threadSlacks(t, d.cmd.Process.Pid) {
				if v != tc.want {
					t.Errorf("couriertcpd thread %s has timer slack %d ns, want %d", tid, v, tc.want)
				}
			}
		})
	}
	for _, bad := range []string{"-timerslack=fast", "-timerslack=-1ms", "-timerslack=2s"} {
		out, err := exec.Command(filepath.Join(binDir, "couriertcpd"), bad, "1", "/bin/true").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "invalid -timerslack") {
			t.Errorf("%s: %v %q, want an invalid -timerslack error", bad, err, out)
		}
	}
}
