// Package tcpd is the core of couriertcpd: option and port-list parsing, the
// accept loop with connection limits and access control, spawning one child
// process per connection, the stderr logger, pid-file daemon control and
// systemd socket activation (reference §2).
//
// Invariants:
//   - Every accepted connection is either refused (access deny, per-IP or
//     per-C-block limit) or handed to exactly one child on fds 0 and 1; the
//     parent closes its copies at once, so the child alone owns the socket.
//   - No descriptor other than 0, 1 and 2 reaches a child (Go opens files
//     close-on-exec and Server sweeps inherited descriptors at start). A
//     pre-started child (-prestart, prestart.go) also has its end of the
//     hand-off socketpair on fd 3 until its one connection arrives; it
//     closes it then (internal/handoff).
//   - A pre-started child serves exactly one connection, gets the same
//     variables a fork/exec'd one would, and holds no slot until it has a
//     connection; every child and spare is in its own process group and is
//     signalled by Shutdown.
//   - At most MaxProcs children run; while all slots are busy nothing is
//     accepted (the kernel backlog queues clients), as in Courier.
//   - The child environment is the daemon's minus systemd's LISTEN_*,
//     NOTIFY_SOCKET and WATCHDOG_* variables, plus the access-file variables,
//     plus TCPREMOTEIP/TCPREMOTEPORT/TCPLOCALIP/TCPLOCALPORT (these last win).
//   - We never do DNS or ident lookups: -nodnslookup/-noidentlookup are
//     accepted and are always in effect, so TCPREMOTEHOST, TCPLOCALHOST and
//     TCPREMOTEINFO are never set (Debian's configuration passes both flags).
package tcpd

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Options are couriertcpd's command-line settings.
type Options struct {
	PidFile  string
	Stop     bool
	Restart  bool
	Address  string // -address; "" or "0" = all addresses
	Ports    string // the portlist argument
	Program  string
	Args     []string // argv for the child, Args[0] = Program
	MaxProcs int      // default 40
	MaxPerIP int      // default 4
	MaxPerC  int      // default MaxProcs
	Warn     int      // warn at this many children; default MaxProcs-(MaxProcs/10+1)
	Listen   int      // backlog; 0 = system default (SOMAXCONN)

	Access      string
	AccessLocal bool
	DenyMsg     string
	HaveDenyMsg bool

	Stderr           string // "", "socket" or a file name
	StderrLogger     string
	StderrLoggerName string

	User, Group string

	// Prestart is ours (-prestart=N): how many copies of the program to
	// keep started ahead of connections (internal/handoff); -1 = not
	// given, see PrestartCount.
	Prestart int
	// PrestartUses is ours (-prestartuses=N): how many connections one
	// pre-started copy serves, one after the other, before it exits
	// (internal/handoff, reuse.go); 1 is one connection per process.
	PrestartUses int
	// TimerSlack is ours (-timerslack=DURATION): the timer slack the
	// children start with (timerslack.go); 0 leaves them ours.
	TimerSlack time.Duration

	// Accepted for compatibility and ignored (logged): we do no DNS.
	Ignored []string
}

// ErrUsage is returned for a command line that cannot be used.
var ErrUsage = errors.New("usage: couriertcpd [-pid=file] [options] portlist program args... | -pid=file -stop|-restart")

