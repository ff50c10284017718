package tcpd

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocourier/internal/handoff"
	"gocourier/internal/privdrop"
	"gocourier/internal/tcpd/access"

	"golang.org/x/sys/unix"
)

// Server accepts connections and runs one child per connection.
type Server struct {
	opt *Options
	log *log.Logger

	baseEnv []string

	accessMu sync.RWMutex
	access   *access.Table

	slots chan struct{} // one token per running (or starting) child
	stop  chan struct{}

	mu        sync.Mutex
	children  map[int]*os.Process
	perIP     map[netip.Addr]int
	perC      map[[16]byte]int
	lastWarn  time.Time
	lastAlert time.Time
	stopping  bool
	wg        sync.WaitGroup

	childStderr *os.File // nil = /dev/null; set by SetupStderr
	listeners   []net.Listener

	acceptErrMu   sync.Mutex
	lastAcceptErr time.Time

	// Pre-started stages (prestart.go): pool is nil when off.
	pool         chan *spare
	poolTaken    chan struct{}       // handOff took a spare: the pool may need a new one
	spares       map[int]*os.Process // pre-started, not yet handed a connection
	spareBackoff time.Duration       // guarded by mu
	spareWorks   bool                // a spare took a connection; guarded by mu
	nullOnce     sync.Once
	null         *os.File // /dev/null for the spares' fds 0/1; nil if it would not open
}

// envDrop are variables that belong to this daemon and must not reach a
// child: systemd's activation/notify protocol, and our own daemon marker.
var envDrop = []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
	"WATCHDOG_USEC", "WATCHDOG_PID", DaemonEnv}

// ChildBaseEnv is env without the variables in envDrop.
func ChildBaseEnv(env []string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		for _, d := range envDrop {
			if name == d {
				continue next
			}
		}
		out = append(out, kv)
	}
	// Every child serves one connection, and the programs we start (the TLS
	// pump, the login stages, the session stages) are Go programs whose
	// runtime reads GOMAXPROCS once, at start-up: one P means one set of
	// per-P caches, fewer threads and about 1.3 ms less CPU per login
	// (measured with bench/session). An administrator's own GOMAXPROCS wins.
	if !hasEnv(out, "GOMAXPROCS") {
		out = append(out, "GOMAXPROCS=1")
	}
	return out
}

// hasEnv reports whether env sets name.
func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}

// NewServer prepares a server; logw receives couriertcpd's own log lines.
func NewServer(o *Options, logw io.Writer) *Server {
	return &Server{
		opt:         o,
		log:         log.New(logw, "", 0),
		baseEnv:     ChildBaseEnv(os.Environ()),
		slots:       make(chan struct{}, o.MaxProcs),
		stop:        make(chan struct{}),
		children:    map[int]*os.Process{},
		spares:      map[int]*os.Process{},
		perIP:       map[netip.Addr]int{},
		perC:        map[[16]byte]int{},
		childStderr: os.Stderr,
	}
}

// Logf writes one line to couriertcpd's log.
func (s *Server) Logf(format string, args ...any) { s.log.Printf(format, args...) }

// LoadAccess (re)reads the -access file. On failure the previous table
// stays in force; at start-up a missing file means "allow everybody", which
// is what Courier does when it cannot open the file, but it is logged.
func (s *Server) LoadAccess() error {
	if s.opt.Access == "" {
		return nil
	}
	t, notes, warns, err := access.Load(s.opt.Access)
	for _, n := range notes {
		s.Logf("INFO: couriertcpd: %s", n)
	}
	for _, w := range warns {
		s.Logf("WARN: couriertcpd: access file: %v (line ignored)", w)
	}
	if err != nil {
		s.Logf("ERR: couriertcpd: %v", err)
		return err
	}
	s.accessMu.Lock()
	s.access = t
	s.accessMu.Unlock()
	return nil
}

func (s *Server) lookup(a netip.Addr) access.Entry {
	s.accessMu.RLock()
	t := s.access
	s.accessMu.RUnlock()
	e, _ := t.Lookup(a)
	return e
}

// FormatIP renders an address as couriertcpd does: IPv4 peers in
// IPv6-mapped form `::ffff:a.b.c.d` (reference §1.2), IPv6 without zone.
func FormatIP(a netip.Addr) string {
	a = a.WithZone("")
	if u := a.Unmap(); u.Is4() {
		return "::ffff:" + u.String()
	}
	return a.String()
}

// Serve runs an accept loop on every listener until Shutdown.
func (s *Server) Serve(lns []net.Listener) {
	s.listeners = lns
	if n := PrestartCount(s.opt); n > 0 {
		s.mu.Lock()
		if !s.stopping {
			s.pool = make(chan *spare, poolCap(n, s.reusable()))
			s.poolTaken = make(chan struct{}, 1)
			s.wg.Add(1)
			go s.prestartLoop(n)
		}
		s.mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.acceptLoop(ln)
		}()
	}
	wg.Wait()
}

