package tcpd

// Timer slack for the children (ours: -timerslack, default 1 ms).
//
// Every Go program runs a monitor thread (sysmon) that, while any of the
// program's goroutines is running or in a system call, sleeps 20 µs at a
// time (usleep) to check for goroutines to preempt and processors to take
// back from system calls. A session stage spends its short life almost all
// running (runtime start-up, then the login's work), so its monitor wakes
// dozens of times per login; the login stage's monitor does the same at
// every burst of work. Each of those wake-ups is a timer interrupt and two
// context switches, on this kind of virtual machine several microseconds
// each, and together they were about a sixth of the CPU of a whole login
// (DESIGN §7).
//
// The runtime has no setting for that interval, but the kernel has one for
// how late a sleeping thread's timer may fire: the timer slack, prctl(2)
// PR_SET_TIMERSLACK, 50 µs by default. A new thread or process takes the
// value of the thread that created it, and exec keeps it. So couriertcpd
// starts each child from an OS thread whose slack is -timerslack; the
// child's main thread, and every thread its runtime then creates (the
// monitor first), run with that slack. The monitor's 20 µs naps become up
// to a millisecond, which is what the runtime itself settles into after a
// millisecond of polling; nothing in our stages needs a finer timer: Go's
// own timers wait in epoll with millisecond resolution anyway, and our
// shortest waits (the maildir lock's back-off) start at 1 ms.
//
// couriertcpd takes the same slack itself: its monitor thread wakes with
// every connection's burst of work as well. As root it sets it on each of
// its threads (through /proc/<tid>/timerslack_ns, which needs CAP_SYS_NICE
// for any thread but the caller's); threads created later take it from
// their creator. Without that privilege the spawning thread gets the value
// just for each fork (startChild).

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTimerSlack is the children's timer slack when -timerslack is not
// given.
const DefaultTimerSlack = time.Millisecond

// setOwnTimerSlack gives this process's threads the timer slack d, as far
// as it can: the calling thread always, the others when we may (root). Any
// failure only costs speed, so it is not reported.
func setOwnTimerSlack(d time.Duration) {
	if d <= 0 {
		return
	}
	ns := strconv.FormatInt(d.Nanoseconds(), 10)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self := strconv.Itoa(unix.Gettid())
	if unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(d.Nanoseconds()), 0, 0, 0) != nil {
		return
	}
	// Twice: a thread created during the first pass by one not yet
	// changed took the old value.
	for pass := 0; pass < 2; pass++ {
		tids, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		for _, t := range tids {
			if t.Name() == self {
				continue
			}
			// /proc/<tid> reaches a thread of ours; the task
			// directories have no timerslack_ns of their own.
			f, err := os.OpenFile("/proc/"+t.Name()+"/timerslack_ns", os.O_WRONLY, 0)
			if errors.Is(err, fs.ErrNotExist) {
				continue // the thread ended meanwhile
			}
			if err != nil {
				return
			}
			_, err = f.WriteString(ns)
			f.Close()
			if err != nil {
				return // EPERM: not root
			}
		}
	}
}

// startChild starts cmd with the timer slack -timerslack. When this
// goroutine's OS thread has another value (setOwnTimerSlack could not
// reach it), the fork happens on that thread with the value set just for
// the fork: the goroutine is locked to the thread meanwhile, so the clone
// cannot happen elsewhere.
func (s *Server) startChild(cmd *exec.Cmd) error {
	slack := s.opt.TimerSlack.Nanoseconds()
	if slack <= 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || int64(own) == slack {
		return cmd.Start()
	}
	if unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0) != nil {
		return cmd.Start() // not fatal: the child runs with ours
	}
	err = cmd.Start()
	// Cannot fail for a value PR_GET_TIMERSLACK gave; if it did, this
	// thread would keep a coarser timer, which nothing here minds.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
	return err
}
