package tcpd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"gocourier/internal/privdrop"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// ShutdownGrace is how long children get after SIGTERM before SIGKILL.
var ShutdownGrace = 5 * time.Second

// Main is couriertcpd. args excludes argv[0]; the result is the exit code.
func Main(args []string) int {
	o, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "couriertcpd: %v\n", err)
		return 1
	}
	if o.Stop || o.Restart {
		sig := syscall.SIGTERM
		if o.Restart {
			sig = syscall.SIGHUP
		}
		if err := Signal(o.PidFile, sig, 60*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "couriertcpd: %v\n", err)
			return 1
		}
		return 0
	}
	report := DaemonReport()
	if o.PidFile != "" && report == nil {
		if err := Daemonize(args); err != nil {
			fmt.Fprintf(os.Stderr, "couriertcpd: %v\n", err)
			return 1
		}
		return 0
	}
	rc, err := run(o, report)
	if err != nil {
		fmt.Fprintf(os.Stderr, "couriertcpd: %v\n", err)
		report.Done(err)
	}
	return rc
}

func run(o *Options, report *Report) (int, error) {
	SweepCloseOnExec()
	setOwnTimerSlack(o.TimerSlack)
	// Catching SIGPIPE (rather than ignoring it) keeps a write to a dead
	// stderr from killing us, while children still start with the default
	// action: exec resets caught signals but would keep an ignored one.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)

	s := NewServer(o, os.Stderr)
	for _, ig := range o.Ignored {
		s.Logf("INFO: couriertcpd: option %s ignored (no DNS blocklists in this implementation)", ig)
	}
	if o.AccessLocal {
		s.Logf("INFO: couriertcpd: option -accesslocal ignored (not implemented)")
	}

	// systemd socket activation replaces binding.
	var lns []net.Listener
	var conn *net.TCPConn
	files := activation.Files(true)
	for _, f := range files {
		listening, err := isListening(f)
		if err != nil {
			return 1, fmt.Errorf("systemd socket %s: %w", f.Name(), err)
		}
		if listening {
			ln, err := net.FileListener(f)
			f.Close()
			if err != nil {
				return 1, fmt.Errorf("systemd socket %s: %w", f.Name(), err)
			}
			lns = append(lns, ln)
			continue
		}
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return 1, fmt.Errorf("systemd connection %s: %w", f.Name(), err)
		}
		tc, ok := c.(*net.TCPConn)
		if !ok || conn != nil {
			c.Close()
			return 1, fmt.Errorf("systemd passed an unusable connection %s", f.Name())
		}
		conn = tc
	}
	if conn != nil {
		// Accept=yes: one connection, served by one child; we exit with it.
		if err := s.LoadAccess(); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.Logf("ERR: couriertcpd: continuing without access file")
		}
		return s.ServeConn(conn), nil
	}

	var lock *PidLock
	if o.PidFile != "" {
		l, err := AcquirePid(o.PidFile)
		if err != nil {
			return 1, err
		}
		lock = l
		defer func() {
			if err := lock.Release(); err != nil {
				s.Logf("ERR: couriertcpd: removing pid file: %v", err)
			}
		}()
	}
	if len(lns) == 0 {
		specs, err := ParsePortList(o.Ports, o.Address, func(n string) (int, error) {
			return net.LookupPort("tcp", n)
		})
		if err != nil {
			return 1, err
		}
		for _, sp := range specs {
			ln, err := Bind(sp, o.Listen)
			if err != nil {
				for _, l := range lns {
					l.Close()
				}
				return 1, err
			}
			lns = append(lns, ln)
		}
	} else {
		s.Logf("INFO: couriertcpd: using %d systemd socket(s); port list %s ignored", len(lns), o.Ports)
	}

	if err := dropPrivileges(o); err != nil {
		return 1, err
	}
	if o.Stderr != "" && o.Stderr != "socket" && o.StderrLogger == "" {
		f, err := os.OpenFile(o.Stderr, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o660)
		if err != nil {
			return 1, fmt.Errorf("-stderr: %w", err)
		}
		if err := unix.Dup2(int(f.Fd()), 2); err != nil {
			return 1, fmt.Errorf("dup2: %w", err)
		}
		f.Close()
	}
	var lg *StderrLogger
	if o.StderrLogger != "" {
		l, err := StartStderrLogger(o.StderrLogger, LoggerName(o), s.baseEnv, s.Logf)
		if err != nil {
			return 1, err
		}
		lg = l
		defer lg.Close()
	}
	s.SetChildStderr(os.Stderr) // fd 2, wherever it now points
	if err := s.LoadAccess(); err != nil {
		s.Logf("ERR: couriertcpd: no access file in force: all clients allowed")
	}

	report.Done(nil)
	daemon.SdNotify(false, "READY=1")
	stopWatchdog := startWatchdog()
	defer stopWatchdog()

	served := make(chan struct{})
	go func() { s.Serve(lns); close(served) }()
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			if o.Access != "" {
				daemon.SdNotify(false, "RELOADING=1\nMONOTONIC_USEC="+daemon.SdNotifyMonotonicUsec())
				if s.LoadAccess() == nil {
					s.Logf("INFO: couriertcpd: reloaded %s", o.Access)
				}
				daemon.SdNotify(false, "READY=1")
			}
		case syscall.SIGTERM, syscall.SIGINT:
			daemon.SdNotify(false, "STOPPING=1")
			s.Shutdown(ShutdownGrace)
			<-served
			return 0, nil
		}
	}
	return 0, nil
}

func startWatchdog() func() {
	iv, err := daemon.SdWatchdogEnabled(false)
	if err != nil || iv <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(iv / 2)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				daemon.SdNotify(false, "WATCHDOG=1")
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// dropPrivileges applies -user/-group after the sockets are bound, as
// Courier does (so an unprivileged couriertcpd can still use port 143).
func dropPrivileges(o *Options) error {
	if o.User == "" && o.Group == "" {
		return nil
	}
	gid := -1
	if o.Group != "" {
		g, err := lookupGroup(o.Group)
		if err != nil {
			return err
		}
		gid = g
	}
	if o.User == "" {
		if err := syscall.Setgroups([]int{}); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setresgid(gid, gid, gid); err != nil {
			return fmt.Errorf("setgid %d: %w", gid, err)
		}
		return nil
	}
	uid, pgid, err := lookupUser(o.User)
	if err != nil {
		return err
	}
	if gid < 0 {
		gid = pgid
	}
	return privdrop.Drop(uid, gid)
}

func lookupUser(name string) (uid, gid int, err error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, os.Getgid(), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("user not found: %s", name)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("group not found: %s", name)
	}
	return strconv.Atoi(g.Gid)
}
