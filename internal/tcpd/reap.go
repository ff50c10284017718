package tcpd

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// waitCmd waits for a started command's process to end and returns what
// cmd.Wait would: nil for exit status 0, an error with ExitCode() for any
// other end.
//
// Why not cmd.Wait: os.Process.Wait blocks an OS thread in waitid(2) for
// the child's whole life, so couriertcpd held one thread per connection
// and per pre-started stage, and every such wait made the runtime's
// sysmon take the P back from the blocked thread and poll at its fastest
// rate (20 µs) for the next millisecond: about a third of couriertcpd's
// CPU per login (perf, DESIGN.md §7). Here the wait goes through the
// netpoller: a pidfd (pidfd_open(2) with PIDFD_NONBLOCK, Linux 5.10)
// becomes readable when the child ends, and waitid(P_PIDFD, WNOHANG) then
// reaps it. No thread is held while the child runs.
//
// It falls back to cmd.Wait when the child's standard files are not all
// *os.File (cmd.Wait must then also wait for its copying goroutines) or
// when no pollable pidfd can be had (old kernel, seccomp); the child is
// never reaped twice: the fallback is taken only before any waitid
// succeeded.
func waitCmd(cmd *exec.Cmd) error {
	if !plainFiles(cmd) {
		return cmd.Wait()
	}
	err, ok := pollWait(cmd.Process.Pid)
	if !ok {
		return cmd.Wait()
	}
	// The process is reaped; drop os.Process's own pidfd now rather than
	// at garbage collection.
	cmd.Process.Release()
	return err
}

// plainFiles reports whether cmd.Wait would only wait for the process:
// every standard file is nil or an *os.File, so Start made no copying
// goroutine and no pipe to close after the wait.
func plainFiles(cmd *exec.Cmd) bool {
	for _, x := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		switch x.(type) {
		case nil, *os.File:
		default:
			return false
		}
	}
	return true
}

// pollWait reaps child pid through a pidfd registered with the netpoller.
// ok is false when it could not wait that way and did not reap the child.
func pollWait(pid int) (exit error, ok bool) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, false
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: os registers it with the poller
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	var (
		info    unix.Siginfo
		reaped  bool
		waitErr error
	)
	err = rc.Read(func(fd uintptr) bool {
		info = unix.Siginfo{}
		switch err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG, nil); {
		case err == nil:
			reaped = childPid(&info) != 0 // 0: still running (WNOHANG)
			return reaped
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return false
		default:
			waitErr = err
			return true
		}
	})
	switch {
	case reaped:
		return exitFromSiginfo(&info), true
	case waitErr != nil:
		// waitid refused (ECHILD: someone else reaped it); what
		// cmd.Wait would have said.
		return os.NewSyscallError("waitid", waitErr), true
	default:
		// Not pollable (err != nil): nothing was reaped.
		return nil, false
	}
}

// siginfoChild is the SIGCHLD layout of siginfo_t that waitid fills in
// (Linux, 64-bit: three ints, padding, then pid, uid and status).
type siginfoChild struct {
	Signo  int32
	Errno  int32
	Code   int32
	_      int32
	Pid    int32
	UID    uint32
	Status int32
}

func childInfo(info *unix.Siginfo) *siginfoChild {
	return (*siginfoChild)(unsafe.Pointer(info))
}

func childPid(info *unix.Siginfo) int { return int(childInfo(info).Pid) }

// si_code values for SIGCHLD (waitid(2)).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// exitFromSiginfo turns a reaped child's siginfo into cmd.Wait's answer.
func exitFromSiginfo(info *unix.Siginfo) error {
	c := childInfo(info)
	switch c.Code {
	case cldExited:
		if c.Status == 0 {
			return nil
		}
		return &exitError{code: int(c.Status)}
	case cldKilled, cldDumped:
		return &exitError{code: -1, sig: syscall.Signal(c.Status), core: c.Code == cldDumped}
	}
	return &exitError{code: -1}
}

// exitError is a child's unsuccessful end, worded as os.ProcessState
// words it ("exit status 1", "signal: killed").
type exitError struct {
	code int // -1 when killed by a signal
	sig  syscall.Signal
	core bool
}

func (e *exitError) ExitCode() int { return e.code }

func (e *exitError) Error() string {
	if e.code >= 0 {
		return "exit status " + strconv.Itoa(e.code)
	}
	if e.sig == 0 {
		return "exit status unknown"
	}
	s := "signal: " + e.sig.String()
	if e.core {
		s += " (core dumped)"
	}
	return s
}
