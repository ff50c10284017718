package maildir

import (
	"bytes"
	"errors"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Knowing our own changes without a rescan.
//
// A session's STORE renames files in cur/, its EXPUNGE unlinks them and
// its APPEND renames one in: each changes cur/'s mtime, so the next
// Rescan's stamp no longer matches and it lists the whole directory
// (100,000 messages: about 100 ms of CPU for a STORE of one flag), and
// right after the change the mtime is "racy" anyway. Yet the session
// already knows the result of its own changes.
//
// So an open folder keeps an inotify watch on cur/, new/ and the keyword
// directory, set up
// before the listing of each full scan and drained (emptied) at that
// moment: from then on every change to the two directories is queued
// as an event. Each change the folder makes itself is recorded as the
// event it causes (expect). At the next Rescan the queue is read: when
// every event is one we expect, nobody else touched the directories
// since the scan, the in-memory state is exact, and no listing is
// needed. Any other event, a queue overflow, or a change of the uiddb's
// identity sends the Rescan to a full scan as before. (Attribute changes
// are not watched: a scan does not read them either; link counts change
// whenever COPY links a file.)
//
// Invariants:
//   - The watch covers a state only if it was armed before that state's
//     listing began (scan calls arm first) and the scan was complete (a
//     scan that left a lock holder's files out disarms it).
//   - An expected event is consumed once: a foreign change to a name we
//     also touched (another session deleting a file we renamed) is an
//     event we do not expect, so it is seen.
//   - Local filesystems only: inotify does not report other hosts'
//     changes on NFS, so the watch is not used where directory mtimes
//     are coarse (fineTimestamps false).
type ownWatch struct {
	fd          int
	cur, new    int32 // watch descriptors
	kw          int32 // -1: no keyword directory when armed
	armed       bool
	expect      map[ownEvent]int
	kwWatchFail bool
	// shared: IDLE reads the queue too (Watch); its events are not ours
	// to account for, so the watch stays disarmed meanwhile.
	shared bool
}

type ownEvent struct {
	wd   int32
	mask uint32 // IN_MOVED_FROM, IN_MOVED_TO or IN_DELETE
	name string
}

// ownMask: the changes that matter to a scan.
const ownMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// knownState is what the last full scan saw of the files the watch does
// not cover.
type knownState struct {
	db [3]int64 // the uiddb's identity (currentUIDDB)
	kw int64    // keyword directory mtime (-1: none), if not watched
}

// arm starts (or restarts) covering the folder from now: called by a full
// scan before it lists anything.
func (f *Folder) arm() {
	w := f.own
	if w == nil {
		// Small folders list fast and keep no watch (see ownWatchMin);
		// a first scan does not know the size yet and drops the watch
		// afterwards (dropSmallWatch).
		if !fineTimestamps(f.dir) || (f.uidv != 0 && len(f.msgs) < ownWatchMin) || (f.uidv == 0 && smallCur(f.dir)) {
			return
		}
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			return
		}
		w = &ownWatch{fd: fd, kw: -1}
		c, err1 := unix.InotifyAddWatch(fd, filepath.Join(f.dir, "cur"), ownMask)
		n, err2 := unix.InotifyAddWatch(fd, filepath.Join(f.dir, "new"), ownMask)
		w.cur, w.new = int32(c), int32(n)
		if err1 != nil || err2 != nil {
			unix.Close(fd)
			return
		}
		f.own = w
	}
	if w.kw < 0 && !w.kwWatchFail {
		// The keyword directory is made on first use: watched from the
		// first scan that finds it.
		if wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(f.dir, keywordDir), ownMask); err == nil {
			w.kw = int32(wd)
		} else if !errors.Is(err, unix.ENOENT) {
			w.kwWatchFail = true
		}
	}
	w.drain(false, nil)
	clear(w.expect)
	w.armed = !w.shared
}

// ownWatchMin: folders with fewer messages keep no watch. Each watch is
// an inotify instance, and the kernel allows 128 per user by default
// (fs.inotify.max_user_instances): on a host where every mailbox belongs
// to one system user, watches for folders that list in a millisecond
// would take them from IDLE (which shares the folder's instance, see
// Watch) for nothing.
var ownWatchMin = 1000

// dropSmallWatch closes the watch of a folder that turned out small.
// smallCur reports whether cur/ is too small a directory to hold
// ownWatchMin messages, so that a first scan need not make a watch only
// to drop it: closing an inotify instance waits for the kernel's grace
// period (milliseconds; every login's SELECT of a small folder paid it).
// A directory entry of a message takes at least minMessageEntry bytes
// (ext4: 8 bytes of header and a name of 30 or more characters; tmpfs
// counts 20 per entry); a folder of oddly short names may go without
// the watch until its second scan, which only costs speed.
func smallCur(dir string) bool {
	const minMessageEntry = 20
	var st unix.Stat_t
	if unix.Stat(filepath.Join(dir, "cur"), &st) != nil {
		return false
	}
	return st.Size/minMessageEntry < int64(ownWatchMin)
}

