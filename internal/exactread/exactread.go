// Package exactread reads a client's commands without consuming anything
// past the end of the line being read.
//
// A login stage (imaplogin, pop3login) reads the client until a login
// succeeds and then hands the socket to the session stage, a new process.
// Whatever the client pipelined after the login line (RFC 3501 §5.5 and
// RFC 2449 allow it) must still be in the socket then, so a buffered
// reader must never read ahead of the line it is parsing.
//
// The simple way, a read of one byte per system call, costs about thirty
// system calls for one LOGIN line, each a trip through the runtime's
// poller. On a socket this package instead peeks at what has arrived
// (recv with MSG_PEEK) and then reads exactly up to and including the
// first line feed: two system calls per line. A line feed ends every IMAP
// and POP3 command line and every line of an IMAP literal's surroundings,
// so a read never crosses the end of a command. Anything that is not a
// socket (a pipe or a terminal when a stage is run by hand, a test's
// buffer) is read one byte at a time as before.
//
// Invariant: the bytes returned by one Read are exactly the bytes removed
// from the input, and they never extend past the first line feed.
package exactread

import (
	"bytes"
	"io"
	"syscall"
)

// New returns a reader over r that never consumes input past the end of
// the current line.
func New(r io.Reader) io.Reader {
	if sc, ok := r.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil && isSocket(rc) {
			return &peekReader{rc: rc}
		}
	}
	return oneByteReader{r}
}

// isSocket reports whether the descriptor behind rc is a socket.
func isSocket(rc syscall.RawConn) bool {
	sock := false
	rc.Control(func(fd uintptr) {
		_, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE)
		sock = err == nil
	})
	return sock
}

// oneByteReader hands out at most one byte per Read.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// peekReader reads a socket a line at a time through the runtime's
// poller (so read deadlines set on the connection apply).
type peekReader struct{ rc syscall.RawConn }

func (r *peekReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := r.do(p, syscall.MSG_PEEK)
	if err != nil || n == 0 {
		return 0, err
	}
	if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
		n = i + 1
	}
	// The peeked bytes are in the socket's buffer and this process is
	// its only reader: the read returns them all.
	return r.do(p[:n], 0)
}

// do is one recv(2) with flags, waiting in the poller while nothing has
// arrived. End of input is io.EOF.
func (r *peekReader) do(p []byte, flags int) (int, error) {
	var n int
	var err error
	if rerr := r.rc.Read(func(fd uintptr) bool {
		for {
			n, _, err = syscall.Recvfrom(int(fd), p, flags)
			if err != syscall.EINTR {
				return err != syscall.EAGAIN
			}
		}
	}); rerr != nil {
		return 0, rerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
