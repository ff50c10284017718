package main

import (
	"net"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// idleFreeDelay is how long a read of the client socket must block
// before the session considers giving its garbage back to the kernel.
const idleFreeDelay = 500 * time.Millisecond

// Thresholds of maybeFreeOSMemory (bench/session measurements, Go 1.26):
// the first GC of a process makes the runtime touch about 300 kB of its
// own bookkeeping (span sets, mark bits), so collecting a small heap that
// has never been collected costs more than it frees. The runtime's own
// first GC comes only at a 4 MB heap and its 2-minute forced GC only
// after a first one, so a session that stays small never collects.
const (
	firstFreeHeap = 1 << 20   // live+garbage heap worth a first GC
	minNewAlloc   = 256 << 10 // allocated since the last free
)

// idleConn gives memory back while the client is quiet: a Read that is
// still blocked after idleFreeDelay calls maybeFreeOSMemory. A session
// spends nearly all its life waiting for the next command, and the Go
// heap otherwise keeps what SELECT/FETCH/SEARCH allocated until the next
// GC (go-libs §1 "Measurements": tens of MB after large commands).
// Busy clients never wait that long between reads, so they pay only a
// timer reset per read. Embedding net.Conn keeps the read deadlines
// imapserver uses for the autologout timeout.
type idleConn struct {
	net.Conn
	t *time.Timer
}

func newIdleConn(c net.Conn) *idleConn {
	t := time.AfterFunc(time.Hour, maybeFreeOSMemory)
	t.Stop()
	return &idleConn{Conn: c, t: t}
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.t.Reset(idleFreeDelay)
	n, err := c.Conn.Read(p)
	c.t.Stop()
	return n, err
}

// lastFreeAlloc is the allocation total at the last free; only the
// timer's goroutine touches it, and one timer never runs twice at once
// because Read stops it before re-arming it.
var lastFreeAlloc uint64

// idleSamples are read with runtime/metrics, which unlike
// runtime.ReadMemStats neither stops the world nor flushes the per-P span
// caches (that flush alone makes the runtime touch ~300 kB).
var idleSamples = []metrics.Sample{
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
}

// maybeFreeOSMemory runs debug.FreeOSMemory (full GC, stack shrinking,
// all free pages returned with MADV_DONTNEED) when enough was allocated
// since the last time and, before the first GC, when the heap is big
// enough for the collection to pay for itself.
func maybeFreeOSMemory() {
	metrics.Read(idleSamples)
	var v [4]uint64
	for i, s := range idleSamples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	allocs, cycles, heap := v[0], v[1], v[3]
	if allocs-lastFreeAlloc < minNewAlloc {
		return
	}
	if cycles == 0 && heap < firstFreeHeap {
		return
	}
	debug.FreeOSMemory()
	lastFreeAlloc = allocs
}
