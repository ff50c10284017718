// Package starttls lets a login stage (imaplogin, pop3login; root, before
// authentication) switch its client connection to TLS for STARTTLS/STLS
// (RFC 3501 §6.2.1, RFC 2595 §4) without ever holding the private key or
// running TLS code itself: it starts couriertls over a socketpair, as
// Courier does (reference §2 "couriertls", §3.2), and continues in plain
// text on its end of the pair.
//
// Invariants:
//   - The client socket is handed to couriertls as a raw descriptor. The
//     handshake reads it from the first byte after what the login stage
//     consumed; nothing in this package reads the socket.
//   - Start returns only after couriertls reported a finished handshake
//     (or an error), so a Session always means "TLS is up".
//   - couriertls reads the key as root and drops to an unprivileged system
//     user before the handshake; the login stage and the mail session it
//     execs never see the key (the socketpair carries plaintext only).
//
// The contract that prevents STARTTLS command injection (CVE-2011-0411
// class; Courier discards pipelined bytes, reference §3.2, §13 item 5):
//
//  1. Read the STARTTLS command line, send the tagged OK
//     ("<tag> OK Begin SSL/TLS negotiation now." / "+OK Begin SSL/TLS
//     negotiation now."), and flush it.
//  2. Stop every reader of the connection and DISCARD the read buffer
//     (e.g. drop the bufio.Reader; never hand its Buffered() bytes on).
//     Bytes the client sent after the command line and that are still in
//     the kernel reach the TLS handshake and make it fail, which is the
//     safe outcome.
//  3. Close every extra copy of the socket you hold (the file that
//     stdioconn.Socket returns is a dup): couriertls must be the only holder
//     besides fd 0/1, or a client close would never be seen.
//  4. Call StartStdio (socket on fd 0/1) or Start (socket anywhere).
//  5. Continue on Session.Conn with a fresh reader. Build the session
//     stage's environment with MergeEnv(os.Environ(), s.Env("imap")) (or
//     "pop3") so it sees IMAP_TLS=1, IMAP_STARTTLS=NO, ... and the client
//     certificate variables (TLS_EXTERNAL_ID, TLS_SUBJECT_*), replacing
//     inherited values instead of duplicating them.
package starttls

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"gocourier/internal/paths"
)

// Options for Start. The zero value is the normal configuration.
type Options struct {
	// Program is the couriertls binary; default $COURIERTLS, else
	// paths.Sbindir/couriertls.
	Program string
	// User is the system user couriertls runs the pump as (its -user=);
	// default $TLS_USER, else "courier" (couriertls falls back to nobody
	// when the user does not exist).
	User string
	// Timeout bounds the handshake; default 60 s (Courier's pre-login
	// inactivity limit).
	Timeout time.Duration
	// Env is couriertls's environment (TLS_* settings); default os.Environ().
	Env []string
}

// Session is a connection that has been switched to TLS.
type Session struct {
	// Conn is the plaintext end of the socketpair; reads give what the
	// client sent inside TLS, writes are encrypted by couriertls.
	Conn net.Conn
	// Status is what couriertls reported (External is the verified
	// TLS_EXTERNAL identity, or "").
	Status Status
	// Pid is couriertls's process id. Nobody needs to wait for it: it ends
	// when either side closes, and after the login stage execs the
	// session stage it is that program's child until it exits.
	Pid int
}

// Env returns the variables for the session stage (see the package Env).
// A login stage that builds the session stage's environment from
// os.Environ() should drop inherited variables for which TrustedOnly is
// true before appending these.
func (s *Session) Env(service string) []string { return Env(service, s.Status) }

// StartStdio switches the connection on fd 0/1 (couriertcpd's layout) to
// TLS. On success fd 0 and 1 are the plaintext end of the socketpair, so a
// later exec of the session stage hands it the decrypted stream, and
// Session.Conn reads and writes the same socket. On failure fds 0/1 are
// unchanged and the caller should exit: the client is mid-handshake and
// cannot be spoken to in plain text any more.
func StartStdio(opt Options) (*Session, error) {
	s, plain, err := start(os.Stdin, opt)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	for _, fd := range []int{0, 1} {
		if err := unix.Dup3(int(plain.Fd()), fd, 0); err != nil {
			s.Conn.Close()
			return nil, fmt.Errorf("starttls: dup to fd %d: %w", fd, err)
		}
	}
	return s, nil
}

// Start switches client to TLS. The caller keeps client open or closes it
// as it likes; it must not read from it any more (see the package
// contract). Session.Conn is the plaintext side.
func Start(client *os.File, opt Options) (*Session, error) {
	s, plain, err := start(client, opt)
	if err != nil {
		return nil, err
	}
	plain.Close()
	return s, nil
}

func start(client *os.File, opt Options) (*Session, *os.File, error) {
	prog := opt.Program
	if prog == "" {
		prog = os.Getenv("COURIERTLS")
	}
	if prog == "" {
		prog = paths.Sbindir + "/couriertls"
	}
	user := opt.User
	if user == "" {
		user = os.Getenv("TLS_USER")
	}
	if user == "" {
		user = "courier"
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("starttls: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "starttls-plain")
	theirs := os.NewFile(uintptr(fds[1]), "starttls-pump")
	pr, pw, err := os.Pipe()
	if err != nil {
		mine.Close()
		theirs.Close()
		return nil, nil, fmt.Errorf("starttls: pipe: %w", err)
	}
	cmd := exec.Command(prog, "-server", "-remotefd=3", "-localfd=4", "-statusfd=5",
		"-starttls", "-user="+user, fmt.Sprintf("-timeout=%d", int(timeout/time.Second)))
	cmd.ExtraFiles = []*os.File{client, theirs, pw}
	cmd.Stderr = os.Stderr
	cmd.Env = opt.Env
	err = cmd.Start()
	theirs.Close()
	pw.Close()
	if err != nil {
		mine.Close()
		pr.Close()
		return nil, nil, fmt.Errorf("starttls: starting %s: %w", prog, err)
	}
	// Reap it if this process lives on; harmless if we exec first.
	go cmd.Wait()
	// +5 s: couriertls enforces the timeout itself; this is the backstop.
	pr.SetReadDeadline(time.Now().Add(timeout + 5*time.Second))
	st, err := ReadStatus(pr)
	pr.Close()
	if err != nil {
		mine.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			cmd.Process.Kill()
		}
		return nil, nil, err
	}
	conn, err := net.FileConn(mine)
	if err != nil {
		mine.Close()
		return nil, nil, fmt.Errorf("starttls: %w", err)
	}
	return &Session{Conn: conn, Status: st, Pid: cmd.Process.Pid}, mine, nil
}
