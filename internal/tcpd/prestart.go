package tcpd

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"gocourier/internal/handoff"

	"golang.org/x/sys/unix"
)

// Pre-started login stages (DESIGN §1, §7): the pool keeps Prestart copies
// of the program running, each blocked in handoff.Receive, so that an
// accepted connection goes to a process that has already paid for its exec
// and runtime start-up. A spare serves exactly one connection, like a
// fork/exec'd child; spares are not connections and take no slot, but
// every process is in s.wg and in its own process group, so Shutdown
// reaches them.

// DefaultPrestart is the pool size when -prestart is not given and the
// program is one of our login stages (which implement internal/handoff).
const DefaultPrestart = 2

// prestartPrograms are the programs known to implement internal/handoff.
var prestartPrograms = map[string]bool{"imaplogin": true, "pop3login": true}

// PrestartCount is the pool size for o: -prestart=N when given, else
// DefaultPrestart for our login stages and 0 for anything else (couriertls,
// third-party programs). -stderr=socket needs the socket on fd 2 from the
// start, so it turns the pool off.
func PrestartCount(o *Options) int {
	if o.Stderr == "socket" {
		return 0
	}
	if o.Prestart >= 0 {
		return o.Prestart
	}
	if prestartPrograms[filepath.Base(o.Program)] {
		return DefaultPrestart
	}
	return 0
}

type spare struct {
	cmd *exec.Cmd
	ctl *os.File // our end of the control socketpair

	mu     sync.Mutex
	exited bool
	onExit func(error) // set on hand-off; runs after Wait
}

// startSpare starts one pre-started stage.
func (s *Server) startSpare() (*spare, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "handoff"), os.NewFile(uintptr(fds[1]), "handoff-child")
	env := make([]string, 0, len(s.baseEnv)+1)
	env = append(env, s.baseEnv...)
	env = append(env, handoff.EnvFD+"=3")
	cmd := &exec.Cmd{
		Path:        s.opt.Program,
		Args:        s.opt.Args,
		Env:         env,
		Stderr:      s.childStderr,
		ExtraFiles:  []*os.File{theirs}, // fd 3
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if null := s.nullFile(); null != nil {
		cmd.Stdin, cmd.Stdout = null, null
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		ours.Close()
		return nil, err
	}
	sp := &spare{cmd: cmd, ctl: ours}
	s.mu.Lock()
	s.spares[cmd.Process.Pid] = cmd.Process
	s.wg.Add(1)
	if s.stopping {
		signalGroup(cmd.Process, syscall.SIGTERM)
	}
	s.mu.Unlock()
	go func() {
		err := waitCmd(cmd)
		sp.mu.Lock()
		sp.exited = true
		f := sp.onExit
		sp.mu.Unlock()
		s.mu.Lock()
		delete(s.spares, cmd.Process.Pid)
		s.mu.Unlock()
		if f != nil {
			f(err)
		} else {
			ours.Close()
			if !s.isStopping() {
				s.Logf("WARN: couriertcpd: pre-started %s exited before a connection: %v", s.opt.Program, exitText(err))
				s.spareDied()
			}
		}
		s.wg.Done()
	}()
	return sp, nil
}

// nullFile is /dev/null, opened once for every spare's fds 0 and 1 (a
// spare reads nothing from them before its hand-off replaces them);
// without it exec.Cmd opens and closes /dev/null twice per spare. nil when
// it cannot be opened: exec.Cmd then opens its own.
func (s *Server) nullFile() *os.File {
	s.nullOnce.Do(func() {
		if f, err := os.OpenFile(os.DevNull, os.O_RDWR|syscall.O_CLOEXEC, 0); err == nil {
			s.null = f
		}
	})
	return s.null
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// spareDied slows the pool down when spares die unused (a broken program
// must not turn into a fork loop).
func (s *Server) spareDied() {
	s.mu.Lock()
	if s.spareBackoff < 100*time.Millisecond {
		s.spareBackoff = 100 * time.Millisecond
	} else if s.spareBackoff < 10*time.Second {
		s.spareBackoff *= 2
	}
	s.mu.Unlock()
}

// prestartLoop keeps the pool full until Shutdown. The pool channel holds
// n-1 spares and this loop holds the n-th while it waits to put it in.
func (s *Server) prestartLoop(n int) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		wait := s.spareBackoff
		s.mu.Unlock()
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.stop:
				return
			}
		}
		sp, err := s.startSpare()
		if err != nil {
			s.Logf("ERR: couriertcpd: pre-start %s: %v", s.opt.Program, unwrapExec(err))
			s.spareDied()
			continue
		}
		select {
		case s.pool <- sp:
		case <-s.stop:
			s.retire(sp)
			return
		}
	}
}

// retire ends an unused spare: closing the control socket makes its
// Receive return ErrClosed, and the signal covers one still starting up.
func (s *Server) retire(sp *spare) {
	sp.ctl.Close()
	signalGroup(sp.cmd.Process, syscall.SIGTERM)
}

// drainPool retires the spares waiting in the pool (Shutdown).
func (s *Server) drainPool() {
	for {
		select {
		case sp := <-s.pool:
			s.retire(sp)
		default:
			return
		}
	}
}

// handOff gives f and vars to a waiting spare. It returns the spare's
// process, with onExit installed so that its end runs done, or nil when no
// live spare was ready (the caller then starts a child itself).
func (s *Server) handOff(f *os.File, vars []string, done func(pid int) func(error)) *os.Process {
	if s.pool == nil {
		return nil
	}
	for {
		var sp *spare
		select {
		case sp = <-s.pool:
		default:
			return nil
		}
		sp.mu.Lock()
		if sp.exited {
			sp.mu.Unlock()
			continue
		}
		err := handoff.Send(int(sp.ctl.Fd()), int(f.Fd()), vars)
		if err != nil {
			sp.mu.Unlock()
			s.Logf("ERR: couriertcpd: hand-off to pre-started %s: %v", s.opt.Program, err)
			s.retire(sp)
			continue
		}
		sp.onExit = done(sp.cmd.Process.Pid)
		sp.ctl.Close()
		p := sp.cmd.Process
		// Register it as a connection's child before its exit can be
		// reported (Wait's goroutine needs sp.mu to see onExit).
		s.mu.Lock()
		delete(s.spares, p.Pid)
		s.children[p.Pid] = p
		s.wg.Add(1)
		if s.stopping {
			signalGroup(p, syscall.SIGTERM)
		}
		s.mu.Unlock()
		sp.mu.Unlock()
		// A successful hand-off proves the program works.
		s.mu.Lock()
		s.spareBackoff = 0
		s.mu.Unlock()
		return p
	}
}
