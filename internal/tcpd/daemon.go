package tcpd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DaemonEnv marks the re-executed background copy of couriertcpd; its value
// is the descriptor number of the start-up report pipe. Go cannot fork, so
// `-pid=file` starts a new copy of itself in a new session instead.
const DaemonEnv = "COURIERTCPD_DAEMON_FD"

// Daemonize starts the background copy and waits until it reports that it
// listens (exit 0) or why it could not (the message, exit 1).
func Daemonize(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find own executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        append([]string{os.Args[0]}, args...),
		Env:         append(ChildBaseEnv(os.Environ()), DaemonEnv+"=3"),
		Stdin:       devnull,
		Stdout:      devnull,
		Stderr:      daemonStderr(devnull),
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting background copy: %w", err)
	}
	w.Close()
	msg, _ := io.ReadAll(io.LimitReader(r, 4096))
	r.Close()
	cmd.Process.Release()
	if s := strings.TrimSpace(string(msg)); s != "OK" {
		if s == "" {
			s = "background copy exited during start-up"
		}
		return errors.New(s)
	}
	return nil
}

// Report is the background copy's end of the start-up pipe.
type Report struct{ f *os.File }

// DaemonReport returns the start-up report pipe if this process is the
// background copy, and removes the marker from the environment.
func DaemonReport() *Report {
	v := os.Getenv(DaemonEnv)
	if v == "" {
		return nil
	}
	os.Unsetenv(DaemonEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	unix.CloseOnExec(fd)
	return &Report{os.NewFile(uintptr(fd), "startup-report")}
}

// Done reports success (err == nil) or failure, once.
func (r *Report) Done(err error) {
	if r == nil || r.f == nil {
		return
	}
	if err == nil {
		io.WriteString(r.f, "OK\n")
	} else {
		io.WriteString(r.f, err.Error()+"\n")
	}
	r.f.Close()
	r.f = nil
}

// PidLock is the held lock file and the pid file it guards. The lock file
// (`pidfile.lock`, as Courier's liblock) stays locked while the daemon runs,
// so a second start fails and -stop can tell when the daemon is gone.
type PidLock struct {
	pidFile string
	lock    *os.File
}

// AcquirePid locks pidFile.lock and writes our pid into pidFile.
func AcquirePid(pidFile string) (*PidLock, error) {
	lf, err := os.OpenFile(pidFile+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%s is locked: another couriertcpd is already running", pidFile+".lock")
	}
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		lf.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, pidFile); err != nil {
		lf.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	return &PidLock{pidFile: pidFile, lock: lf}, nil
}

// Release removes the pid file and unlocks (at exit).
func (p *PidLock) Release() error {
	if p == nil {
		return nil
	}
	err := os.Remove(p.pidFile)
	p.lock.Close()
	return err
}

func readPid(pidFile string) (int, error) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s: bad pid %q", pidFile, strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// lockFree reports whether nobody holds pidFile.lock.
func lockFree(pidFile string) bool {
	lf, err := os.OpenFile(pidFile+".lock", os.O_RDWR, 0)
	if err != nil {
		return true
	}
	defer lf.Close()
	if unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false
	}
	unix.Flock(int(lf.Fd()), unix.LOCK_UN)
	return true
}

// Signal sends sig to the daemon named by pidFile. For SIGTERM it waits up
// to timeout until the daemon has exited (its lock is free or the pid is
// gone). A missing daemon is not an error for -stop.
func Signal(pidFile string, sig syscall.Signal, timeout time.Duration) error {
	pid, err := readPid(pidFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && sig == syscall.SIGTERM {
			return nil
		}
		return err
	}
	if lockFree(pidFile) {
		// Stale pid file: do not signal whatever now has that pid.
		if sig == syscall.SIGTERM {
			return nil
		}
		return fmt.Errorf("couriertcpd (pid file %s) is not running", pidFile)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) && sig == syscall.SIGTERM {
			return nil
		}
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	if sig != syscall.SIGTERM {
		return nil
	}
	// Gone means: lock released (the daemon is at its last step) and the
	// process no longer runs (a zombie counts as gone).
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if lockFree(pidFile) && !running(pid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("couriertcpd pid %d still running after %v", pid, timeout)
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// daemonStderr is what the background copy starts with as stderr: ours if
// it is a file or a terminal (so start-up errors and log lines are seen,
// as Courier keeps stderr), else /dev/null, because holding on to a pipe
// would hang whoever waits for our output to end ($(...), systemd
// Type=forking). -stderr and -stderrlogger replace it later.
func daemonStderr(devnull *os.File) *os.File {
	st, err := os.Stderr.Stat()
	if err != nil {
		return devnull
	}
	if m := st.Mode(); m.IsRegular() || m&os.ModeCharDevice != 0 {
		return os.Stderr
	}
	return devnull
}
