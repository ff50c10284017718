// Command imaplogin is the pre-authentication IMAP stage (reference §1,
// §3): run as root by couriertcpd with the client socket on fd 0/1 as
// `imaplogin <imapd-path> <default-maildir>`, it greets, authenticates
// through authdaemond (the protocol is internal/imappreauth, the
// authdaemond side internal/login) and on success drops privileges
// and execs the session stage with IMAPLOGINTAG=<tag>; imapd then sends
// the tagged OK (§1.1).
//
// STARTTLS (RFC 3501 §6.2.1) is offered when IMAP_STARTTLS=YES, the
// connection is not on TLS yet, and couriertls and TLS_CERTFILE are usable
// (internal/starttls). On STARTTLS imaplogin follows the starttls
// contract: the OK is flushed, the pre-auth reader and its buffer are
// dropped, stdioconn's copy of the socket is closed, couriertls takes
// over fd 0/1, and the process environment is switched to the TLS state
// (IMAP_TLS=1, TLS_EXTERNAL_ID, ...) so that the capability list and the
// exec'd imapd see it. AUTHENTICATE EXTERNAL logs the certificate's
// identity in with authdaemond's PRE (no password).
//
// IMAP_LOGIN_FAILURE_DELAY (seconds, default 5, Courier's fixed sleep)
// exists for tests only.
package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/envconf"
	"gocourier/internal/handoff"
	"gocourier/internal/imappreauth"
	"gocourier/internal/login"
	"gocourier/internal/starttls"
	"gocourier/internal/stdioconn"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: imaplogin <imapd-path> <default-maildir>")
		os.Exit(1)
	}
	// A stage couriertcpd started ahead of time waits for its connection
	// (internal/handoff); a reusable one serves connections one after the
	// other. A stage started for its connection gets st == nil.
	handoff.Run("imaplogin", func(st *handoff.Stage) (int, bool) {
		return serve(st, os.Args[1], os.Args[2])
	})
}

// serve runs one connection on fds 0/1. It returns again=true when the
// connection is over and this reusable stage can take the next one
// (couriertcpd has been told, and fds 0/1 are off the client); otherwise
// the process must exit with code.
func serve(st *handoff.Stage, imapd, defMaildir string) (code int, again bool) {
	var r io.Reader = os.Stdin
	var w io.Writer = os.Stdout
	closer := func() { os.Stdin.Close(); os.Exit(1) }
	nc := stdioconn.Socket() // nil when fd 0 is not a socket
	if nc != nil {
		r, w = nc, nc
		closer = func() { nc.Close() }
	}
	tlsStarted := false
	// done ends a connection that has no session: a reusable stage hands
	// itself back to couriertcpd, any other exits.
	done := func(code int) (int, bool) {
		if nc != nil {
			nc.Close()
		}
		return st.End("imaplogin", code, tlsStarted)
	}
	delay := envconf.SecondsAllowingZero("IMAP_LOGIN_FAILURE_DELAY", 5*time.Second)
	ip, port := os.Getenv("TCPREMOTEIP"), os.Getenv("TCPREMOTEPORT")
	if ip == "" {
		ip = "127.0.0.1"
	}
	if port == "" {
		port = "N/A"
	}
	service := login.ServiceName("imap")
	p := &imappreauth.PreLogin{
		Service:      service,
		FailureDelay: delay,
		Timeout:      60 * time.Second,
		Log:          os.Stderr,
		IP:           ip,
		Port:         port,
		Closer:       closer,
		Hostname:     os.Getenv("HOSTNAME"),
		IsTemporary:  login.IsTemporary,
		TLSAvailable: starttls.Available(os.Getenv),
		Random:       rand.Reader,
		StartTLS: func() (io.Reader, io.Writer, error) {
			// From here on this process is the connection's: couriertls
			// is its child and holds the socket, so it execs the session
			// in place (or exits) instead of being reused.
			tlsStarted = true
			// PreLogin has dropped its reader; close our copy of the
			// socket so couriertls is its only holder besides fd 0/1.
			if nc != nil {
				nc.Close()
				nc = nil
			}
			s, err := starttls.StartStdio(starttls.Options{})
			if err != nil {
				return nil, nil, err
			}
			if err := s.ApplyEnv("imap"); err != nil {
				return nil, nil, err
			}
			return s.Conn, s.Conn, nil
		},
		Auth: func(req *authproto.Request) (*authproto.UserInfo, error) {
			if req.Cmd == authproto.CmdPre {
				return login.Pre(service, req.User)
			}
			if req.AuthType == authproto.AuthLogin {
				u, pw, _ := req.LoginData()
				return login.Login(service, u, pw)
			}
			ch, resp, _ := req.CramData()
			return login.CRAM(service, req.AuthType, ch, resp)
		},
	}
	res, err := p.Run(r, w)
	if res == nil {
		if err != nil {
			return done(1)
		}
		return done(0)
	}
	extra := []string{"IMAPLOGINTAG=" + res.Tag, "PROTOCOL=IMAP"}
	// The session is sequential: one P keeps imapd's threads and memory
	// down (go-libs §1). It must be in the environment, not set by
	// imapd's main: the runtime sizes itself from it at start-up.
	if os.Getenv("GOMAXPROCS") == "" {
		extra = append(extra, "GOMAXPROCS=1")
	}
	for _, k := range []string{"TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALPORT"} {
		if os.Getenv(k) == "" {
			def := map[string]string{"TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "N/A", "TCPLOCALPORT": "143"}[k]
			extra = append(extra, k+"="+def)
		}
	}
	if tlsStarted {
		st = nil // exec in place: couriertls is our child
	}
	spawned, err := login.StartSession(st, res.Account, imapd, defMaildir, extra)
	if spawned {
		// couriertcpd runs the session; Spawn parked fds 0/1.
		if nc != nil {
			nc.Close()
		}
		return 0, true
	}
	fmt.Fprintf(os.Stderr, "ERR: %v\n", err)
	fmt.Fprint(w, "* BYE Temporary problem, please try again later\r\n")
	return done(1)
}
