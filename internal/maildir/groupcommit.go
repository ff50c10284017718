package maildir

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir/uiddb"
)

// Group commit: the session whose turn it is (lockqueue.go) also delivers
// the APPENDs of the sessions queued behind it, so that one hold of the
// dot-lock and one hand-off of the turn serve many messages.
//
// Why. Under imaptest's stress (50 sessions appending to one folder on 2
// cores) a commit's hold is short in CPU (about 0.5 ms) but each turn
// cost a hold of about 9 ms and a hand-off of about 7 ms, most of both
// waiting for a CPU: the folder's lock served about 60 commits a second
// and an APPEND waited for everyone ahead of it, up to a second (DESIGN
// §7, "Stalls").
//
// How. A session that commits one message (APPEND; COPY commits its own)
// and finds someone ahead in the queue writes a request record for its
// ticket into the queue file before it waits: the staged file's base name
// (the message waits in cur/ under stagePrefix) and its flags. The session
// that holds the dot-lock reads the records of the tickets after its own,
// and for each one whose session still waits (its slot is locked) and whose
// staged file it can rename into place, gives it the next UID with its own
// messages, writes the uiddb once, and then marks each record done with the
// UID. A session whose turn comes reads its record first: done means its
// message is delivered; it passes the turn on at once and, like anyone who
// reports a uiddb it did not write, makes it durable before answering.
//
// Invariants:
//   - A record is marked done only after the uiddb that numbers its message
//     has replaced the old one, under the dot-lock.
//   - A session reads its own record after its turn came, or after it took
//     the dot-lock (a waiter that gave up its place may have been served
//     meanwhile); a record names its ticket, so one left over from an
//     earlier ticket in the same place is never taken for it.
//   - If the serving session dies between the rename into cur/ and the
//     record's mark, the waiter finds its staged file gone and its message
//     in cur/ under its base name: it takes the UID the uiddb has for it,
//     or gives it one (lostCommit). No message is delivered twice, none is
//     lost.
//   - Tickets recSlots apart share a record's place: a later request that
//     overwrites a mark not yet read only sends that waiter to lostCommit.
//   - Records are input from other processes: a torn or corrupt one (bad
//     magic, check sum, ticket or name) is ignored, and a name is only ever
//     used inside cur/.
const (
	recBase  = 4096 // records start here, after the ticket counter
	recSlots = 256  // record of ticket t: recBase + (t mod recSlots)*recSize
	recSize  = 512
	recMagic = "GCQ1"
	// A record: magic, ticket (8 bytes), state (1), flags (8), UIDVALIDITY
	// and UID (4 each), the name's length (2) and the name from recName,
	// zero padding, and a CRC-32 of the rest in the last 4 bytes.
	recName = 31
	// maxServe bounds the waiting sessions one turn serves.
	maxServe = 32

	recPending = 1
	recDone    = 2
)

// commitRequest is a session's one message offered to whoever has the
// turn before it (takeLockFor).
type commitRequest struct {
	base  string
	flags Flags
	// Set by takeLockFor: the record was written for ticket, and served
	// by another session (done) with this UID.
	written   bool
	ticket    uint64
	queuePath string
	done      bool
	uidv, uid uint32
}

// queueRecord is a decoded record.
type queueRecord struct {
	ticket    uint64
	state     byte
	flags     Flags
	uidv, uid uint32
	base      string
}

func recOffset(t uint64) int64 { return int64(recBase + (t%recSlots)*recSize) }

func encodeRecord(r queueRecord) ([]byte, bool) {
	if len(r.base) == 0 || recName+len(r.base) > recSize-4 {
		return nil, false
	}
	b := make([]byte, recSize)
	copy(b, recMagic)
	binary.LittleEndian.PutUint64(b[4:], r.ticket)
	b[12] = r.state
	binary.LittleEndian.PutUint64(b[13:], uint64(r.flags))
	binary.LittleEndian.PutUint32(b[21:], r.uidv)
	binary.LittleEndian.PutUint32(b[25:], r.uid)
	binary.LittleEndian.PutUint16(b[29:], uint16(len(r.base)))
	copy(b[recName:], r.base)
	binary.LittleEndian.PutUint32(b[recSize-4:], crc32.ChecksumIEEE(b[:recSize-4]))
	return b, true
}

func decodeRecord(b []byte) (queueRecord, bool) {
	if len(b) != recSize || string(b[:4]) != recMagic || binary.LittleEndian.Uint32(b[recSize-4:]) != crc32.ChecksumIEEE(b[:recSize-4]) {
		return queueRecord{}, false
	}
	r := queueRecord{
		ticket: binary.LittleEndian.Uint64(b[4:]),
		state:  b[12],
		flags:  Flags(binary.LittleEndian.Uint64(b[13:])) & IMAPFlags,
		uidv:   binary.LittleEndian.Uint32(b[21:]),
		uid:    binary.LittleEndian.Uint32(b[25:]),
	}
	n := int(binary.LittleEndian.Uint16(b[29:]))
	if n == 0 || recName+n > recSize-4 {
		return queueRecord{}, false
	}
	r.base = string(b[recName : recName+n])
	if !plainBase(r.base) || (r.state != recPending && r.state != recDone) {
		return queueRecord{}, false
	}
	return r, true
}

