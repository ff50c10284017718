package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/tcpd"
)

// spares lists the pids of couriertcpd's children that are waiting for a
// connection (their environment still names the hand-off descriptor).
func spares(t *testing.T, tcpdPid int) []int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(tcpdPid) {
			continue
		}
		// /proc/PID/environ is the start-up environment, so a served
		// child still shows the variable: a spare is one whose fd 0 is
		// not a socket yet.
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		fd0, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", pid))
		if strings.Contains(string(env), "COURIERTCPD_HANDOFF_FD=3") && !strings.HasPrefix(fd0, "socket:") {
			out = append(out, pid)
		}
	}
	return out
}

// A pre-started child gets the connection, the same variables and the same
// descriptors as a fork/exec'd one, and was running before the client came.
func TestPrestartHandOff(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "imapaccess")
	writeFile(t, acc, "127.0.0.1\tallow,FOO=bar,QUOTED=\"a,b\",EMPTY\n")
	d := startTcpd(t, "env", []string{"KEEPME=1"}, "-prestart=2", "-access="+acc, "-maxperip=10")
	var before []int
	waitFor(t, "two spares", 5*time.Second, func() bool { before = spares(t, d.cmd.Process.Pid); return len(before) == 2 })
	c := dialFrom(t, "", d.addr())
	s, ok := readReport(t, c)
	if !ok {
		t.Fatalf("refused; stderr: %s", d.stderr.String())
	}
	if s.pid != before[0] && s.pid != before[1] {
		t.Errorf("connection served by pid %d, not by a spare %v", s.pid, before)
	}
	lport := strconv.Itoa(c.LocalAddr().(*net.TCPAddr).Port)
	for k, v := range map[string]string{
		"TCPREMOTEIP": "::ffff:127.0.0.1", "TCPREMOTEPORT": lport, "TCPLOCALIP": "::ffff:127.0.0.1",
		"TCPLOCALPORT": strconv.Itoa(d.port), "FOO": "bar", "QUOTED": "a,b", "EMPTY": "", "KEEPME": "1",
	} {
		if got, ok := s.env[k]; !ok || got != v {
			t.Errorf("child env %s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := s.env["COURIERTCPD_HANDOFF_FD"]; ok {
		t.Error("hand-off variable left in the child's environment")
	}
	if !strings.Contains(strings.Join(s.lines, "\n"), "NONBLOCK 0") {
		t.Errorf("child socket is non-blocking: %v", s.lines)
	}
	fds := childFds(t, s.pid)
	if len(fds) != 3 || !strings.HasPrefix(fds[0], "0->socket:") || !strings.HasPrefix(fds[1], "1->socket:") {
		t.Fatalf("child descriptors %v, want the socket on 0 and 1 and stderr only", fds)
	}
	// The pool is refilled, and many connections in a row all work.
	waitFor(t, "pool refilled", 5*time.Second, func() bool { return len(spares(t, d.cmd.Process.Pid)) == 2 })
	for i := 0; i < 8; i++ {
		if _, ok := connectReport(t, "", d.addr()); !ok {
			t.Fatalf("connection %d refused", i)
		}
	}
}

// Spares take no connection slot: with -maxprocs=2, two connections are
// served and a third waits in the backlog until one of them ends.
func TestPrestartLimits(t *testing.T) {
	d := startTcpd(t, "env", nil, "-prestart=3", "-maxprocs=2", "-maxperip=5")
	waitFor(t, "spares", 5*time.Second, func() bool { return len(spares(t, d.cmd.Process.Pid)) == 3 })
	first := dialFrom(t, "", d.addr())
	if _, ok := readReport(t, first); !ok {
		t.Fatal("first connection refused")
	}
	if _, ok := connectReport(t, "", d.addr()); !ok {
		t.Fatal("second connection refused")
	}
	third := dialFrom(t, "", d.addr())
	third.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	if n, _ := third.Read(make([]byte, 1)); n > 0 {
		t.Fatal("third connection served beyond -maxprocs=2")
	}
	first.Close()
	if _, ok := readReport(t, third); !ok {
		t.Fatal("third connection not served after the first ended")
	}
}

// SIGTERM ends the spares with everything else.
func TestPrestartSIGTERM(t *testing.T) {
	d := startTcpd(t, "env", nil, "-prestart=2")
	var sp []int
	waitFor(t, "spares", 5*time.Second, func() bool { sp = spares(t, d.cmd.Process.Pid); return len(sp) == 2 })
	s, ok := connectReport(t, "", d.addr())
	if !ok {
		t.Fatal("refused")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("couriertcpd did not exit after SIGTERM")
	}
	for _, p := range append(sp, s.pid) {
		if alive(p) {
			t.Errorf("process %d still exists after couriertcpd exited", p)
		}
	}
}

// A program that dies before its connection is not restarted in a tight
// loop, and connections are still served (by fork/exec).
func TestPrestartBrokenProgramBacksOff(t *testing.T) {
	d := startTcpd(t, "diespare", nil, "-prestart=2")
	time.Sleep(1500 * time.Millisecond)
	if n := strings.Count(d.stderr.String(), "exited before a connection"); n < 1 || n > 8 {
		t.Errorf("%d spare deaths in 1.5 s; want some, with back-off", n)
	}
	if _, ok := connectReport(t, "", d.addr()); !ok {
		t.Fatal("connection refused while spares fail")
	}
}

// Only our login stages are pre-started unless -prestart says so.
func TestPrestartDefaultOff(t *testing.T) {
	d := startTcpd(t, "env", nil)
	time.Sleep(300 * time.Millisecond)
	if n := len(spares(t, d.cmd.Process.Pid)); n != 0 {
		t.Fatalf("%d spares for a program that is not a login stage", n)
	}
}

// reuseConn connects, reads the stage's "STAGE <pid>" line and sends cmd.
func reuseConn(t *testing.T, addr, cmd string) (net.Conn, *bufio.Reader, int) {
	t.Helper()
	c := dialFrom(t, "", addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	l, err := r.ReadString('\n')
	var pid int
	if _, serr := fmt.Sscanf(l, "STAGE %d", &pid); err != nil || serr != nil {
		t.Fatalf("greeting %q, %v", l, err)
	}
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		t.Fatal(err)
	}
	return c, r, pid
}

// sessionBin copies the test binary where an unprivileged account can
// execute it (go test's build directory is private to root).
func sessionBin(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tcpdsess")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "session")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A reusable spare serves up to -prestartuses connections one after the
// other, and retiring a used-up one is not logged as a failure.
func TestPrestartReuse(t *testing.T) {
	d := startTcpd(t, "reuse", nil, "-prestart=1", "-prestartuses=3")
	waitFor(t, "a spare", 5*time.Second, func() bool { return len(spares(t, d.cmd.Process.Pid)) == 1 })
	served := map[int]int{}
	for i := 0; i < 9; i++ {
		c, r, stage := reuseConn(t, d.addr(), "DONE")
		if _, err := r.ReadString('\n'); err == nil {
			t.Fatal("connection not closed after DONE")
		}
		c.Close()
		served[stage]++
		// Let the stage get back to the pool before the next client.
		time.Sleep(50 * time.Millisecond)
	}
	reused := false
	for pid, n := range served {
		if n > 3 {
			t.Errorf("stage %d served %d connections, -prestartuses=3", pid, n)
		}
		if n > 1 {
			reused = true
		}
		if n == 3 {
			waitFor(t, "a used-up stage to exit", 5*time.Second, func() bool { return !alive(pid) })
		}
	}
	if !reused {
		t.Errorf("no stage served two connections: %v", served)
	}
	if strings.Contains(d.stderr.String(), "exited before a connection") {
		t.Errorf("retiring a used-up stage was logged as a failure:\n%s", d.stderr.String())
	}
}

// A session a reusable spare asks for is couriertcpd's own child, started
// as the account (uid, gid, no supplementary groups, in its home) on the
// client socket in blocking mode with nothing else open, and it holds the
// connection's -maxperip slot until it ends.
func TestPrestartReuseSpawn(t *testing.T) {
	bin := sessionBin(t)
	d := startTcpd(t, "reuse", []string{"TCPD_TEST_SESSION_BIN=" + bin}, "-prestart=1", "-maxperip=1")
	waitFor(t, "a spare", 5*time.Second, func() bool { return len(spares(t, d.cmd.Process.Pid)) == 1 })
	c2, r2, stage := reuseConn(t, d.addr(), "SPAWN 65534 65534 /")
	l, err := r2.ReadString('\n')
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	var pid, ppid, uid, gid, groups, fds, nonblock, slack int
	var cwd string
	if _, err := fmt.Sscanf(l, "SESSION pid=%d ppid=%d uid=%d gid=%d groups=%d cwd=%s fds=%d nonblock=%d slack=%d",
		&pid, &ppid, &uid, &gid, &groups, &cwd, &fds, &nonblock, &slack); err != nil {
		t.Fatalf("session report %q: %v", l, err)
	}
	if ppid != d.cmd.Process.Pid || pid == stage {
		t.Errorf("session pid %d ppid %d; want a new child of couriertcpd (%d)", pid, ppid, d.cmd.Process.Pid)
	}
	if uid != 65534 || gid != 65534 || groups != 0 || cwd != "/" {
		t.Errorf("session runs as uid %d gid %d with %d groups in %s; want 65534/65534, none, /", uid, gid, groups, cwd)
	}
	if fds != 3 || nonblock != 0 {
		t.Errorf("session has %d descriptors (want 0, 1 and 2), nonblock %d", fds, nonblock)
	}
	if slack != int(tcpd.DefaultTimerSlack.Nanoseconds()) {
		t.Errorf("session's timer slack %d ns, want -timerslack's default %v", slack, tcpd.DefaultTimerSlack)
	}
	// The session holds the one -maxperip slot: a second client is refused.
	if c, err := net.DialTimeout("tcp", d.addr(), 3*time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, _ := c.Read(make([]byte, 64)); n > 0 {
			t.Error("a second connection was served while the session held the only -maxperip slot")
		}
		c.Close()
	}
	// A refused spawn (uid 0) is reported to the stage, which still has
	// the client; the connection is then served normally.
	c2.Close()
	waitFor(t, "the session to end", 5*time.Second, func() bool { return !alive(pid) })
	var c3 net.Conn
	var r3 *bufio.Reader
	waitFor(t, "the slot to be free", 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", d.addr(), time.Second)
		if err != nil {
			return false
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		r := bufio.NewReader(c)
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "STAGE ") {
			c.Close()
			return false
		}
		c3, r3 = c, r
		return true
	})
	defer c3.Close()
	c3.SetDeadline(time.Now().Add(5 * time.Second))
	c3.Write([]byte("SPAWN 0 0 /\n"))
	if l, _ := r3.ReadString('\n'); !strings.HasPrefix(l, "SPAWNERR ") || !strings.Contains(l, "uid 0") {
		t.Errorf("spawn as uid 0: %q, want SPAWNERR ... uid 0", l)
	}
}

// A reusable spare that execs its session in place keeps the connection:
// its process stands for it (same pid), and SIGTERM ends it.
func TestPrestartReuseExecInPlace(t *testing.T) {
	d := startTcpd(t, "reuse", nil, "-prestart=1")
	waitFor(t, "a spare", 5*time.Second, func() bool { return len(spares(t, d.cmd.Process.Pid)) == 1 })
	_, r, stage := reuseConn(t, d.addr(), "EXEC")
	l, err := r.ReadString('\n')
	var pid, ppid int
	if _, serr := fmt.Sscanf(l, "SESSION pid=%d ppid=%d", &pid, &ppid); err != nil || serr != nil {
		t.Fatalf("session report %q, %v", l, err)
	}
	if pid != stage || ppid != d.cmd.Process.Pid {
		t.Errorf("in-place session pid %d ppid %d; want the stage %d, child of %d", pid, ppid, stage, d.cmd.Process.Pid)
	}
	waitFor(t, "a new spare", 5*time.Second, func() bool { return len(spares(t, d.cmd.Process.Pid)) == 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("couriertcpd did not exit after SIGTERM")
	}
	if alive(pid) {
		t.Errorf("session %d still exists after couriertcpd exited", pid)
	}
}
