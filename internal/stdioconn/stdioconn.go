// Package stdioconn finds the client connection of a per-connection worker.
//
// couriertcpd, systemd (Accept=yes, StandardInput=socket) and inetd give the
// worker its client socket on fd 0 and 1; an administrator or a test may
// instead run a worker by hand with pipes or a terminal there (Courier's
// imapd answers "* PREAUTH" that way). A socket is wrapped as a net.Conn so
// that deadlines work through the netpoller; anything else is used as is.
//
// Invariant: when fd 0 is not a socket it is left exactly as it was. (Calling
// net.FileConn on a pipe fails but first makes the shared file description
// non-blocking, after which plain reads of os.Stdin fail with EAGAIN and a
// worker would take its first read for a disconnect.)
package stdioconn

import (
	"net"
	"os"
	"syscall"
)

// Socket returns fd 0 as a net.Conn when it is a socket, with TCP_NODELAY set
// on TCP (replies are written whole; Nagle must never hold one back), or nil
// when fd 0 is something else.
func Socket() net.Conn {
	if _, err := syscall.GetsockoptInt(0, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil {
		return nil
	}
	c, err := net.FileConn(os.Stdin)
	if err != nil {
		// A socket that the runtime cannot poll: give fd 0 back in
		// blocking mode for plain reads.
		_ = syscall.SetNonblock(0, false)
		return nil
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c
}