// ParseArgs parses argv (without argv[0]) the way Courier's argparse does:
// options are `-name` or `-name=value`, they end at the first argument that
// does not start with `-` (or after `--`).
func ParseArgs(argv []string) (*Options, error) {
	o := &Options{MaxProcs: 40, MaxPerIP: 4, Warn: -1, Prestart: -1, PrestartUses: DefaultPrestartUses,
		TimerSlack: DefaultTimerSlack}
	i := 0
	warnSet, percSet := false, false
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		name, val, hasVal := strings.Cut(a[1:], "=")
		num := func() (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("invalid -%s option %q", name, val)
			}
			return n, nil
		}
		var err error
		switch name {
		case "pid":
			o.PidFile = val
		case "stop":
			o.Stop = true
		case "restart":
			o.Restart = true
		case "address":
			o.Address = val
		case "maxprocs":
			o.MaxProcs, err = num()
		case "maxperip":
			o.MaxPerIP, err = num()
		case "maxperc":
			o.MaxPerC, err = num()
			percSet = true
		case "warn":
			n, cerr := strconv.Atoi(val)
			if cerr != nil {
				err = fmt.Errorf("invalid -warn option %q", val)
			}
			o.Warn, warnSet = n, true
		case "listen":
			o.Listen, err = num()
		case "access":
			o.Access = val
		case "accesslocal":
			o.AccessLocal = true
		case "denymsg":
			o.DenyMsg, o.HaveDenyMsg = val, true
		case "stderr":
			o.Stderr = val
		case "stderrlogger":
			o.StderrLogger = val
		case "stderrloggername":
			o.StderrLoggerName = val
		case "prestart":
			n, cerr := strconv.Atoi(val)
			if cerr != nil || n < 0 || n > 64 {
				err = fmt.Errorf("invalid -prestart option %q", val)
			}
			o.Prestart = n
		case "prestartuses":
			n, cerr := strconv.Atoi(val)
			if cerr != nil || n < 1 || n > 1000000 {
				err = fmt.Errorf("invalid -prestartuses option %q", val)
			}
			o.PrestartUses = n
		case "timerslack":
			o.TimerSlack, err = parseTimerSlack(val)
		case "user":
			o.User = val
		case "group":
			o.Group = val
		case "nodnslookup", "noidentlookup":
			// Always in effect: we never look names up.
		case "drop", "block", "allow", "proxy":
			o.Ignored = append(o.Ignored, a)
		default:
			return nil, fmt.Errorf("unknown option -%s: %w", name, ErrUsage)
		}
		if err != nil {
			return nil, err
		}
		if !hasVal && needsValue(name) {
			return nil, fmt.Errorf("option -%s needs =value: %w", name, ErrUsage)
		}
	}
	if (o.Stop || o.Restart) && o.PidFile == "" {
		return nil, errors.New("-pid argument is required")
	}
	if o.Stop || o.Restart {
		return o, nil
	}
	rest := argv[i:]
	if len(rest) < 2 {
		return nil, ErrUsage
	}
	o.Ports, o.Program, o.Args = rest[0], rest[1], rest[1:]
	if !percSet {
		o.MaxPerC = o.MaxProcs
	}
	// Courier: warn at 90% unless -warn gives a value in [0, maxprocs].
	def := o.MaxProcs - (o.MaxProcs/10 + 1)
	if !warnSet || o.Warn < 0 || o.Warn > o.MaxProcs {
		o.Warn = def
	}
	return o, nil
}

func needsValue(name string) bool {
	switch name {
	case "pid", "address", "maxprocs", "maxperip", "maxperc", "warn", "listen", "access",
		"stderr", "stderrlogger", "stderrloggername", "user", "group", "prestart", "prestartuses", "timerslack":
		return true
	}
	return false
}

// ListenSpec is one socket to bind: Host "" means all addresses.
type ListenSpec struct {
	Host string
	Port int
}

func (l ListenSpec) String() string {
	h := l.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(l.Port)
}

// ParsePortList parses `port[,IP.port...]`. The address of an item is
// everything before its last '.', so `::1.143` and `127.0.0.1.143` both
// work; items without one (or with address `0`) use defAddr (-address,
// where `0` or "" means all addresses). Ports may be numbers or names from
// /etc/services (lookup may be nil for numbers only).
func ParsePortList(list, defAddr string, lookup func(string) (int, error)) ([]ListenSpec, error) {
	if defAddr == "0" {
		defAddr = ""
	}
	var out []ListenSpec
	if strings.TrimSpace(list) == "" {
		return nil, errors.New("empty port list")
	}
	for _, item := range strings.Split(list, ",") {
		if item == "" {
			return nil, fmt.Errorf("empty item in port list %q", list)
		}
		host, svc := "", item
		if i := strings.LastIndexByte(item, '.'); i >= 0 {
			host, svc = item[:i], item[i+1:]
		}
		if host == "0" || host == "" {
			host = defAddr
		}
		if host != "" {
			if err := checkHost(host); err != nil {
				return nil, err
			}
		}
		port, err := strconv.Atoi(svc)
		if err != nil {
			if lookup == nil || svc == "" {
				return nil, fmt.Errorf("invalid port: %q", svc)
			}
			port, err = lookup(svc)
			if err != nil {
				return nil, fmt.Errorf("invalid port: %q: %w", svc, err)
			}
		}
		if port <= 0 || port > 65535 {
			return nil, fmt.Errorf("invalid port: %q", svc)
		}
		out = append(out, ListenSpec{Host: host, Port: port})
	}
	return out, nil
}

func checkHost(h string) error {
	if _, err := netip.ParseAddr(h); err != nil {
		return fmt.Errorf("invalid IP address: %s", h)
	}
	return nil
}

// parseTimerSlack reads -timerslack: a Go duration ("1ms", "200us") or a
// number of nanoseconds, as prctl(2) takes it; 0 turns it off. At most a
// second: a coarser timer would delay the children's own timeouts.
func parseTimerSlack(val string) (time.Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil {
		n, nerr := strconv.ParseInt(val, 10, 64)
		if nerr != nil {
			return 0, fmt.Errorf("invalid -timerslack option %q", val)
		}
		d = time.Duration(n)
	}
	if d < 0 || d > time.Second {
		return 0, fmt.Errorf("invalid -timerslack option %q: not between 0 and 1s", val)
	}
	return d, nil
}
