// Command couriertls is the TLS wrapper of the server chain (reference §1,
// §2 "couriertls"): it terminates TLS for a login stage so that neither
// the login stage nor the mail session ever holds the private key.
//
// Implicit TLS (993/995), started by couriertcpd as root with the TCP
// socket on fd 0/1:
//
//	couriertls -server -tcpd -user=courier sbin/imaplogin bin/imapd Maildir
//
// STARTTLS/STLS, started by internal/starttls from a login stage:
//
//	couriertls -server -starttls -remotefd=3 -localfd=4 -statusfd=5 -user=courier
//
// Order of events, and why (the invariants of this program):
//  1. Load TLS_* settings and read the key and certificates while root
//     (internal/tlsconf reads every file up front).
//  2. -tcpd only: create a socketpair and start the program as root with
//     the plaintext end on fd 0/1 — through a re-exec of this binary in
//     "-launch" mode, which is a fresh process image without the key. The
//     launcher waits on a pipe for the handshake result and only then
//     execs the program with IMAP_TLS=1 (or POP3_TLS=1) and, for a
//     verified client certificate, TLS_EXTERNAL_ID=<TLS_EXTERNAL field>.
//     A failed handshake therefore never starts a login stage.
//  3. Drop to -user (a system user, not a mail account; nobody/65534 if it
//     does not exist) and mark the process non-dumpable, so other
//     processes of that user cannot ptrace it for the key.
//  4. Handshake (bounded by -timeout), report the result on the status
//     descriptor, then pump bytes both ways until either side closes.
//
// Unparsed bytes are never accepted from the plaintext side before the
// handshake: the TLS side is read only by crypto/tls.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gocourier/internal/privdrop"
	"gocourier/internal/starttls"
	"gocourier/internal/tlsconf"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// logf writes one log line in Courier's couriertls format: prefixed with
// "ip=[<TCPREMOTEIP>], " when the client address is known.
func logf(format string, a ...any) {
	prefix := ""
	if ip := os.Getenv("TCPREMOTEIP"); ip != "" {
		prefix = "ip=[" + ip + "], "
	}
	fmt.Fprintf(os.Stderr, prefix+"couriertls: "+format+"\n", a...)
}

type options struct {
	server, tcpd, startTLS  bool
	user, service           string
	remoteFD, localFD       int
	statusFD, launchFD      int
	timeout                 time.Duration
	verify, host, printx509 string // Courier options accepted and ignored
}

func parseFlags(args []string) (*options, []string, error) {
	o := &options{}
	fs := flag.NewFlagSet("couriertls", flag.ContinueOnError)
	fs.BoolVar(&o.server, "server", false, "server mode (the only mode)")
	fs.BoolVar(&o.tcpd, "tcpd", false, "the TCP socket is fd 0/1; run the program given after the options")
	fs.BoolVar(&o.startTLS, "starttls", false, "use TLS_STARTTLS_PROTOCOL instead of TLS_PROTOCOL")
	fs.StringVar(&o.user, "user", "", "system user to run the TLS pump as")
	fs.StringVar(&o.service, "service", "", "imap or pop3: which *_TLS=1 the program gets (default: guessed from its name)")
	fs.IntVar(&o.remoteFD, "remotefd", -1, "descriptor of the encrypted (client) side")
	fs.IntVar(&o.localFD, "localfd", -1, "descriptor of the plaintext side")
	fs.IntVar(&o.statusFD, "statusfd", -1, "descriptor to report the handshake result on")
	fs.IntVar(&o.launchFD, "launch", -1, "internal: wait for a status on this fd, then exec the program")
	secs := fs.Int("timeout", 60, "handshake timeout in seconds")
	fs.StringVar(&o.verify, "verify", "", "ignored (client mode)")
	fs.StringVar(&o.host, "host", "", "ignored (client mode)")
	fs.StringVar(&o.printx509, "printx509", "", "ignored")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if *secs <= 0 {
		*secs = 60
	}
	o.timeout = time.Duration(*secs) * time.Second
	return o, fs.Args(), nil
}