func (s *Server) acceptLoop(ln net.Listener) {
	backoff := 5 * time.Millisecond
	for {
		// A slot first: while all are busy we do not accept, and clients
		// wait in the kernel's backlog (Courier's getfreeslot).
		select {
		case s.slots <- struct{}{}:
		case <-s.stop:
			return
		}
		c, err := ln.Accept()
		if err != nil {
			<-s.slots
			if errors.Is(err, net.ErrClosed) || s.isStopping() {
				return
			}
			// EMFILE, ENFILE, ENOBUFS...: back off instead of spinning.
			s.acceptErrorf("ERR: couriertcpd: accept: %v", err)
			select {
			case <-time.After(backoff):
			case <-s.stop:
				return
			}
			if backoff < time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 5 * time.Millisecond
		tc, ok := c.(*net.TCPConn)
		if !ok {
			c.Close()
			<-s.slots
			continue
		}
		s.handle(tc, false)
	}
}

func (s *Server) acceptErrorf(format string, args ...any) {
	s.acceptErrMu.Lock()
	defer s.acceptErrMu.Unlock()
	if time.Since(s.lastAcceptErr) < time.Second {
		return
	}
	s.lastAcceptErr = time.Now()
	s.Logf(format, args...)
}

func (s *Server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

func addrOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// cBlock is the -maxperc key: the address in 16-byte (IPv4-mapped) form
// without its last byte, which Courier compares; for IPv4 that is the /24.
func cBlock(a netip.Addr) [16]byte {
	b := a.Unmap().As16()
	b[15] = 0
	return b
}

// handle owns one slot token and c. It refuses or spawns; when wait is set
// (systemd Accept=yes) it waits for the child and returns its exit status.
func (s *Server) handle(c *net.TCPConn, wait bool) int {
	remote, local := addrOf(c.RemoteAddr()), addrOf(c.LocalAddr())
	ip := remote.Addr().Unmap().WithZone("")
	ent := s.lookup(ip)
	if ent.Deny {
		<-s.slots
		if wait {
			s.deny(c) // Accept=yes: we exit right after, so write first
		} else {
			go s.deny(c)
		}
		return 0 // a refusal is not a failure (Courier's child exits 0)
	}
	maxPerIP := s.opt.MaxPerIP
	for _, kv := range ent.Vars {
		// An access-file MAXCPERIP raises or lowers the limit for this
		// netblock (reference §2).
		if v, ok := strings.CutPrefix(kv, "MAXCPERIP="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				maxPerIP = n
			}
		}
	}
	cb := cBlock(ip)
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		c.Close()
		<-s.slots
		return 1
	}
	if s.perIP[ip] >= maxPerIP {
		s.mu.Unlock()
		s.Logf("ALERT: Maximum connection limit reached for %s", FormatIP(ip))
		c.Close()
		<-s.slots
		return 0
	}
	if s.perC[cb] >= s.opt.MaxPerC {
		s.mu.Unlock()
		c.Close() // Courier drops these silently
		<-s.slots
		return 0
	}
	s.perIP[ip]++
	s.perC[cb]++
	s.mu.Unlock()

	release := func() {
		s.mu.Lock()
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
		if s.perC[cb]--; s.perC[cb] <= 0 {
			delete(s.perC, cb)
		}
		s.mu.Unlock()
		<-s.slots
	}

	c.SetNoDelay(true)
	c.SetKeepAlive(true)
	f, err := c.File()
	c.Close()
	if err != nil {
		s.Logf("ERR: couriertcpd: %v", err)
		release()
		return 1
	}
	// The descriptor shares its file status flags with the poller's
	// non-blocking copy; children expect an ordinary blocking socket.
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		s.Logf("ERR: couriertcpd: fcntl: %v", err)
	}

	env := make([]string, 0, len(s.baseEnv)+len(ent.Vars)+4)
	env = append(env, s.baseEnv...)
	env = append(env, ent.Vars...)
	env = append(env,
		"TCPREMOTEIP="+FormatIP(ip),
		"TCPREMOTEPORT="+strconv.Itoa(int(remote.Port())),
		"TCPLOCALIP="+FormatIP(local.Addr()),
		"TCPLOCALPORT="+strconv.Itoa(int(local.Port())),
	)
	// finish is the end of the connection's process, whoever started it.
	finish := func(pid int, err error) int {
		s.mu.Lock()
		delete(s.children, pid)
		s.mu.Unlock()
		release()
		s.wg.Done()
		var ee interface{ ExitCode() int } // *exec.ExitError or *exitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			return 1
		}
		return 0
	}
	if !wait {
		// A pre-started stage gets the same variables a fork/exec'd one
		// would have on top of the daemon's environment.
		if s.handOff(f, env[len(s.baseEnv):], finish) {
			f.Close()
			s.mu.Lock()
			n := len(s.children)
			s.mu.Unlock()
			s.countWarn(n)
			return 0
		}
	}
	cmd := &exec.Cmd{
		Path:   s.opt.Program,
		Args:   s.opt.Args,
		Env:    env, // duplicates: exec keeps the last, so TCP* win
		Stdin:  f,
		Stdout: f,
		Stderr: s.childStderr,
		// Each connection is its own process group, so that shutdown
		// reaches every process of the chain: couriertls drops root
		// after starting the login stage and could not forward a signal
		// to it (or to the session running as the mail user).
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if s.opt.Stderr == "socket" {
		cmd.Stderr = f
	}
	err = s.startChild(cmd)
	f.Close()
	if err != nil {
		s.Logf("ERR: couriertcpd: %s: %v", s.opt.Program, unwrapExec(err))
		release()
		return 1
	}
	pid := s.track(cmd)
	done := func() int { return finish(pid, waitCmd(cmd)) }
	if wait {
		return done()
	}
	go done()
	return 0
}

