package tcpd

import (
	"errors"
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
// and runtime start-up. Idle spares are not connections and take no slot,
// but every process is in s.wg and in its own process group, so Shutdown
// reaches them.
//
// With -prestartuses above 1 (the default) a spare is reusable
// (internal/handoff, reuse.go): it serves up to that many connections one
// after the other. At the end of each it reports Done, or asks us to start
// the session stage (Spawn), which we fork/exec as the account (uid, gid,
// no supplementary groups, privdrop.Credential) on the client socket, so the
// session is our child and holds the connection's slot exactly as a stage
// that exec'd it in place would; the spare goes back to the pool. A spare
// that closes its control socket mid-connection (it exec'd the session in
// place, e.g. after STARTTLS, or died) stands for the connection until it
// exits, as a one-use spare does.
//
// Invariant: a spare is in the pool only while it waits for a connection;
// while it serves one it is in s.children (and still in s.spares), and
// exactly one of the connection's ends (Done, a started session's exit, the
// spare's exit) calls the connection's finish.

// DefaultPrestart is the pool size when -prestart is not given and the
// program is one of our login stages (which implement internal/handoff).
const DefaultPrestart = 2

// DefaultPrestartUses is how many connections a reusable spare serves before
// it is retired and replaced: its heap and anything a connection could
// leave behind have a bounded life, and the restart costs a hundredth of a
// process start per login.
const DefaultPrestartUses = 100

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
	cmd   *exec.Cmd
	pid   int      // cmd.Process.Pid, read once at start (reap.go releases the Process)
	ctl   *os.File // our end of the control socketpair, non-blocking (netpoller)
	reuse bool     // started with handoff.EnvReuse

	mu      sync.Mutex
	exited  bool
	exitErr error
	onExit  func(error) // set when the spare stands for a connection; runs after Wait
	busy    bool        // serving a connection (reusable spares)
	retired bool        // we closed its control socket on purpose
	uses    int         // connections served (reusable spares)
}

// reusable reports whether spares are started reusable.
func (s *Server) reusable() bool { return s.opt.PrestartUses > 1 }

