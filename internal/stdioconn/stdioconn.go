// Package stdioconn finds the client connection of a per-connection worker.
//
// couriertcpd, systemd (Accept=yes, StandardInput=socket) and inetd give the
// worker its client socket on fd 0 and 1; an administrator or a test may
// instead run a worker by hand with pipes or a terminal there (Courier's
// imapd answers "* PREAUTH" that way). A socket is returned as an *os.File
// on a non-blocking copy of fd 0 that the runtime's poller watches, so that
// read and write deadlines work; anything else is used as is.
//
// It does this with os and syscall alone, not net.FileConn: the session
// stages (imapd, pop3d) are started once per login, and linking net would
// cost CPU at every start for nothing they need from it.
//
// Invariant: when fd 0 is not a socket it is left exactly as it was. (Making
// a pipe non-blocking would change the file description it shares with the
// parent and with os.Stdin, after which plain reads of os.Stdin fail with
// EAGAIN and a worker would take its first read for a disconnect.) For a
// socket the shared description does become non-blocking, as net.FileConn
// made it before: callers use the returned file, not os.Stdin/os.Stdout.
package stdioconn

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Socket returns fd 0 as a pollable *os.File when it is a socket, with
// TCP_NODELAY set on TCP (replies are written whole; Nagle must never hold
// one back), or nil when fd 0 is something else.
//
// The file is a close-on-exec duplicate of fd 0, as net.FileConn's was:
// closing it leaves fds 0 and 1 open (the login stages close their copy
// before couriertls or the session takes over the socket), and reads and
// writes through it reach the same socket as fds 0 and 1.
func Socket() *os.File {
	if _, err := syscall.GetsockoptInt(0, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil {
		return nil
	}
	fd, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	// os.NewFile registers a descriptor that is already non-blocking with
	// the runtime poller; a blocking one it would leave unpolled, without
	// deadlines.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil
	}
	f := os.NewFile(uintptr(fd), "client socket")
	if f.SetReadDeadline(time.Time{}) != nil {
		// A socket that the runtime cannot poll: give fd 0 back in
		// blocking mode for plain reads.
		f.Close()
		_ = syscall.SetNonblock(0, false)
		return nil
	}
	// Fails with EOPNOTSUPP on a Unix socket, which has no Nagle.
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	return f
}
