// Command authdaemond is the authentication daemon that the login stages
// ask over a Unix socket (reference §10), a re-implementation of
// courier-authlib's authdaemond.
//
//	authdaemond start     daemonize (re-exec in the background), write <authdaemonvar>/pid
//	authdaemond stop      SIGTERM the running daemon and wait for it to exit
//	authdaemond restart   SIGHUP the running daemon (re-read authdaemonrc and userdb), or start it
//	authdaemond -f        run in the foreground (make run, systemd Type=notify)
//
// Differences from Courier: connections are served concurrently by
// goroutines, so "daemons=" is read and ignored; the text userdb is read
// directly (USERDB= in authdaemonrc, default $sysconfdir/userdb), so no
// userdb.dat is needed. Log lines go to stderr in the foreground and to
// syslog (facility mail, tag authdaemond) when started with "start".
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"gocourier/internal/authd"
	"gocourier/internal/paths"
)

// childMarker tells the re-executed process that it is the daemon child.
const childMarker = "AUTHDAEMOND_DAEMON_CHILD"

func usage() {
	fmt.Fprintln(os.Stderr, "Usage: authdaemond [start|stop|restart|-f]")
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "start":
		if os.Getenv(childMarker) != "" {
			err = runDaemon(true)
		} else {
			err = start()
		}
	case "stop":
		err = stop()
	case "restart":
		err = restart()
	case "-f", "foreground":
		err = runDaemon(false)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "authdaemond: %v\n", err)
		os.Exit(1)
	}
}

func loadConfig() (*authd.Config, error) {
	cfg, err := authd.LoadConfig(paths.AuthdaemonRC(), paths.AuthdaemonVar(), paths.Sysconfdir+"/userdb")
	if errors.Is(err, os.ErrNotExist) {
		return authd.DefaultConfig(paths.AuthdaemonVar(), paths.Sysconfdir+"/userdb"), nil
	}
	return cfg, err
}

// varDir is authdaemonvar, unless AUTHDAEMONVAR overrides it (tests, make run).
func varDir(cfg *authd.Config) string {
	if v := os.Getenv("AUTHDAEMONVAR"); v != "" {
		return v
	}
	return cfg.AuthdaemonVar
}

func socketPath(cfg *authd.Config) string {
	if v := os.Getenv("AUTHDAEMONSOCK"); v != "" {
		return v
	}
	return filepath.Join(varDir(cfg), "socket")
}

func pidPath(cfg *authd.Config) string { return filepath.Join(varDir(cfg), "pid") }

// readPid returns the pid of a running daemon, or 0.
func readPid(cfg *authd.Config) int {
	b, err := os.ReadFile(pidPath(cfg))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	return pid
}

// start re-executes this program in a new session with the child marker
// and waits until it has bound the socket (or died).
func start() error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if pid := readPid(cfg); pid != 0 {
		return fmt.Errorf("already running (pid %d)", pid)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "start")
	cmd.Env = append(os.Environ(), childMarker+"=1")
	cmd.Stdin, cmd.Stdout = devnull, devnull
	cmd.Stderr = w // startup errors come back here; the child then switches to syslog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	w.Close()
	msg, _ := io.ReadAll(io.LimitReader(r, 4096)) // EOF once the child is ready or dead
	r.Close()
	// The child writes its startup log lines, then "ready" once it serves.
	s := strings.TrimSpace(string(msg))
	if s == "ready" || strings.HasSuffix(s, "\nready") {
		if lines := strings.TrimSuffix(strings.TrimSuffix(s, "ready"), "\n"); lines != "" {
			fmt.Fprintln(os.Stderr, lines)
		}
		cmd.Process.Release()
		return nil
	}
	cmd.Process.Kill()
	cmd.Wait()
	if s == "" {
		return errors.New("daemon exited during startup")
	}
	return errors.New(strings.TrimPrefix(s, "authdaemond: "))
}

func stop() error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	pid := readPid(cfg)
	if pid == 0 {
		return nil // not running: nothing to do, like Courier
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	for i := 0; i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pid %d did not exit within 10 s", pid)
}

func restart() error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if pid := readPid(cfg); pid != 0 {
		return syscall.Kill(pid, syscall.SIGHUP)
	}
	return start()
}

// runDaemon serves until SIGTERM/SIGINT. detached: started by "start",
// report readiness on stderr (a pipe to the parent), then log to syslog.
func runDaemon(detached bool) error {
	logger := log.New(os.Stderr, "", 0)
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) { logger.Printf(format, args...) }

	// pid.lock (as Courier's) is held for the daemon's lifetime, so two
	// daemons never serve the same authdaemonvar, even if started at once.
	if err := os.MkdirAll(varDir(cfg), 0o750); err != nil {
		return fmt.Errorf("authdaemonvar: %w", err)
	}
	lock, err := os.OpenFile(pidPath(cfg)+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("pid lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("already running (%s is locked)", lock.Name())
	}

	sock := socketPath(cfg)
	l, err := authd.Listen(sock)
	if err != nil {
		return err
	}
	ours, _ := os.Stat(sock)
	if err := os.WriteFile(pidPath(cfg), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		l.Close()
		return fmt.Errorf("pid file: %w", err)
	}

	srv := &authd.Server{Logger: logger}
	mods := authd.BuildModules(cfg, logf)
	srv.Reconfigure(mods, cfg.DefaultOptions, cfg.DebugLogin)
	for _, m := range mods {
		if r, ok := m.(authd.Reloader); ok {
			if err := r.Reload(); err != nil {
				logf("authdaemond: %v", err)
			}
		}
	}

	if detached {
		if sl, err := syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, "authdaemond"); err == nil {
			logger.SetOutput(sl)
		} else {
			devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			logger.SetOutput(devnull)
		}
		fmt.Fprintln(os.Stderr, "ready")
		if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			syscall.Dup2(int(devnull.Fd()), 2)
			devnull.Close()
		}
	}
	logf("authdaemond: listening on %s (modules: %s)", sock, strings.Join(cfg.ModuleList, " "))
	daemon.SdNotify(false, daemon.SdNotifyReady)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	for {
		select {
		case err := <-errc:
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				daemon.SdNotify(false, daemon.SdNotifyReloading)
				reload(srv, logf)
				daemon.SdNotify(false, daemon.SdNotifyReady)
				continue
			}
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			logf("authdaemond: stopping on %v", sig)
			srv.Shutdown(0)
			l.Close()
			srv.Shutdown(5 * time.Second)
			if cur, err := os.Stat(sock); err == nil && ours != nil && os.SameFile(cur, ours) {
				os.Remove(sock)
			}
			if b, err := os.ReadFile(pidPath(cfg)); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
				os.Remove(pidPath(cfg))
			}
			return nil
		}
	}
}

// reload re-reads authdaemonrc and the modules' data (SIGHUP). The socket
// stays as it is: changing authdaemonvar needs a stop and start.
func reload(srv *authd.Server, logf func(string, ...any)) {
	cfg, err := loadConfig()
	if err != nil {
		logf("authdaemond: reload: %v (keeping the old configuration)", err)
		return
	}
	mods := authd.BuildModules(cfg, logf)
	for _, m := range mods {
		if r, ok := m.(authd.Reloader); ok {
			if err := r.Reload(); err != nil {
				logf("authdaemond: reload: %v", err)
			}
		}
	}
	srv.Reconfigure(mods, cfg.DefaultOptions, cfg.DebugLogin)
	logf("authdaemond: configuration reloaded")
}
