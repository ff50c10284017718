package tcpd

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitCmd answers exactly as cmd.Wait does, for every way a child ends.
func TestWaitCmdLikeWait(t *testing.T) {
	tests := []struct {
		name string
		sh   string
		kill syscall.Signal // sent after start, when set
	}{
		{"exit 0", "exit 0", 0},
		{"exit 3", "exit 3", 0},
		{"exit 255", "exit 255", 0},
		{"killed", "sleep 5", syscall.SIGKILL},
		{"terminated", "sleep 5", syscall.SIGTERM},
		{"quit", "ulimit -c 0; kill -QUIT $$; sleep 5", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func(wait func(*exec.Cmd) error) (string, int) {
				cmd := exec.Command("/bin/sh", "-c", tc.sh)
				cmd.Dir = t.TempDir() // nothing a child writes lands in the tree
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if tc.kill != 0 {
					cmd.Process.Signal(tc.kill)
				}
				err := wait(cmd)
				if err == nil {
					return "<nil>", 0
				}
				code := -2
				if e, ok := err.(interface{ ExitCode() int }); ok {
					code = e.ExitCode()
				}
				return err.Error(), code
			}
			wantText, wantCode := run((*exec.Cmd).Wait)
			gotText, gotCode := run(waitCmd)
			if gotText != wantText || gotCode != wantCode {
				t.Errorf("waitCmd: %q code %d; cmd.Wait: %q code %d", gotText, gotCode, wantText, wantCode)
			}
		})
	}
}

// A child whose output goes to a buffer needs cmd.Wait's copying
// goroutine: waitCmd must fall back and still collect the output.
func TestWaitCmdFallsBackForPipes(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "echo hello")
	cmd.Stdout = &out
	if plainFiles(cmd) {
		t.Fatal("a bytes.Buffer counted as a plain file")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitCmd(cmd); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" {
		t.Fatalf("output %q", out.String())
	}
}

// The point of waitCmd: children being waited for hold no OS thread each.
func TestWaitCmdHoldsNoThread(t *testing.T) {
	const n = 40
	before := threads(t)
	var wg sync.WaitGroup
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = exec.Command("/bin/sleep", "10")
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(c *exec.Cmd) { defer wg.Done(); waitCmd(c) }(cmds[i])
	}
	time.Sleep(300 * time.Millisecond)
	during := threads(t)
	for _, c := range cmds {
		c.Process.Kill()
	}
	wg.Wait()
	if during-before >= n/2 {
		t.Errorf("%d threads while waiting for %d children (%d before): a thread per wait", during, n, before)
	}
}

func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Skip("no Threads line")
	return 0
}

// No pidfd (here: no such process) means "not waited, not reaped", so
// that waitCmd can fall back to cmd.Wait.
func TestPollWaitNoPidfd(t *testing.T) {
	if err, ok := pollWait(1 << 30); ok {
		t.Fatalf("pollWait of a missing pid: ok, %v", err)
	}
}

// A process that is not our child cannot be reaped by us: the answer is
// waitid's ECHILD, as cmd.Wait would give, not a hang.
func TestPollWaitNotOurChild(t *testing.T) {
	err, ok := pollWait(1) // init: never our child
	if !ok || err == nil || !strings.Contains(err.Error(), "waitid") {
		t.Fatalf("pollWait(1) = %v, %v; want a waitid error", err, ok)
	}
}

// The siginfo a reaped child leaves, decoded and worded as
// os.ProcessState words it.
func TestExitFromSiginfo(t *testing.T) {
	tests := []struct {
		name         string
		code, status int32
		want         string // "" for nil
		exit         int
	}{
		{"exit 0", cldExited, 0, "", 0},
		{"exit 7", cldExited, 7, "exit status 7", 7},
		{"killed", cldKilled, int32(syscall.SIGKILL), "signal: killed", -1},
		{"core dumped", cldDumped, int32(syscall.SIGQUIT), "signal: quit (core dumped)", -1},
		{"unknown code", 99, 0, "exit status unknown", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var info unix.Siginfo
			c := childInfo(&info)
			c.Signo, c.Code, c.Pid, c.Status = int32(syscall.SIGCHLD), tc.code, 1234, tc.status
			if childPid(&info) != 1234 {
				t.Fatalf("pid %d", childPid(&info))
			}
			err := exitFromSiginfo(&info)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || err.(*exitError).ExitCode() != tc.exit {
				t.Fatalf("got %v, want %q (exit %d)", err, tc.want, tc.exit)
			}
		})
	}
}
