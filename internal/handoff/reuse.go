package handoff

// Reusable stages (DESIGN §1 "Pre-started login stages"). When couriertcpd
// sets EnvReuse, a pre-started stage serves its connections one after the
// other instead of one per process: at the end of each connection it either
// reports that nothing follows (Done) or asks couriertcpd to start the
// session stage for it (Spawn), and then waits for the next connection. The
// session is still a fresh process, exec'd with the account's uid and gid
// and no supplementary groups (couriertcpd forks it with those credentials,
// as the stage's own privdrop+exec would have), so boundary 3 of DESIGN §1 is
// unchanged; what the stage saves is its own exec and runtime start-up per
// login.
//
// The messages on the control socketpair (SOCK_SEQPACKET, so each is one
// datagram):
//
//	couriertcpd -> stage   a connection: variables, the socket as SCM_RIGHTS (Send)
//	stage -> couriertcpd   'D'                          the connection is over, nothing follows
//	stage -> couriertcpd   'S' spawn fields, the socket  start the session on this socket
//	couriertcpd -> stage   'K' or 'E' text              the session started, or why not
//
// Invariants (in addition to handoff.go's):
//   - A stage handles one connection at a time. Before it reports Done or
//     Spawn it has closed every copy of the client socket it holds (fds 0
//     and 1 are moved to /dev/null), and before each new connection its
//     environment is reset to the one it had at start-up, so nothing of one
//     client's connection reaches the next one's.
//   - A stage that must not be reused (it started TLS, or a Spawn could not
//     be sent) execs the session in place as before; the control socket is
//     close-on-exec, so couriertcpd then sees end of file and keeps the
//     connection charged to that process.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvReuse names the variable by which couriertcpd tells a pre-started stage
// that it may serve further connections (value "1").
const EnvReuse = "COURIERTCPD_HANDOFF_REUSE"

// MaxSpawn bounds a Spawn message: the session's whole environment travels
// in it.
const MaxSpawn = 256 << 10

const (
	kindDone  = 'D'
	kindSpawn = 'S'
	kindOK    = 'K'
	kindErr   = 'E'
)

// Spawn is what couriertcpd needs to start a session stage: the program,
// its argument vector and environment, the account's ids and the directory
// to start in (the account's home, entered after the ids changed).
type Spawn struct {
	UID, GID int
	Dir      string
	Path     string
	Args     []string
	Env      []string
}

// EncodeSpawn builds the payload of a Spawn message: 'S', then NUL-terminated
// fields uid, gid, dir, path, argc, the arguments and the environment.
func EncodeSpawn(sp *Spawn) ([]byte, error) {
	if sp.UID < 0 || sp.GID < 0 || sp.Path == "" || sp.Dir == "" {
		return nil, fmt.Errorf("handoff: spawn: incomplete request (uid %d gid %d dir %q path %q)", sp.UID, sp.GID, sp.Dir, sp.Path)
	}
	fields := []string{strconv.Itoa(sp.UID), strconv.Itoa(sp.GID), sp.Dir, sp.Path, strconv.Itoa(len(sp.Args))}
	fields = append(fields, sp.Args...)
	for _, kv := range sp.Env {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return nil, fmt.Errorf("handoff: spawn: bad variable %q", kv)
		}
	}
	fields = append(fields, sp.Env...)
	n := 1
	for _, f := range fields {
		if strings.IndexByte(f, 0) >= 0 {
			return nil, fmt.Errorf("handoff: spawn: NUL in %q", f)
		}
		n += len(f) + 1
	}
	if n > MaxSpawn {
		return nil, fmt.Errorf("handoff: spawn: %d bytes, limit %d", n, MaxSpawn)
	}
	p := make([]byte, 0, n)
	p = append(p, kindSpawn)
	for _, f := range fields {
		p = append(p, f...)
		p = append(p, 0)
	}
	return p, nil
}

