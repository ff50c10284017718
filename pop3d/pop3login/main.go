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
// STLS (RFC 2595 §4) is offered when POP3_STARTTLS=YES, the connection is
// not on TLS yet, and couriertls and TLS_CERTFILE are usable; it follows
// the internal/starttls contract (the pre-STLS reader and its buffer are
// dropped, stdioconn's copy of the socket closed, couriertls takes fd
// 0/1, the process environment switches to POP3_TLS=1 ...).
// POP3_TLS_REQUIRED=1 refuses USER/PASS/AUTH until TLS. AUTH EXTERNAL
// logs the client certificate's identity in with authdaemond's PRE.
//
// POP3_LOGIN_FAILURE_DELAY (seconds, default 5 as Courier) exists for
// tests only; POP3_LOGIN_TIMEOUT (seconds, default 60) bounds each
// command before login.
package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"gocourier/internal/envconf"
	"gocourier/internal/handoff"
	"gocourier/internal/login"
	"gocourier/internal/pop3"
	"gocourier/internal/starttls"
	"gocourier/internal/stdioconn"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pop3login <pop3d-path> <default-maildir>")
		os.Exit(1)
	}
	// A stage couriertcpd started ahead of time waits for its connection
	// (internal/handoff); a reusable one serves connections one after the
	// other. A stage started for its connection gets st == nil.
	handoff.Run("pop3login", func(st *handoff.Stage) (int, bool) {
		return run(st, os.Args[1], os.Args[2])
	})
}

// hostname is $HOSTNAME or the kernel's name, for the CRAM challenge.
func hostname() string {
	if h := os.Getenv("HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

// run serves one connection on fds 0/1. It returns again=true when the
// connection is over and this reusable stage can take the next one
// (couriertcpd has been told, and fds 0/1 are off the client); otherwise
// the process must exit with code.
func run(st *handoff.Stage, pop3d, defMaildir string) (code int, again bool) {
	start := time.Now()
	var r io.Reader = os.Stdin
	var w io.Writer = os.Stdout
	sock := stdioconn.Socket() // nil when fd 0 is not a socket
	if sock != nil {
		r, w = sock, sock
	}
	tlsStarted := false
	// done ends a connection that has no session: a reusable stage hands
	// itself back to couriertcpd, any other exits.
	done := func(code int) (int, bool) {
		if sock != nil {
			sock.Close()
		}
		return st.End("pop3login", code, tlsStarted)
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
		Timeout:   envconf.SecondsAllowingZero("POP3_LOGIN_TIMEOUT", 60*time.Second),
		FailDelay: envconf.SecondsAllowingZero("POP3_LOGIN_FAILURE_DELAY", 5*time.Second),
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
		Random:      rand.Reader,
		IsTemporary: login.IsTemporary,
		TLSRequired: starttls.TLSRequired("pop3", os.Getenv),
		External:    starttls.ExternalID("pop3", os.Getenv),
		Failed: func(cr pop3.Credentials, _ error) {
			if cr.Method == "USER" {
				fmt.Fprintf(os.Stderr, "INFO: LOGIN FAILED, user=%s, %s\n", cr.User, where)
			} else {
				fmt.Fprintf(os.Stderr, "INFO: LOGIN FAILED, method=%s, %s\n", cr.Method, where)
			}
		},
	}
	l.Capa.STLS = starttls.Offered("pop3", os.Getenv, starttls.Available(os.Getenv))
	l.Pre = func(id string) error {
		a, err := login.Pre(service, id)
		if err == nil {
			acct = a
		}
		return err
	}
	l.StartTLS = func() (*pop3.Conn, error) {
		// Serve has abandoned its reader; couriertls must be the only
		// holder of the socket besides fd 0/1. From here on this
		// process is the connection's (couriertls is its child): it
		// execs the session in place or exits, and is not reused.
		tlsStarted = true
		if sock != nil {
			sock.Close()
			sock = nil
		}
		s, err := starttls.StartStdio(starttls.Options{})
		if err != nil {
			fmt.Fprintf(os.Stderr, "ERR: STLS failed, %s: %v\n", where, err)
			return nil, err
		}
		if err := s.ApplyEnv("pop3"); err != nil {
			return nil, err
		}
		l.Capa = pop3.CapabilitiesFromEnv(os.Getenv)
		l.External = starttls.ExternalID("pop3", os.Getenv)
		conn = pop3.NewConn(s.Conn, s.Conn, true)
		return conn, nil
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
		return done(0)
	}
	extra := []string{"PROTOCOL=POP3"}
	if l.UTF8 {
		extra = append(extra, "POP3_UTF8=1")
	}
	// stdioconn.Socket made the shared file description non-blocking;
	// pop3d and the loginexec hook expect an ordinary blocking socket.
	_ = syscall.SetNonblock(0, false)
	_ = syscall.SetNonblock(1, false)
	if tlsStarted {
		st = nil // exec in place: couriertls is our child
	}
	spawned, err := login.StartSession(st, acct, pop3d, defMaildir, extra)
	if spawned {
		// couriertcpd runs the session; Spawn parked fds 0/1.
		if sock != nil {
			sock.Close()
		}
		return 0, true
	}
	fmt.Fprintf(os.Stderr, "ERR: %s: %v\n", cr.User, err)
	conn.Err("[SYS/TEMP] Temporary problem, please try again later")
	conn.Flush()
	return done(1)
}