func run(args []string) int {
	// Nothing we inherited beyond what we pass on explicitly may reach the
	// program: exec.Cmd installs the files it is given and the launcher
	// execs with 0/1/2 only.
	cloexecAbove(2)
	o, prog, err := parseFlags(args)
	if err != nil {
		return 2
	}
	if o.launchFD >= 0 {
		return launch(o, prog)
	}
	if !o.server {
		logf("only -server mode is implemented")
		return 2
	}
	var remote, local *os.File
	switch {
	case o.tcpd:
		if len(prog) == 0 {
			logf("-tcpd needs a program to run")
			return 2
		}
		if o.remoteFD < 0 {
			o.remoteFD = 0
		}
	case o.remoteFD < 0 || o.localFD < 0:
		logf("need -tcpd, or -remotefd and -localfd")
		return 2
	default:
		local = os.NewFile(uintptr(o.localFD), "local")
	}
	remote = os.NewFile(uintptr(o.remoteFD), "remote")
	var status *os.File
	if o.statusFD >= 0 {
		status = os.NewFile(uintptr(o.statusFD), "status")
	}
	fail := func(format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		logf("%s", msg)
		if status != nil {
			starttls.WriteStatus(status, starttls.Status{Err: msg})
			status.Close()
		}
		return 1
	}

	// 1. Settings and key, as root.
	cfg, err := tlsconf.Load(os.Getenv, tlsconf.Options{STARTTLS: o.startTLS, LocalIP: os.Getenv("TCPLOCALIP")})
	if err != nil {
		return fail("%v", err)
	}
	for _, w := range cfg.Warnings {
		logf("%s", w)
	}
	rconn, err := net.FileConn(remote)
	if err != nil {
		return fail("remote fd %d: %v", o.remoteFD, err)
	}
	remote.Close()

	// 2. Start the program (implicit TLS) before giving up root.
	var plain net.Conn
	if o.tcpd {
		// Only rconn may keep the socket open from now on.
		if o.remoteFD != 1 {
			os.Stdout.Close()
		}
		var launcher *exec.Cmd
		plain, launcher, status, err = startProgram(o, prog)
		if err != nil {
			rconn.Close()
			return fail("%v", err)
		}
		defer launcher.Process.Release()
	} else {
		if plain, err = net.FileConn(local); err != nil {
			return fail("local fd %d: %v", o.localFD, err)
		}
		local.Close()
	}

	// 3. Drop privileges.
	if err := dropTo(o.user); err != nil {
		return fail("%v", err)
	}

	// 4. Handshake, report, pump.
	tc := tls.Server(rconn, cfg.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	err = tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		rconn.Close()
		plain.Close()
		return fail("accept: %v", err)
	}
	cs := tc.ConnectionState()
	st := starttls.Status{OK: true, Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite)}
	st.External = tlsconf.ExternalID(&cs, cfg.External)
	st.Subject = tlsconf.Subject(&cs)
	st.Protocol = tlsconf.ProtocolDesc(&cs)
	if status != nil {
		if err := starttls.WriteStatus(status, st); err != nil {
			return fail("status: %v", err)
		}
		status.Close()
	}
	// couriertcpd's SIGTERM (shutdown) should reach the program too (see
	// shutdownGrace); until it closes its end, keep its last words
	// ("* BYE Courier-IMAP server shut down by signal.") flowing.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		<-sigs
		plain.SetReadDeadline(time.Now().Add(shutdownGrace))
	}()
	pump(tc, plain)
	return 0
}

// shutdownGrace is how long the pump keeps running after a termination
// signal. The program normally gets the same signal (it shares the
// process group) and exits sooner; couriertls cannot forward the signal
// itself, because after the privilege drop it may not signal a process
// that runs as root or as a mail account.
const shutdownGrace = 5 * time.Second

// cloexecAbove marks every open descriptor above fd close-on-exec, so
// that descriptors leaked into us by a parent never reach the program.
func cloexecAbove(fd int) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > fd {
			unix.CloseOnExec(n)
		}
	}
}

// serviceFor guesses imap or pop3 from the program name (sbin/pop3login,
// courierpop3login) when -service is not given.
func serviceFor(o *options, prog []string) string {
	if o.service != "" {
		return strings.ToLower(o.service)
	}
	if strings.Contains(strings.ToLower(filepath.Base(prog[0])), "pop3") {
		return "pop3"
	}
	return "imap"
}