// spawnSession starts the session stage a reusable login stage asked for
// (prestart.go): the program as the account, with no supplementary groups,
// in its home, on the client socket. The session stands for the
// connection from then on; its end runs finish.
func (s *Server) spawnSession(res *handoff.Result, finish func(pid int, err error) int) error {
	sp := res.Spawn
	f := os.NewFile(uintptr(res.Conn), "client")
	defer f.Close()
	// The stage's stdioconn.Socket made the shared file description
	// non-blocking; the session expects an ordinary blocking socket, as
	// after an exec in place.
	if err := unix.SetNonblock(res.Conn, false); err != nil {
		return fmt.Errorf("fcntl: %w", err)
	}
	cred, err := privdrop.Credential(sp.UID, sp.GID)
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{
		Path:        sp.Path,
		Args:        sp.Args,
		Env:         sp.Env,
		Dir:         sp.Dir,
		Stdin:       f,
		Stdout:      f,
		Stderr:      s.childStderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: cred},
	}
	if err := s.startChild(cmd); err != nil {
		return unwrapExec(err)
	}
	pid := s.track(cmd)
	go func() { finish(pid, waitCmd(cmd)) }()
	return nil
}

// track registers a started child as a connection's process (Shutdown
// signals it, the count warnings see it) and returns its pid, read here
// once: reap.go releases the os.Process after the wait.
func (s *Server) track(cmd *exec.Cmd) int {
	pid := cmd.Process.Pid
	s.mu.Lock()
	s.children[pid] = cmd.Process
	n := len(s.children)
	s.wg.Add(1)
	if s.stopping {
		// Shutdown ran while we were starting it: it was not signalled.
		signalGroup(pid, syscall.SIGTERM)
	}
	s.mu.Unlock()
	s.countWarn(n)
	return pid
}

func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// countWarn logs Courier's capacity lines, at most once a minute each.
func (s *Server) countWarn(n int) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case n >= s.opt.MaxProcs:
		if now.Sub(s.lastAlert) > time.Minute {
			s.lastAlert = now
			s.log.Printf("ALERT: %d maximum active connections.", s.opt.MaxProcs)
		}
	case n >= s.opt.Warn:
		if now.Sub(s.lastWarn) > time.Minute {
			s.lastWarn = now
			s.log.Printf("WARN: %d active connections.", n)
		}
	}
}

// deny sends -denymsg (plus "\n", as couriertcpd) and closes. It runs in
// its own goroutine with a deadline so a client that does not read cannot
// hold up the accept loop.
func (s *Server) deny(c *net.TCPConn) {
	defer c.Close()
	if s.opt.HaveDenyMsg {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, s.opt.DenyMsg+"\n")
	}
}

// Children reports the number of running children.
func (s *Server) Children() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.children)
}

// Shutdown stops accepting, sends SIGTERM to every child, waits up to
// grace for them, then SIGKILLs what is left and waits for those.
func (s *Server) Shutdown(grace time.Duration) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	close(s.stop)
	for _, ln := range s.listeners {
		ln.Close()
	}
	for pid := range s.children {
		signalGroup(pid, syscall.SIGTERM)
	}
	for pid := range s.spares {
		signalGroup(pid, syscall.SIGTERM)
	}
	pool := s.pool
	s.mu.Unlock()
	if pool != nil {
		s.drainPool()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	s.mu.Lock()
	for pid := range s.children {
		s.log.Printf("WARN: couriertcpd: child %d ignored SIGTERM, killing it", pid)
		signalGroup(pid, syscall.SIGKILL)
	}
	for pid := range s.spares {
		signalGroup(pid, syscall.SIGKILL)
	}
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
}

// ServeConn runs the program for one already-accepted connection (systemd
// Accept=yes) and returns the child's exit status.
func (s *Server) ServeConn(c *net.TCPConn) int {
	s.slots <- struct{}{}
	return s.handle(c, true)
}

// SetChildStderr sets the stderr of children (the logger pipe or a file).
func (s *Server) SetChildStderr(f *os.File) { s.childStderr = f }

// String is for debugging.
func (s *Server) String() string { return fmt.Sprintf("tcpd(%d children)", s.Children()) }

// signalGroup sends sig to the process group of a child (started with
// Setpgid, so its group id is its pid), falling back to the child alone
// when the group is gone.
//
// It takes the pid recorded at start: os.Process.Release (reap.go) resets
// the Process's own field once the child is reaped.
func signalGroup(pid int, sig syscall.Signal) {
	if pid <= 0 {
		return
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		syscall.Kill(pid, sig)
	}
}