// DecodeSpawn parses a Spawn payload (including its 'S').
func DecodeSpawn(p []byte) (*Spawn, error) {
	if len(p) == 0 || p[0] != kindSpawn {
		return nil, errors.New("handoff: not a spawn message")
	}
	if len(p) > MaxSpawn {
		return nil, fmt.Errorf("handoff: spawn message of %d bytes", len(p))
	}
	rest := p[1:]
	next := func() (string, bool) {
		for i, b := range rest {
			if b == 0 {
				f := string(rest[:i])
				rest = rest[i+1:]
				return f, true
			}
		}
		return "", false
	}
	num := func() (int, error) {
		f, ok := next()
		if !ok {
			return 0, errors.New("handoff: spawn: truncated")
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 || strconv.Itoa(v) != f {
			return 0, fmt.Errorf("handoff: spawn: bad number %q", f)
		}
		return v, nil
	}
	sp := &Spawn{}
	var err error
	if sp.UID, err = num(); err != nil {
		return nil, err
	}
	if sp.GID, err = num(); err != nil {
		return nil, err
	}
	var ok bool
	if sp.Dir, ok = next(); !ok || sp.Dir == "" {
		return nil, errors.New("handoff: spawn: no directory")
	}
	if sp.Path, ok = next(); !ok || sp.Path == "" {
		return nil, errors.New("handoff: spawn: no program")
	}
	argc, err := num()
	if err != nil {
		return nil, err
	}
	if argc > len(rest) {
		return nil, fmt.Errorf("handoff: spawn: %d arguments in %d bytes", argc, len(rest))
	}
	sp.Args = make([]string, 0, argc)
	for range argc {
		a, ok := next()
		if !ok {
			return nil, errors.New("handoff: spawn: truncated arguments")
		}
		sp.Args = append(sp.Args, a)
	}
	for len(rest) > 0 {
		kv, ok := next()
		if !ok {
			return nil, errors.New("handoff: spawn: unterminated variable")
		}
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return nil, fmt.Errorf("handoff: spawn: bad variable %q", kv)
		}
		sp.Env = append(sp.Env, kv)
	}
	return sp, nil
}

// Stage is a pre-started stage's end of the control socket.
type Stage struct {
	ctl     *os.File // non-blocking: waits go through the runtime's poller
	reuse   bool
	base    []string // the environment at start-up, without EnvFD and EnvReuse
	baseMap map[string]string
	seen    map[string]uint64 // resetEnv's: start-up names found set, by generation
	gen     uint64
	null    int // /dev/null, put on fds 0 and 1 between connections
	used    bool
	buf     []byte // receive buffer, MaxMessage+1 bytes
}

// Open returns the control end when this process was pre-started (EnvFD
// set), nil otherwise. It removes EnvFD and EnvReuse from the environment.
func Open() (*Stage, error) { return open(true) }

// open is Open; a stage that serves one connection only (Receive) passes
// allowReuse false.
func open(allowReuse bool) (*Stage, error) {
	v := os.Getenv(EnvFD)
	if v == "" {
		return nil, nil
	}
	reuse := allowReuse && os.Getenv(EnvReuse) == "1"
	os.Unsetenv(EnvFD)
	os.Unsetenv(EnvReuse)
	ctl, err := strconv.Atoi(v)
	if err != nil || ctl < 3 {
		return nil, fmt.Errorf("handoff: bad %s=%q", EnvFD, v)
	}
	// couriertcpd passed it as an inherited descriptor, so it is not
	// close-on-exec; a session exec'd in place must not inherit it.
	unix.CloseOnExec(ctl)
	// Waiting in a blocking recvmsg would leave the runtime's sysmon
	// polling every 20 µs and handing the P between threads for as long
	// as the stage waits (for its next client, or for couriertcpd to start
	// a session): in the poller the stage's one thread just sleeps.
	if err := unix.SetNonblock(ctl, true); err != nil {
		return nil, fmt.Errorf("handoff: %s: %w", EnvFD, err)
	}
	st := &Stage{ctl: os.NewFile(uintptr(ctl), "handoff"), reuse: reuse, null: -1, buf: make([]byte, MaxMessage+1)}
	if reuse {
		st.base = os.Environ()
		fd, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			// Without a /dev/null to park fds 0/1 on, serve one
			// connection only.
			st.reuse = false
		} else {
			st.null = fd
		}
	}
	return st, nil
}

// Run is a login stage's main loop. It calls serve for the connection
// the process was started with (st nil), or, in a pre-started stage, for
// each connection couriertcpd hands over, for as long as serve reports
// again (it has reported Done or Spawn); then it exits with serve's code.
// name prefixes its error lines.
func Run(name string, serve func(st *Stage) (code int, again bool)) {
	st, err := Open()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERR: %s: %v\n", name, err)
		os.Exit(1)
	}
	for {
		if st != nil {
			if err := st.Next(); err != nil {
				if errors.Is(err, ErrClosed) {
					os.Exit(0)
				}
				fmt.Fprintf(os.Stderr, "ERR: %s: %v\n", name, err)
				os.Exit(1)
			}
		}
		code, again := serve(st)
		if !again {
			os.Exit(code)
		}
	}
}

