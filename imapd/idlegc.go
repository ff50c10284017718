package main

import (
	"os"
	"runtime/debug"
	"time"
)

// idleFreeDelay is how long a read of the client socket must block
// before the session considers giving its garbage back to the kernel.
const idleFreeDelay = 500 * time.Millisecond

// Thresholds of maybeFreeOSMemory, in bytes of anonymous resident memory
// (bench/session measurements, Go 1.26). An idle session after LOGIN +
// SELECT holds about 0.9 MB. The first GC of a process makes the runtime
// touch about 300 kB of its own bookkeeping (mark bits, work buffers), so
// collecting a session that never grew much costs more than it frees; the
// runtime's own first GC comes only at a 4 MB heap and its 2-minute
// forced GC only after a first one, so a session that stays small never
// collects.
const (
	firstFreeRSS = 2 << 20   // resident anonymous memory worth a first GC
	minGrowth    = 256 << 10 // growth since the last free worth another
)

// idleConn gives memory back while the client is quiet: a Read that is
// still blocked after idleFreeDelay calls maybeFreeOSMemory. A session
// spends nearly all its life waiting for the next command, and the Go
// heap otherwise keeps what SELECT/FETCH/SEARCH allocated until the next
// GC (go-libs §1 "Measurements": tens of MB after large commands).
// Busy clients never wait that long between reads, so they pay only a
// timer reset per read. Embedding the socket (stdioconn.Socket's file)
// keeps the read deadlines imapserver uses for the autologout timeout.
type idleConn struct {
	*os.File
	t *time.Timer
}

func newIdleConn(sock *os.File) *idleConn {
	t := time.AfterFunc(time.Hour, maybeFreeOSMemory)
	t.Stop()
	return &idleConn{File: sock, t: t}
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.t.Reset(idleFreeDelay)
	n, err := c.File.Read(p)
	c.t.Stop()
	return n, err
}

// Only the timer's goroutine touches these, and one timer never runs
// twice at once because Read stops it before re-arming it.
var (
	statm   *os.File // /proc/self/statm, opened on first use
	lastRSS uint64   // anonymous resident bytes after the last free
	freed   bool     // a free has happened
)

// maybeFreeOSMemory runs debug.FreeOSMemory (full GC, stack shrinking,
// all free pages returned with MADV_DONTNEED) when the session's
// anonymous resident memory grew enough since the last free (first time:
// is big enough for the collection to pay for itself).
//
// It asks the kernel (/proc/self/statm) rather than the runtime: the
// resident pages are what an idle session should give back, and the
// runtime's own counters are dear for a small session. runtime/metrics
// builds its table of all metrics on first use (about 28 kB more
// Private_Dirty per session, measured), and runtime.ReadMemStats stops
// the world and flushes the span caches (about 370 kB more).
func maybeFreeOSMemory() {
	rss, ok := anonRSS()
	if !ok {
		return
	}
	if !freed && rss < firstFreeRSS || freed && rss < lastRSS+minGrowth {
		return
	}
	debug.FreeOSMemory()
	freed = true
	if rss, ok = anonRSS(); ok {
		lastRSS = rss
	}
}

// anonRSS returns the process's anonymous resident memory: resident
// minus file-backed and shared pages, the 2nd and 3rd fields of
// /proc/self/statm (proc(5)), in bytes. The read is a pread of an fd kept
// open, into a stack buffer, so the check itself allocates nothing.
func anonRSS() (uint64, bool) {
	if statm == nil {
		f, err := os.Open("/proc/self/statm")
		if err != nil {
			return 0, false
		}
		statm = f
	}
	var buf [128]byte
	n, _ := statm.ReadAt(buf[:], 0)
	return parseStatm(buf[:n])
}

// parseStatm extracts resident-shared pages from statm's text, in bytes.
func parseStatm(b []byte) (uint64, bool) {
	var f [3]uint64
	i := 0
	for k := range f {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			f[k] = f[k]*10 + uint64(b[i]-'0')
			i++
		}
		if i == start || i-start > 15 {
			return 0, false
		}
	}
	if f[2] > f[1] {
		return 0, true
	}
	return (f[1] - f[2]) * uint64(os.Getpagesize()), true
}