// startProgram starts the launcher with the plaintext end of a new
// socketpair on fd 0/1 and the read end of the status pipe on fd 3. It
// returns our end of the pair and the status pipe's write end.
func startProgram(o *options, prog []string) (net.Conn, *exec.Cmd, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "plain")
	theirs := os.NewFile(uintptr(fds[1]), "program")
	defer theirs.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		mine.Close()
		return nil, nil, nil, fmt.Errorf("pipe: %w", err)
	}
	defer pr.Close()
	// /proc/self/exe is the running image even when a package upgrade
	// has replaced or removed the file since couriertcpd started us.
	self := "/proc/self/exe"
	if _, err := os.Stat(self); err != nil {
		if self, err = os.Executable(); err != nil {
			mine.Close()
			pw.Close()
			return nil, nil, nil, fmt.Errorf("finding own executable: %w", err)
		}
	}
	args := append([]string{"-launch=3", "-service=" + serviceFor(o, prog), "--"}, prog...)
	cmd := exec.Command(self, args...)
	cmd.Args[0] = "couriertls"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs, theirs, os.Stderr
	cmd.ExtraFiles = []*os.File{pr}
	if err := cmd.Start(); err != nil {
		mine.Close()
		pw.Close()
		return nil, nil, nil, fmt.Errorf("starting %s: %w", prog[0], err)
	}
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		pw.Close()
		return nil, nil, nil, err
	}
	return c, cmd, pw, nil
}

// launch is the "-launch=N" mode: a fresh process (no key in memory, root)
// that waits for couriertls's handshake report on fd N, then execs the
// program with the TLS variables added. Any failure ends it silently: the
// parent has already logged why.
func launch(o *options, prog []string) int {
	if len(prog) == 0 {
		return 2
	}
	f := os.NewFile(uintptr(o.launchFD), "status")
	st, err := starttls.ReadStatus(f)
	f.Close()
	if err != nil || !st.OK {
		return 1
	}
	// Only couriertls may set the identity variables; ours replace any
	// inherited IMAP_STARTTLS=YES and the like.
	env := starttls.MergeEnv(os.Environ(), starttls.Env(serviceFor(o, prog), st))
	path, err := exec.LookPath(prog[0])
	if err != nil {
		logf("%v", err)
		return 1
	}
	err = syscall.Exec(path, prog, env)
	logf("exec %s: %v", path, err)
	return 1
}

// dropTo switches to the named system user. When not started as root
// (make run) there is nothing to drop. A missing user falls back to
// nobody (65534), as does root: the pump must never keep uid 0.
func dropTo(name string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid := 65534, 65534
	if name == "" {
		name = "courier"
	}
	u, err := user.Lookup(name)
	if err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if err != nil || uid == 0 {
		logf("user %q unusable (%v); running as nobody", name, err)
		uid, gid = 65534, 65534
		if nb, err := user.Lookup("nobody"); err == nil {
			uid, _ = strconv.Atoi(nb.Uid)
			gid, _ = strconv.Atoi(nb.Gid)
		}
	}
	if err := privdrop.Drop(uid, gid); err != nil {
		return err
	}
	// Same-uid processes (other connections' pumps) must not ptrace us.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}
	return nil
}

// afterClientEOF is how long the program may take to finish once the
// client has closed (it sees EOF at once); then the pump gives up.
const afterClientEOF = 10 * time.Second

// pump copies until the program closes its end (or the client goes away
// and the program does not follow within afterClientEOF). A clean client
// close becomes a half-close towards the program, so it can log
// "DISCONNECTED" normally; a program close becomes a TLS close_notify.
func pump(tc *tls.Conn, plain net.Conn) {
	uc, _ := plain.(*net.UnixConn)
	go func() {
		_, err := io.Copy(plain, tc)
		if errors.Is(err, net.ErrClosed) {
			return // the program side finished first
		}
		if err != nil {
			// Reset, bad record, ...: nothing more can reach the client.
			plain.SetReadDeadline(time.Now())
			return
		}
		if uc != nil {
			uc.CloseWrite()
		}
		plain.SetReadDeadline(time.Now().Add(afterClientEOF))
	}()
	io.Copy(tc, plain)
	tc.CloseWrite()
	tc.Close()
	plain.Close()
}