// Reusable reports whether the stage may report Done or Spawn (and so
// serve another connection) instead of exiting or exec'ing in place.
func (st *Stage) Reusable() bool { return st != nil && st.reuse }

// Next waits for the next connection, installs it on fds 0 and 1 and sets
// its variables on top of the start-up environment. A stage that is not
// reusable closes the control socket after its one connection, as
// Receive. On ErrClosed the stage should exit 0 without output.
func (st *Stage) Next() error {
	if st.used && !st.reuse {
		return ErrClosed
	}
	st.used = true
	if !st.reuse {
		defer st.Close()
	}
	var fd int
	var vars []string
	err := st.read(func(ctl int) error {
		var err error
		fd, vars, err = recvConn(ctl, st.buf)
		return err
	})
	if err != nil {
		return err
	}
	// dup2 clears close-on-exec on the targets, as a fork/exec'd stage's
	// fds 0 and 1 are.
	if err := unix.Dup2(fd, 0); err != nil {
		unix.Close(fd)
		return fmt.Errorf("handoff: dup2: %w", err)
	}
	if err := unix.Dup2(fd, 1); err != nil {
		unix.Close(fd)
		return fmt.Errorf("handoff: dup2: %w", err)
	}
	unix.Close(fd)
	if st.reuse {
		st.resetEnv()
	}
	for _, kv := range vars {
		name, val, _ := strings.Cut(kv, "=")
		if err := os.Setenv(name, val); err != nil {
			return fmt.Errorf("handoff: setenv %s: %w", name, err)
		}
	}
	return nil
}

// resetEnv puts the environment back to the start-up one, changing only
// what differs (a connection normally changes a handful of variables;
// setting all of them again cost more than the rest of the hand-off). It
// allocates nothing but os.Environ's copy once baseMap and seen exist: the
// login stage runs it for every connection.
func (st *Stage) resetEnv() {
	if st.baseMap == nil {
		st.baseMap = make(map[string]string, len(st.base))
		for _, kv := range st.base {
			name, val, _ := strings.Cut(kv, "=")
			if _, dup := st.baseMap[name]; !dup { // Getenv's choice
				st.baseMap[name] = val
			}
		}
		st.seen = make(map[string]uint64, len(st.baseMap))
	}
	// seen[name] == gen: the start-up variable name is set now. A
	// generation number instead of a fresh set per call; os.Environ
	// lists each name once (package syscall drops duplicates).
	st.gen++
	found := 0
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		want, ok := st.baseMap[name]
		if !ok {
			os.Unsetenv(name)
			continue
		}
		if st.seen[name] != st.gen {
			st.seen[name] = st.gen
			found++
		}
		if want != val {
			os.Setenv(name, want)
		}
	}
	if found == len(st.baseMap) {
		return
	}
	for name, val := range st.baseMap {
		if st.seen[name] != st.gen {
			os.Setenv(name, val)
		}
	}
}

// Close closes the control socket (a stage about to exec in place need
// not call it: the descriptor is close-on-exec).
func (st *Stage) Close() {
	if st.ctl != nil {
		st.ctl.Close()
		st.ctl = nil
	}
}

// read runs recv on the control descriptor when it is readable, until it
// returns something other than EAGAIN.
func (st *Stage) read(recv func(ctl int) error) error {
	if st.ctl == nil {
		return ErrClosed
	}
	rc, err := st.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		rerr = recv(int(fd))
		return !errors.Is(rerr, unix.EAGAIN)
	}); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	return rerr
}

// send sends one message (and optionally descriptors) on the control
// descriptor, waiting in the poller if its buffer is full.
func (st *Stage) send(p, oob []byte) error {
	if st.ctl == nil {
		return ErrClosed
	}
	rc, err := st.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), p, oob, nil, unix.MSG_NOSIGNAL)
		return serr != unix.EAGAIN
	}); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("handoff: sendmsg: %w", serr)
	}
	return nil
}

// detach moves fds 0 and 1 to /dev/null, closing the stage's last copies
// of the client socket (the caller has closed any other, e.g. a net.Conn).
func (st *Stage) detach() error {
	for _, fd := range []int{0, 1} {
		if err := unix.Dup2(st.null, fd); err != nil {
			return fmt.Errorf("handoff: dup2: %w", err)
		}
	}
	return nil
}

