// Command pop3login is the pre-authentication POP3 stage (reference §1,
// §6): run as root by couriertcpd with the client socket on fds 0/1 as
// `pop3login <pop3d-path> <default-maildir>`. It greets, serves the
// AUTHORIZATION state (internal/pop3), asks authdaemond through
// internal/login with service "pop3" (or $AUTHSERVICE<port>), and on
// success drops to the account and execs pop3d, which sends
// "+OK logged in." (reference §1.1).
//
// It reads the socket a byte at a time so that commands the client
// pipelined after PASS stay in the socket for pop3d.
//
// POP3_LOGIN_FAILURE_DELAY (seconds, default 5 as Courier) exists for
// tests only; POP3_LOGIN_TIMEOUT (seconds, default 60) bounds each
// command before login.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"gocourier/internal/login"
	"gocourier/internal/pop3"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pop3login <pop3d-path> <default-maildir>")
		os.Exit(1)
	}
	os.Exit(run(os.Args[1], os.Args[2]))
}

func envSeconds(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Second))
		}
	}
	return def
}

// hostname is $HOSTNAME or the kernel's name, for the CRAM challenge.
func hostname() string {
	if h := os.Getenv("HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

func run(pop3d, defMaildir string) int {
	start := time.Now()
	var r io.Reader = os.Stdin
	var w io.Writer = os.Stdout
	if nc, err := net.FileConn(os.Stdin); err == nil {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		r, w = nc, nc
	}
	ip, port := os.Getenv("TCPREMOTEIP"), os.Getenv("TCPREMOTEPORT")
	if ip == "" {
		ip = "127.0.0.1"
	}
	if port == "" {
		port = "N/A"
	}
	where := fmt.Sprintf("ip=[%s], port=[%s]", ip, port)
	fmt.Fprintf(os.Stderr, "DEBUG: Connection, %s\n", where)

	service := login.ServiceName("pop3")
	var acct *login.Account
	conn := pop3.NewConn(r, w, true)
	l := &pop3.Login{
		Conn:      conn,
		Capa:      pop3.CapabilitiesFromEnv(os.Getenv),
		Timeout:   envSeconds("POP3_LOGIN_TIMEOUT", 60*time.Second),
		FailDelay: envSeconds("POP3_LOGIN_FAILURE_DELAY", 5*time.Second),
		Check: func(cr pop3.Credentials) error {
			a, err := login.Login(service, cr.User, cr.Pass)
			if err == nil {
				acct = a
			}
			return err
		},
		CRAM: func(mech, ch, resp string) error {
			a, err := login.CRAM(service, mech, ch, resp)
			if err == nil {
				acct = a
			}
			return err
		},
		Hostname:    hostname(),
		IsTemporary: login.IsTemporary,
		Failed: func(cr pop3.Credentials, _ error) {
			if cr.Method == "USER" {
				fmt.Fprintf(os.Stderr, "INFO: LOGIN FAILED, user=%s, %s\n", cr.User, where)
			} else {
				fmt.Fprintf(os.Stderr, "INFO: LOGIN FAILED, method=%s, %s\n", cr.Method, where)
			}
		},
	}
	cr, out := l.Serve()
	conn.Flush()
	if cr == nil {
		switch out {
		case pop3.Quit:
			fmt.Fprintf(os.Stderr, "INFO: LOGOUT, %s, rcvd=%d, sent=%d\n", where, conn.Rcvd, conn.Sent())
		case pop3.TimedOut:
			fmt.Fprintf(os.Stderr, "INFO: TIMEOUT, %s\n", where)
		default:
			fmt.Fprintf(os.Stderr, "DEBUG: Disconnected, %s, time=%d\n", where, int(time.Since(start).Seconds()))
		}
		return 0
	}
	extra := []string{"PROTOCOL=POP3"}
	if l.UTF8 {
		extra = append(extra, "POP3_UTF8=1")
	}
	// net.FileConn made the shared file description non-blocking; pop3d
	// and the loginexec hook expect an ordinary blocking socket.
	_ = syscall.SetNonblock(0, false)
	_ = syscall.SetNonblock(1, false)
	err := login.ExecSession(acct, pop3d, defMaildir, extra)
	fmt.Fprintf(os.Stderr, "ERR: %s: %v\n", cr.User, err)
	conn.Err("[SYS/TEMP] Temporary problem, please try again later")
	conn.Flush()
	return 1
}
