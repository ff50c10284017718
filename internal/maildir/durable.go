package maildir

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Making a commit's uiddb durable outside the folder lock.
//
// An APPEND or COPY renames its messages into cur/ and replaces the uiddb
// under the dot-lock (§9.5). Waiting there for the fsyncs of the new uiddb
// and of the folder directory made every commit of a busy folder queue
// behind two journal commits of the one before it, plus the scheduling
// delays of waking twice on a loaded machine (imaptest stress, 50
// sessions: the lock was held 100% of the time, ~20 ms per commit, and
// APPENDs waited seconds). So a commit releases the lock as soon as the
// new uiddb is in place, and then makes it durable: its fsyncs overlap
// with the next commits' work, and the journal commits them together.
//
// What must not happen is that a session tells a client UIDs from a
// uiddb that a crash could lose, so that other files get those UIDs
// (a UID reused under one UIDVALIDITY). Hence, before a scan's result is
// used, its uiddb must be known durable (ensureDurable):
//   - the committer, once its fsyncs are done, records the uiddb's
//     identity (inode, size, mtime) in syncMarkFile (a hint, written
//     without fsync: a lost or stale marker only costs fsyncs);
//   - a session whose uiddb identity is neither the one it already made
//     sure of nor the marked one fsyncs the uiddb and the folder
//     directory itself (waiting, in effect, for the committer's journal
//     commit) and marks it.
//
// Uiddbs that Courier writes are never marked: sessions fsync them, which
// Courier itself does not do.
const syncMarkFile = "gocourieruiddbsync"

// uiddbIdent is a uiddb's identity as the marker records it.
func uiddbIdent(st *unix.Stat_t) [3]int64 {
	return [3]int64{int64(st.Ino), st.Size, st.Mtim.Nano()}
}

// currentUIDDB returns the identity of dir's uiddb now; ok=false (and
// an identity no file has) when there is none.
func currentUIDDB(dir string) (id [3]int64, ok bool) {
	var st unix.Stat_t
	if unix.Stat(filepath.Join(dir, uiddbFile), &st) != nil {
		return [3]int64{-1, -1, -1}, false
	}
	return uiddbIdent(&st), true
}

// readSyncMark returns the identity the marker records, if it parses.
func readSyncMark(dir string) ([3]int64, bool) {
	b, err := readFileLimit(filepath.Join(dir, syncMarkFile), 128)
	if err != nil {
		return [3]int64{}, false
	}
	f := bytes.Fields(b)
	if len(f) != 3 {
		return [3]int64{}, false
	}
	var id [3]int64
	for i := range f {
		v, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return [3]int64{}, false
		}
		id[i] = v
	}
	return id, true
}

// writeSyncMark records id as durable (best effort, no fsync). The file
// is overwritten in place, padded to a fixed width, not replaced by
// rename: a reader that catches a write half done reads a line that
// does not match (and fsyncs for itself), and no file is made in the
// busy tmp/ directory for it.
func (m *Maildir) writeSyncMark(dir string, id [3]int64) {
	b := fmt.Appendf(nil, "%d %d %d", id[0], id[1], id[2])
	const width = 63
	for len(b) < width {
		b = append(b, ' ')
	}
	b = append(b, '\n')
	fd, err := unix.Open(filepath.Join(dir, syncMarkFile), unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o644)
	if err != nil {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		unix.Pwrite(fd, b, 0)
		if st.Size > int64(len(b)) {
			unix.Ftruncate(fd, int64(len(b)))
		}
	}
	unix.Close(fd)
}

// syncUIDDB makes dir's current uiddb durable (its contents and its
// name) and marks it; it returns the identity it made durable.
func (m *Maildir) syncUIDDB(dir string) ([3]int64, error) {
	p := filepath.Join(dir, uiddbFile)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return [3]int64{}, fmt.Errorf("maildir: sync %s: %w", p, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return [3]int64{}, fmt.Errorf("maildir: sync %s: not a regular file (%v)", p, err)
	}
	if err := unix.Fsync(fd); err != nil {
		return [3]int64{}, fmt.Errorf("maildir: sync %s: %w", p, err)
	}
	if err := syncDir(dir); err != nil {
		return [3]int64{}, err
	}
	id := uiddbIdent(&st)
	m.writeSyncMark(dir, id)
	return id, nil
}

// ensureDurable makes sure the folder's uiddb, whose identity the caller
// just took (currentUIDDB), is durable before the caller reports what a
// scan read from it (see above).
func (f *Folder) ensureDurable(id [3]int64, exists bool) error {
	if !exists {
		return nil // none (a read-only view's unsaved numbering)
	}
	if id == f.durableDB {
		return nil
	}
	if mark, ok := readSyncMark(f.dir); ok && mark == id {
		f.durableDB = id
		return nil
	}
	// A uiddb that replaced the one we stat'ed meanwhile is made durable
	// instead: it numbers at least the same files (or drops only gone
	// ones), with a next UID at least as high.
	got, err := f.m.syncUIDDB(f.dir)
	if err != nil {
		return err
	}
	f.durableDB = got
	return nil
}