func (f *Folder) dropSmallWatch() {
	if f.own != nil && len(f.msgs) < ownWatchMin {
		f.own.close()
		f.own = nil
	}
}

// setKnown records what the scan that armed the watch saw: the keyword
// directory's mtime from before the scan (a change during it must not be
// taken as seen), the uiddb as it is now, after the scan, which may have
// written it. A uiddb that someone else replaced meanwhile either numbers
// files whose renames are events we do not expect, or only drops lines
// of files that were already gone when we listed cur/.
func (f *Folder) setKnown(s dirStamp, db [3]int64) {
	f.known = knownState{db: db, kw: s.kw}
}

// expectMoves records the scan's own moves from new/ to cur/ (pairs of
// names, see scanResult.moved).
func (f *Folder) expectMoves(moved []string) {
	if f.own == nil {
		return
	}
	for i := 0; i+1 < len(moved); i += 2 {
		f.own.expectEvent(f.own.new, unix.IN_MOVED_FROM, moved[i])
		f.own.expectEvent(f.own.cur, unix.IN_MOVED_TO, moved[i+1])
	}
}

// disarm makes the next Rescan scan in full.
func (f *Folder) disarm() {
	if f.own != nil {
		f.own.armed = false
	}
}

// expectCur and expectKW record a change the folder made itself to cur/
// or to the keyword directory.
func (f *Folder) expectCur(mask uint32, name string) {
	if f.own != nil {
		f.own.expectEvent(f.own.cur, mask, name)
	}
}

func (f *Folder) expectKW(mask uint32, name string) {
	if f.own != nil && f.own.kw >= 0 {
		f.own.expectEvent(f.own.kw, mask, name)
	}
}

func (w *ownWatch) expectEvent(wd int32, mask uint32, name string) {
	if !w.armed {
		return
	}
	if w.expect == nil {
		w.expect = map[ownEvent]int{}
	}
	w.expect[ownEvent{wd, mask, name}]++
}

// knowUIDDB records the uiddb identity the folder itself just wrote
// (an APPEND to itself whose result it keeps in memory).
func (f *Folder) knowUIDDB() {
	f.known.db, _ = currentUIDDB(f.dir)
}

// unchangedSinceScan reports whether nothing but the folder's own
// changes happened to cur/, new/ and the keyword directory since its
// last full scan, and the uiddb is the one it knows. It consumes the
// queued events; on false the watch is disarmed until the next scan.
func (f *Folder) unchangedSinceScan() bool {
	w := f.own
	if w == nil || !w.armed {
		return false
	}
	if !w.drain(true, w.expect) {
		w.armed = false
		return false
	}
	if db, ok := currentUIDDB(f.dir); !ok || db != f.known.db {
		return false
	}
	if w.kw >= 0 {
		return true
	}
	// No keyword directory when armed (or not watchable): it must still
	// be as it was.
	kw := int64(-1)
	var st unix.Stat_t
	if unix.Stat(filepath.Join(f.dir, keywordDir), &st) == nil {
		kw = st.Mtim.Nano()
	}
	return kw == f.known.kw && (kw < 0 || !racyAt(kw, time.Now().UnixNano(), true))
}

// drain reads every queued event. Without check they are discarded and
// drain reports true; with check it reports whether each one was in
// expect (consuming it) and nothing overflowed.
func (w *ownWatch) drain(check bool, expect map[ownEvent]int) bool {
	var buf [4096]byte
	ok := true
	for {
		n, err := unix.Read(w.fd, buf[:])
		if err != nil || n <= 0 {
			return ok
		}
		if !check {
			continue
		}
		whole := inotifyEvents(buf[:n], func(wd int32, evMask uint32, name []byte) bool {
			if wd == w.cur && notMessage(name) {
				return true // a commit's staged message (stagePrefix)
			}
			mask := evMask & (unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO)
			if mask == 0 || evMask&^mask != 0 {
				ok = false // creation, overflow, a directory, the folder itself going
				return true
			}
			k := ownEvent{wd, mask, string(name)}
			switch c := expect[k]; c {
			case 0:
				ok = false
			case 1:
				delete(expect, k)
			default:
				expect[k] = c - 1
			}
			return true
		})
		ok = ok && whole
	}
}

// notMessage reports whether the name of an event in cur/ is one no scan
// lists: a dot-file (a commit's staged message, stagePrefix). An event
// without a name (the directory itself, an overflow) is not one of those.
// In the keyword directory dot-files are Courier's updates, and count.
func notMessage(name []byte) bool { return len(name) > 0 && name[0] == '.' }

// inotifyEvents calls fn for each event in buf (what a read of an inotify
// descriptor returned), with its name cut at the NUL padding, until fn
// returns false. It reports whether buf held whole events only.
func inotifyEvents(buf []byte, fn func(wd int32, mask uint32, name []byte) bool) bool {
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		end := off + unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return false
		}
		name := buf[off+unix.SizeofInotifyEvent : end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if !fn(ev.Wd, ev.Mask, name) {
			return true
		}
		off = end
	}
	return true
}

func (w *ownWatch) close() {
	if w != nil {
		unix.Close(w.fd)
	}
}
