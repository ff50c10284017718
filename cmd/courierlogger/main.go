// Command courierlogger forwards Courier log lines to syslog.
//
//	courierlogger [-name=title] [-facility=subsystem] [-pid=file] [-droproot]
//	              [-user=u] [-group=g] [-respawn] [-start] program [args...]
//	courierlogger -pid=file -stop|-restart
//	courierlogger [-name=title] [title]          (read standard input)
//
// Each line read (from stdin, or from the started program's stderr) becomes
// one syslog message; its level comes from Courier's `INFO:`/`ERR:`/...
// prefix, which is removed (package logline). Without /dev/log the lines go
// to stderr with a timestamp. couriertcpd's -stderrlogger starts us with a
// single argument, the title, as Courier's couriertcpd does.
//
// -start with -pid runs in the background (a re-executed copy, as
// couriertcpd does), writes the pid file and passes SIGHUP/SIGTERM on to the
// program; -stop/-restart signal that copy. -droproot switches to -user
// (and -group) after the program has been started, and is ignored without
// -user. -socket=path (an extension, used by tests) logs to that syslog
// socket instead of /dev/log.
package main

import (
	"bufio"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gocourier/internal/privdrop"
	"gocourier/internal/tcpd"
	"gocourier/internal/tcpd/logline"
)

var facilities = map[string]syslog.Priority{
	"auth": syslog.LOG_AUTH, "authpriv": syslog.LOG_AUTHPRIV, "console": 14 << 3, // LOG_CONSOLE on Linux/BSD; log/syslog has no name for it
	"cron": syslog.LOG_CRON, "daemon": syslog.LOG_DAEMON, "ftp": syslog.LOG_FTP, "kern": syslog.LOG_KERN,
	"lpr": syslog.LOG_LPR, "mail": syslog.LOG_MAIL, "news": syslog.LOG_NEWS, "security": syslog.LOG_AUTH,
	"user": syslog.LOG_USER, "uucp": syslog.LOG_UUCP, "local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1,
	"local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3, "local4": syslog.LOG_LOCAL4,
	"local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

type options struct {
	name, facility, pid, user, group, socket string
	droproot, start, stop, restart, respawn  bool
	args                                     []string
}

func parse(argv []string) (*options, error) {
	o := &options{facility: "mail"}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		k, v, _ := strings.Cut(a[1:], "=")
		switch k {
		case "name":
			o.name = v
		case "facility":
			o.facility = v
		case "pid":
			o.pid = v
		case "user":
			o.user = v
		case "group":
			o.group = v
		case "socket":
			o.socket = v
		case "droproot":
			o.droproot = true
		case "start":
			o.start = true
		case "stop":
			o.stop = true
		case "restart":
			o.restart = true
		case "respawn":
			o.respawn = true
		default:
			return nil, fmt.Errorf("unknown option %s", a)
		}
	}
	o.args = argv[i:]
	if _, ok := facilities[o.facility]; !ok {
		return nil, fmt.Errorf("unknown facility %q", o.facility)
	}
	if (o.stop || o.restart) && o.pid == "" {
		return nil, fmt.Errorf("-stop and -restart need -pid")
	}
	if o.start && len(o.args) == 0 {
		return nil, fmt.Errorf("-start needs a program")
	}
	// A lone argument without -start is the title (couriertcpd's usage).
	if !o.start && len(o.args) == 1 {
		if o.name == "" {
			o.name = o.args[0]
		}
		o.args = nil
	}
	if o.name == "" {
		o.name = "courierlogger"
		if len(o.args) > 0 {
			o.name = filepath.Base(o.args[0])
		}
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	o, err := parse(argv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "courierlogger: %v\n", err)
		return 1
	}
	if o.stop || o.restart {
		sig := syscall.SIGTERM
		if o.restart {
			sig = syscall.SIGHUP
		}
		if err := tcpd.Signal(o.pid, sig, 60*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "courierlogger: %v\n", err)
			return 1
		}
		return 0
	}
	report := tcpd.DaemonReport()
	if o.pid != "" && len(o.args) > 0 && report == nil {
		if err := tcpd.Daemonize(argv); err != nil {
			fmt.Fprintf(os.Stderr, "courierlogger: %v\n", err)
			return 1
		}
		return 0
	}
	tcpd.SweepCloseOnExec() // nothing we inherited reaches the program
	out := newSink(o)
	if len(o.args) == 0 {
		pump(os.Stdin, out)
		return 0
	}
	return supervise(o, out, report)
}

