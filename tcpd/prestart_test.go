package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