// Done reports that the current connection is over with no session: the
// client logged out, went away or timed out. The caller has closed its own
// copies of the socket (net.Conn); Done parks fds 0 and 1 on /dev/null.
func (st *Stage) Done() error {
	if !st.reuse {
		return errors.New("handoff: Done on a stage that is not reusable")
	}
	if err := st.detach(); err != nil {
		return err
	}
	return st.send([]byte{kindDone}, nil)
}

// End finishes a connection that has no session, for a login stage's
// loop (Run): a reusable stage that did not start TLS on it reports Done
// and is served again (again true); any other stage, or one whose Done
// failed, must exit with code. The caller has closed its own copies of the
// socket. name prefixes the error line.
func (st *Stage) End(name string, code int, tlsStarted bool) (int, bool) {
	if !st.Reusable() || tlsStarted {
		return code, false
	}
	if err := st.Done(); err != nil {
		fmt.Fprintf(os.Stderr, "ERR: %s: %v\n", name, err)
		return 1, false
	}
	return 0, true
}

// ErrNotSent is wrapped by a Spawn error that happened before anything
// reached couriertcpd: the caller may still exec the session in place.
var ErrNotSent = errors.New("handoff: spawn request not sent")

// Spawn asks couriertcpd to start the session described by sp with fd 0
// (the client socket) on its fds 0 and 1, and waits for the answer. On
// success the stage's copies of the socket are closed (fds 0 and 1 parked
// on /dev/null) and it is ready for Next. An error wrapping ErrNotSent
// leaves everything as it was; any other error means couriertcpd refused
// or failed to start the session (the socket is still on fds 0 and 1, so
// the caller can tell the client).
func (st *Stage) Spawn(sp *Spawn) error {
	if !st.reuse {
		return fmt.Errorf("%w: stage not reusable", ErrNotSent)
	}
	p, err := EncodeSpawn(sp)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotSent, err)
	}
	if err := st.send(p, unix.UnixRights(0)); err != nil {
		return fmt.Errorf("%w: %v", ErrNotSent, err)
	}
	buf := st.buf[:4096]
	var n int
	err = st.read(func(ctl int) error {
		var err error
		n, _, _, _, err = unix.Recvmsg(ctl, buf, nil, 0)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("handoff: spawn reply: %w", err)
	case n == 0:
		return errors.New("handoff: spawn reply: control socket closed")
	case buf[0] == kindOK:
		return st.detach()
	case buf[0] == kindErr:
		return fmt.Errorf("couriertcpd: %s", buf[1:n])
	}
	return fmt.Errorf("handoff: spawn reply: unknown message %q", buf[:n])
}

// Result is what a reusable stage reported at the end of a connection:
// Spawn set, with Conn the client socket to start it on, or Spawn nil for
// Done (Conn -1).
type Result struct {
	Spawn *Spawn
	Conn  int
}

// ReadResult waits for a reusable stage's report on ctl (couriertcpd's
// end). It returns ErrClosed at end of file: the stage exec'd in place or
// died, and its process now stands for the connection.
func ReadResult(ctl int, buf []byte) (*Result, error) {
	if len(buf) < MaxSpawn+1 {
		return nil, errors.New("handoff: ReadResult buffer too small")
	}
	n, fds, truncated, err := recvWithRights(ctl, buf)
	if err != nil {
		return nil, err
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if n == 0 && len(fds) == 0 {
		return nil, ErrClosed
	}
	if truncated {
		closeAll()
		return nil, errors.New("handoff: message truncated")
	}
	p := buf[:n]
	switch {
	case n == 1 && p[0] == kindDone && len(fds) == 0:
		return &Result{Conn: -1}, nil
	case n > 0 && p[0] == kindSpawn && len(fds) == 1:
		sp, err := DecodeSpawn(p)
		if err != nil {
			closeAll()
			return nil, err
		}
		return &Result{Spawn: sp, Conn: fds[0]}, nil
	}
	closeAll()
	return nil, fmt.Errorf("handoff: unexpected message (%d bytes, %d descriptors)", n, len(fds))
}

// Reply answers a Spawn: nil for started, else the reason.
func Reply(ctl int, started error) error {
	msg := []byte{kindOK}
	if started != nil {
		text := started.Error()
		if len(text) > 1000 {
			text = text[:1000]
		}
		msg = append([]byte{kindErr}, text...)
	}
	if err := unix.Sendmsg(ctl, msg, nil, nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("handoff: sendmsg: %w", err)
	}
	return nil
}
