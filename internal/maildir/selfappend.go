package maildir

import (
	"io"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// AppendSelf stores a message into this (opened) folder, as Maildir.Append
// does, and then tries to add it to the folder's in-memory state so that
// the session need not rescan cur/ to see it: a rescan right after our
// own rename into cur/ always falls in the 2 s "racy" window of cur/'s
// mtime and reads the whole directory (about 45 ms for 20,000 messages,
// most of an APPEND's cost in a big selected folder).
//
// known reports whether the message was added. It is only added when
// that cannot hide anything from a later scan:
//   - the UID is exactly the folder's UIDNEXT (no other process numbered
//     messages since our last scan: their lower UIDs would otherwise
//     show up after ours, and a session's view only grows at its end);
//   - the UIDVALIDITY is unchanged;
//   - the uiddb this handle just wrote names the message (its base name);
//   - the folder is not read-only (its UIDVALIDITY may be unsaved);
//   - no keywords (they live in the keyword directory, whose state the
//     folder tracks separately);
//   - no mod-sequences are kept for the folder (CONDSTORE): a new message
//     gets its MODSEQ when a scan reconciles the folder with
//     gocouriermodseq, so it must come from a scan.
//
// f.stamp is left as it was, so the next Rescan still compares the
// directories with the state before the append: changes by other
// processes are only reported later, never lost. When the folder's
// watch of its own changes (own.go) is armed, the rename into cur/ and
// the uiddb we wrote are recorded as ours, so that Rescan need not list
// cur/ unless someone else changed something too.
func (f *Folder) AppendSelf(r io.Reader, flags Flags, kws []string, date time.Time) (uidv, uid uint32, known bool, err error) {
	if f.closed {
		return 0, 0, false, ErrClosed
	}
	res, err := f.m.Append(f.name, r, flags, kws, date)
	if err != nil {
		return 0, 0, false, err
	}
	if f.ro || f.ms != nil || len(kws) > 0 || res.UIDValidity != f.uidv || res.UID != f.next {
		return res.UIDValidity, res.UID, false, nil
	}
	db, ok := f.m.dbCache.get(filepath.Join(f.dir, uiddbFile))
	if !ok || len(db.Entries) == 0 || db.UIDValidity != f.uidv {
		return res.UIDValidity, res.UID, false, nil
	}
	last := db.Entries[len(db.Entries)-1]
	if last.UID != res.UID || db.NextUID != res.UID+1 {
		return res.UIDValidity, res.UID, false, nil
	}
	name := withFlags(last.Name, flags&IMAPFlags)
	// mtime stays zero: INTERNALDATE is stat'ed on demand, as for
	// scanned messages.
	x := &msg{uid: res.UID, base: last.Name, name: name, flags: flagsOf(name), crlf: -1}
	f.msgs = append(f.msgs, x)
	f.next = res.UID + 1
	f.expectCur(unix.IN_MOVED_TO, name)
	f.knowUIDDB()
	return res.UIDValidity, res.UID, true, nil
}
