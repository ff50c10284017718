package tcpd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StderrLogger is the single -stderrlogger process. couriertcpd keeps both
// ends of its pipe: the write end becomes its own fd 2 and every child's
// stderr, the read end is the logger's stdin. Because the daemon holds the
// read end, a logger that dies loses no pipe: a new one is started on the
// same read end and children never see EPIPE.
type StderrLogger struct {
	path, name string
	env        []string
	r, w       *os.File
	origErr    *os.File // our stderr before the pipe replaced it

	mu      sync.Mutex
	cmd     *exec.Cmd
	stopped bool
	done    chan struct{}
	logf    func(string, ...any)
}

// LoggerName is the argument the logger gets: -stderrloggername, or the
// base name of the served program (Courier's choice).
func LoggerName(o *Options) string {
	if o.StderrLoggerName != "" {
		return o.StderrLoggerName
	}
	return filepath.Base(o.Program)
}

// StartStderrLogger creates the pipe, moves our fd 2 onto it, starts the
// logger and a goroutine that restarts it whenever it exits.
func StartStderrLogger(path, name string, env []string, logf func(string, ...any)) (*StderrLogger, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	l := &StderrLogger{path: path, name: name, env: env, r: r, w: w, done: make(chan struct{}), logf: logf}
	if fd, err := unix.FcntlInt(2, unix.F_DUPFD_CLOEXEC, 3); err == nil {
		l.origErr = os.NewFile(uintptr(fd), "original-stderr")
	}
	if err := l.start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	// From now on our own messages go to the logger too.
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		return nil, fmt.Errorf("dup2: %w", err)
	}
	go l.supervise()
	return l, nil
}

func (l *StderrLogger) start() error {
	cmd := &exec.Cmd{
		Path:  l.path,
		Args:  []string{l.path, l.name},
		Env:   l.env,
		Stdin: l.r,
		// Its stderr is what ours was before the pipe (a file, a tty or
		// /dev/null), never the pipe: the logger must not hold a write end
		// of its own pipe, or it would never see end-of-file. Without
		// syslog courierlogger writes there. Its own process group keeps a
		// terminal's ^C from killing it before it has logged our last
		// lines.
		Stderr:      l.origErr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting logger %s: %w", l.path, err)
	}
	l.mu.Lock()
	l.cmd = cmd
	l.mu.Unlock()
	return nil
}

func (l *StderrLogger) supervise() {
	defer close(l.done)
	delay := 100 * time.Millisecond
	for {
		l.mu.Lock()
		cmd := l.cmd
		l.mu.Unlock()
		started := time.Now()
		err := cmd.Wait()
		l.mu.Lock()
		stopped := l.stopped
		l.mu.Unlock()
		if stopped {
			return
		}
		if time.Since(started) > 10*time.Second {
			delay = 100 * time.Millisecond
		}
		time.Sleep(delay)
		if delay < 5*time.Second {
			delay *= 2
		}
		for {
			if serr := l.start(); serr == nil {
				break
			} else {
				time.Sleep(delay)
			}
		}
		l.logf("ERR: couriertcpd: logger %s exited (%v); restarted", l.path, err)
	}
}

// Pid of the current logger process.
func (l *StderrLogger) Pid() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd == nil || l.cmd.Process == nil {
		return 0
	}
	return l.cmd.Process.Pid
}

// Writer is the pipe's write end (the children's stderr).
func (l *StderrLogger) Writer() *os.File { return l.w }

// Close is called at exit: the logger is no longer restarted; it drains the
// pipe and exits by itself once every writer (us and our children) is gone.
func (l *StderrLogger) Close() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}
