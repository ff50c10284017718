package main

import (
	"os"
	"runtime"
	"net"
	"runtime/debug"
	"time"
)

// idleFreeDelay is how long a read of the client socket must block
// before the session gives its garbage back to the kernel.
const idleFreeDelay = 500 * time.Millisecond

// idleConn gives memory back while the client is quiet: a Read that is
// still blocked after idleFreeDelay runs debug.FreeOSMemory (a full GC,
// stack shrinking, and returning free pages with MADV_DONTNEED). A
// session spends nearly all its life waiting for the next command, and
// the Go heap otherwise keeps everything SELECT/FETCH/SEARCH allocated
// until the next GC, which with a small heap may be the 2-minute forced
// one (go-libs §1 "Measurements": 1.3 MB instead of ~0.6 MB private per
// idle session, and tens of MB after large commands). Busy clients
// never wait that long between reads, so they pay nothing but a timer
// reset per read. It keeps net.Conn's deadlines (imapserver uses them).
type idleConn struct {
	net.Conn
	t *time.Timer
}

func newIdleConn(c net.Conn) *idleConn {
	f := debug.FreeOSMemory
	switch os.Getenv("XGC") {
	case "gc":
		f = runtime.GC
	case "none":
		f = func() {}
	case "scav":
		f = func() { runtime.GC(); runtime.GC(); debug.FreeOSMemory() }
	}
	t := time.AfterFunc(time.Hour, f)
	t.Stop()
	return &idleConn{Conn: c, t: t}
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.t.Reset(idleFreeDelay)
	n, err := c.Conn.Read(p)
	c.t.Stop()
	return n, err
}