// supervise runs the program with its stderr on a pipe we read, passes
// SIGHUP/SIGTERM on, and restarts it with -respawn.
func supervise(o *options, out *sink, report *tcpd.Report) int {
	var lock *tcpd.PidLock
	if o.pid != "" {
		l, err := tcpd.AcquirePid(o.pid)
		if err != nil {
			report.Done(err)
			out.emit(logline.Err, err.Error())
			return 1
		}
		lock = l
		defer lock.Release()
	}
	r, w, err := os.Pipe()
	if err != nil {
		report.Done(err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	pumped := make(chan struct{})
	go func() { pump(r, out); close(pumped) }()

	start := func() (*exec.Cmd, error) {
		cmd := exec.Command(o.args[0], o.args[1:]...)
		cmd.Stderr = w
		return cmd, cmd.Start()
	}
	cmd, err := start()
	if err != nil {
		report.Done(err)
		out.emit(logline.Err, err.Error())
		return 1
	}
	if o.droproot && o.user != "" {
		if err := dropTo(o.user, o.group); err != nil {
			out.emit(logline.Err, "courierlogger: "+err.Error())
		}
	}
	report.Done(nil)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopping := false
	rc := 0
	for {
		select {
		case sig := <-sigs:
			cmd.Process.Signal(sig)
			if sig != syscall.SIGHUP {
				stopping = true
			}
		case err := <-exited:
			if !stopping && o.respawn {
				time.Sleep(time.Second)
				if cmd, err = start(); err == nil {
					go func() { exited <- cmd.Wait() }()
					continue
				}
				out.emit(logline.Err, "courierlogger: "+err.Error())
			}
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			}
			w.Close()
			select {
			case <-pumped:
			case <-time.After(5 * time.Second): // a grandchild kept the pipe
			}
			return rc
		}
	}
}

func dropTo(name, group string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return privdrop.Drop(uid, gid)
}

// pump logs every line of r; over-long lines are logged in pieces.
func pump(r io.Reader, out *sink) {
	br := bufio.NewReaderSize(r, 8192)
	for {
		line, _, err := br.ReadLine()
		if len(line) > 0 || err == nil {
			out.line(strings.TrimRight(string(line), "\r"))
		}
		if err != nil {
			return
		}
	}
}

type sink struct {
	w    *syslog.Writer
	name string
}

func newSink(o *options) *sink {
	pri := facilities[o.facility] | syslog.LOG_INFO
	var w *syslog.Writer
	var err error
	if o.socket != "" {
		w, err = syslog.Dial("unixgram", o.socket, pri, o.name)
	} else {
		w, err = syslog.New(pri, o.name)
	}
	if err != nil {
		w = nil // no syslog daemon: stderr with timestamps
	}
	return &sink{w: w, name: o.name}
}

func (s *sink) line(l string) {
	if l == "" {
		return
	}
	lvl, msg := logline.Classify(l)
	s.emit(lvl, msg)
}

func (s *sink) emit(lvl logline.Level, msg string) {
	if s.w != nil {
		var err error
		switch lvl {
		case logline.Emerg:
			err = s.w.Emerg(msg)
		case logline.Alert:
			err = s.w.Alert(msg)
		case logline.Crit:
			err = s.w.Crit(msg)
		case logline.Err:
			err = s.w.Err(msg)
		case logline.Warning:
			err = s.w.Warning(msg)
		case logline.Notice:
			err = s.w.Notice(msg)
		case logline.Debug:
			err = s.w.Debug(msg)
		default:
			err = s.w.Info(msg)
		}
		if err == nil {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "%s %s: %s: %s\n", time.Now().Format(time.RFC3339), s.name, lvl, msg)
}