// plainBase reports whether s can be a message's base name in cur/: no
// directory part, no info part, not a dot-file.
func plainBase(s string) bool {
	return s != "" && s[0] != '.' && !strings.ContainsAny(s, "/:\x00")
}

func writeRecord(fd int, r queueRecord) bool {
	b, ok := encodeRecord(r)
	if !ok {
		return false
	}
	n, err := unix.Pwrite(fd, b, recOffset(r.ticket))
	return err == nil && n == len(b)
}

// readRecord reads ticket t's record; ok only if it is whole and is t's.
func readRecord(fd int, t uint64) (queueRecord, bool) {
	b := make([]byte, recSize)
	if n, err := unix.Pread(fd, b, recOffset(t)); err != nil || n != recSize {
		return queueRecord{}, false
	}
	r, ok := decodeRecord(b)
	if !ok || r.ticket != t {
		return queueRecord{}, false
	}
	return r, true
}

// requestFor returns the hook that writes req's record once a ticket is
// taken with someone ahead (queueLock's onWait).
func requestFor(req *commitRequest) func(fd int, t uint64) {
	if req == nil {
		return nil
	}
	return func(fd int, t uint64) {
		if writeRecord(fd, queueRecord{ticket: t, state: recPending, flags: req.flags & IMAPFlags, base: req.base}) {
			req.written, req.ticket = true, t
		}
	}
}

// checkServed reads req's record (through fd, or the queue file when fd
// is -1) and reports whether another session delivered the message.
func (req *commitRequest) checkServed(fd int) bool {
	if req == nil || !req.written {
		return false
	}
	if fd < 0 {
		f, err := unix.Open(req.queuePath, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return false
		}
		defer unix.Close(f)
		fd = f
	}
	r, ok := readRecord(fd, req.ticket)
	if !ok || r.state != recDone || r.base != req.base {
		return false
	}
	req.done, req.uidv, req.uid = true, r.uidv, r.uid
	return true
}

// servedMsg is a waiting session's message delivered in this turn.
type servedMsg struct {
	ticket uint64
	rec    queueRecord
}

// serveWaiting delivers the staged messages of the sessions waiting
// behind ticket t (at most maxServe), under the dot-lock: each one whose
// session still holds its slot and whose staged file renames into cur/.
// The caller numbers them with its own and marks them (markServed) once
// the uiddb is written.
func serveWaiting(fd int, t uint64, cur string) []servedMsg {
	var b [8]byte
	if n, err := unix.Pread(fd, b[:], 0); err != nil || n != len(b) {
		return nil
	}
	next := binary.LittleEndian.Uint64(b[:])
	var out []servedMsg
	for w := t + 1; w < next && w <= t+maxServe; w++ {
		r, ok := readRecord(fd, w)
		if !ok || r.state != recPending {
			continue
		}
		if held, err := slotHeld(fd, w); err != nil || !held {
			continue // gone, or gave up waiting: it commits alone
		}
		if err := os.Rename(filepath.Join(cur, stagePrefix+r.base), filepath.Join(cur, withFlags(r.base, r.flags))); err != nil {
			continue
		}
		out = append(out, servedMsg{ticket: w, rec: r})
	}
	return out
}

// markServed tells each served session its message's UID.
func markServed(fd int, served []servedMsg, uidv uint32) {
	for _, s := range served {
		r := s.rec
		r.state, r.uidv = recDone, uidv
		writeRecord(fd, r)
	}
	servedTotal.Add(int64(len(served)))
}

// servedTotal counts the messages this process delivered for others
// (tests).
var servedTotal atomic.Int64

// lostCommit handles a staged message that is no longer where its session
// left it (err from the rename into cur/). A session that served it and
// died before marking its record moved it into cur/ under its base name,
// and may have numbered it: ok with the UID the uiddb entries give it, or
// ok with uid 0 when the caller must number the file it found in cur/.
// Anything else (the message is nowhere) is not ok.
func lostCommit(err error, p *pendingMsg, cur string, entries []uiddb.Entry) (uid uint32, ok bool) {
	if !p.staged || !errors.Is(err, fs.ErrNotExist) {
		return 0, false
	}
	names, rerr := readNames(cur)
	if rerr != nil {
		return 0, false
	}
	found := false
	for _, n := range names {
		if b, _, _ := splitName(n); b == p.base {
			found = true
			break
		}
	}
	if !found {
		return 0, false
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Name == p.base {
			return entries[i].UID, true
		}
	}
	return 0, true
}