// startSpare starts one pre-started stage.
func (s *Server) startSpare() (*spare, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Our end goes through the netpoller: a goroutine waiting for a busy
	// spare's report must not hold an OS thread (see reap.go).
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "handoff"), os.NewFile(uintptr(fds[1]), "handoff-child")
	env := make([]string, 0, len(s.baseEnv)+2)
	env = append(env, s.baseEnv...)
	env = append(env, handoff.EnvFD+"=3")
	if s.reusable() {
		env = append(env, handoff.EnvReuse+"=1")
	}
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
	err = s.startChild(cmd)
	theirs.Close()
	if err != nil {
		ours.Close()
		return nil, err
	}
	sp := &spare{cmd: cmd, pid: cmd.Process.Pid, ctl: ours, reuse: s.reusable()}
	s.mu.Lock()
	s.spares[sp.pid] = cmd.Process
	s.wg.Add(1)
	if s.stopping {
		signalGroup(sp.pid, syscall.SIGTERM)
	}
	s.mu.Unlock()
	go func() {
		err := waitCmd(cmd)
		sp.mu.Lock()
		sp.exited = true
		sp.exitErr = err
		f := sp.onExit
		busy, retired := sp.busy, sp.retired
		sp.mu.Unlock()
		s.mu.Lock()
		delete(s.spares, sp.pid)
		s.mu.Unlock()
		switch {
		case f != nil:
			f(err)
		case busy:
			// awaitStage sees the end of file and ends the connection.
		default:
			ours.Close()
			if !retired && !s.isStopping() {
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

// poolCap is the pool channel's capacity for n spares: room for reusable
// spares coming back while the loop has already replaced them (idle ones
// beyond it are retired).
func poolCap(n int, reusable bool) int {
	if reusable {
		return max(2*n+2, 8)
	}
	return n
}

// prestartLoop keeps at least n spares waiting in the pool until Shutdown:
// it starts one whenever the pool holds fewer (handOff wakes it when it
// takes one out).
func (s *Server) prestartLoop(n int) {
	defer s.wg.Done()
	for {
		for len(s.pool) >= n {
			select {
			case <-s.poolTaken:
			case <-s.stop:
				return
			}
		}
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
		case <-s.stop:
			s.retire(sp)
			return
		default:
		}
		select {
		case s.pool <- sp:
		default:
			s.retire(sp) // filled by spares that came back meanwhile
		}
	}
}

// retire ends an unused spare: closing the control socket makes its
// Receive return ErrClosed, and the signal covers one still starting up.
func (s *Server) retire(sp *spare) {
	sp.mu.Lock()
	sp.retired = true
	exited := sp.exited
	sp.mu.Unlock()
	sp.ctl.Close()
	if !exited {
		signalGroup(sp.pid, syscall.SIGTERM)
	}
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

// handOff gives f and vars to a waiting spare. When none is ready and
// spares are reusable, it starts one for this connection (the client waits
// for its start-up, as for a fork/exec'd child, but the spare then stays for
// later connections, so the pool grows to the load). It reports false when
// no spare could take the connection (the caller then starts a child
// itself). finish ends the connection (handle's): it is called once, with
// the pid and exit of the process that stood for the connection last.
func (s *Server) handOff(f *os.File, vars []string, finish func(pid int, err error) int) bool {
	if s.pool == nil {
		return false
	}
	for {
		var sp *spare
		select {
		case sp = <-s.pool:
			select {
			case s.poolTaken <- struct{}{}:
			default:
			}
		default:
			// Only for a program that has proved it works as a
			// spare and is not failing now.
			s.mu.Lock()
			onDemand := s.reusable() && !s.stopping && s.spareWorks && s.spareBackoff == 0
			s.mu.Unlock()
			if !onDemand {
				return false
			}
			var err error
			if sp, err = s.startSpare(); err != nil {
				s.Logf("ERR: couriertcpd: pre-start %s: %v", s.opt.Program, unwrapExec(err))
				return false
			}
			if ok, retry := s.giveTo(sp, f, vars, finish); ok || !retry {
				return ok
			}
			return false
		}
		if ok, retry := s.giveTo(sp, f, vars, finish); ok || !retry {
			return ok
		}
	}
}

// giveTo hands the connection to sp. retry reports that sp was unusable
// (dead, or the send failed) and another may be tried.
func (s *Server) giveTo(sp *spare, f *os.File, vars []string, finish func(pid int, err error) int) (ok, retry bool) {
	sp.mu.Lock()
	if sp.exited {
		sp.mu.Unlock()
		return false, true
	}
	err := controlSend(sp.ctl, int(f.Fd()), vars)
	if err != nil {
		sp.mu.Unlock()
		s.Logf("ERR: couriertcpd: hand-off to pre-started %s: %v", s.opt.Program, err)
		s.retire(sp)
		return false, true
	}
	p, pid := sp.cmd.Process, sp.pid
	if sp.reuse {
		sp.busy = true
	} else {
		sp.onExit = func(err error) { finish(pid, err) }
		sp.ctl.Close()
	}
	// Register it as a connection's child before its exit can be
	// reported (Wait's goroutine needs sp.mu to see onExit).
	s.mu.Lock()
	if !sp.reuse {
		delete(s.spares, pid)
	}
	s.children[pid] = p
	s.wg.Add(1)
	if s.stopping {
		signalGroup(pid, syscall.SIGTERM)
	}
	// A successful hand-off proves the program works.
	s.spareBackoff = 0
	s.spareWorks = true
	s.mu.Unlock()
	sp.mu.Unlock()
	if sp.reuse {
		go s.awaitStage(sp, finish)
	}
	return true, false
}

// controlSend sends a connection on a spare's non-blocking control socket
// without taking it out of the netpoller (File.Fd would).
func controlSend(ctl *os.File, conn int, vars []string) error {
	return onControl(ctl, func(fd int) error { return handoff.Send(fd, conn, vars) })
}

// onControl runs send on a spare's control descriptor (a SEQPACKET socket
// with room for our few small messages, so a send does not wait).
func onControl(ctl *os.File, send func(fd int) error) error {
	rc, err := ctl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = send(int(fd)) }); err != nil {
		return err
	}
	return serr
}

// resultBufs holds the receive buffers for spares' reports: a buffer is
// taken only while a report is read, not while a spare serves its client.
var resultBufs = sync.Pool{New: func() any { b := make([]byte, handoff.MaxSpawn+1); return &b }}

// readResult waits, in the netpoller, for a busy spare's report.
func readResult(ctl *os.File) (*handoff.Result, error) {
	rc, err := ctl.SyscallConn()
	if err != nil {
		return nil, err
	}
	var res *handoff.Result
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		bp := resultBufs.Get().(*[]byte)
		res, rerr = handoff.ReadResult(int(fd), *bp)
		resultBufs.Put(bp)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err != nil {
		return nil, err
	}
	return res, rerr
}

// awaitStage follows a reusable spare through one connection.
func (s *Server) awaitStage(sp *spare, finish func(pid int, err error) int) {
	pid := sp.pid
	for {
		res, err := readResult(sp.ctl)
		if err != nil {
			// End of file: the spare exec'd the session in place or
			// died; its process stands for the connection from now on.
			if !errors.Is(err, handoff.ErrClosed) && !errors.Is(err, os.ErrClosed) {
				s.Logf("ERR: couriertcpd: pre-started %s: %v", s.opt.Program, err)
				sp.mu.Lock()
				if !sp.exited {
					signalGroup(pid, syscall.SIGTERM)
				}
				sp.mu.Unlock()
			}
			sp.ctl.Close()
			sp.mu.Lock()
			sp.busy = false
			if sp.exited {
				exitErr := sp.exitErr
				sp.mu.Unlock()
				finish(pid, exitErr)
				return
			}
			sp.onExit = func(err error) { finish(pid, err) }
			sp.mu.Unlock()
			return
		}
		if res.Spawn != nil {
			serr := s.spawnSession(res, finish)
			if rerr := controlReply(sp.ctl, serr); rerr != nil {
				s.Logf("ERR: couriertcpd: pre-started %s: %v", s.opt.Program, rerr)
			}
			if serr != nil {
				s.Logf("ERR: couriertcpd: %s: %v", res.Spawn.Path, serr)
				continue // the spare still has the client: Done or exec follows
			}
			// The session holds the connection now; its end finishes it.
			s.mu.Lock()
			delete(s.children, pid)
			s.mu.Unlock()
			s.wg.Done()
		} else {
			finish(pid, nil)
		}
		s.recycle(sp)
		return
	}
}

// controlReply answers a spare's Spawn on its non-blocking control socket.
func controlReply(ctl *os.File, started error) error {
	return onControl(ctl, func(fd int) error { return handoff.Reply(fd, started) })
}

// recycle puts a spare that finished a connection back in the pool, or
// retires it when it has served its -prestartuses, when we stop, or when
// the pool is full.
func (s *Server) recycle(sp *spare) {
	sp.mu.Lock()
	sp.busy = false
	sp.uses++
	uses, exited := sp.uses, sp.exited
	sp.mu.Unlock()
	if exited {
		return
	}
	if uses >= s.opt.PrestartUses || s.isStopping() {
		s.retire(sp)
		return
	}
	select {
	case s.pool <- sp:
	default:
		s.retire(sp)
	}
}
