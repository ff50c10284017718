package maildir

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
)

// recentFile records, per folder, the first UID that no read-write
// session has been told about yet: "<uidvalidity> <uid>\n". It is ours,
// not Courier's (Courier ignores it).
//
// Why: RFC 3501 §2.3.2 makes a message \Recent in the first session that
// is notified of it, and §6.4.7 says a COPY SHOULD set \Recent on the
// copy; APPEND's message "arrives" in the mailbox as well (§6.3.11).
// Courier only treats new/ files and cur/ files unknown to the uiddb as
// recent, so an APPENDed or COPYed message, which gets its UID at once
// for UIDPLUS (§9.5), is \Recent nowhere (reference §4.4: "The appending
// session gets no \Recent"). Clients do not depend on that omission, and
// imaptest's copy/select/search-flags scripts and its stress checker
// (every message \Recent in exactly one session) depend on the RFC rule.
//
// Invariants:
//   - The boundary only grows within one UIDVALIDITY, except that a
//     commit (APPEND/COPY) creates it at its first new UID when it is
//     missing; every change is a read and write under an exclusive
//     flock(2) of the folder directory (withRecentLock), so exactly one
//     read-write session claims a UID. Not the dot-lock: rescans that
//     claim would queue behind commits (probe.go); the flock is only
//     ever held for this read and write, and a commit takes it inside
//     the dot-lock, never the other way round. Only our processes use
//     it (Courier has no \Recent file); on a filesystem without flock
//     a claim goes ahead unlocked, which at worst shows one message
//     \Recent in two sessions.
//   - It is written without fsync: losing it can only make messages lose
//     \Recent, never touch a message or a UID.
//   - A file for another UIDVALIDITY, or one that does not parse, counts
//     as missing.
const recentFile = "gocourierimaprecent"

// readRecent returns the recorded boundary for uidv, or ok=false.
func readRecent(dir string, uidv uint32) (uint32, bool) {
	data, err := readFileLimit(filepath.Join(dir, recentFile), 64)
	if err != nil {
		return 0, false
	}
	return parseRecent(data, uidv)
}

// parseRecent parses the content of recentFile (hostile input).
func parseRecent(data []byte, uidv uint32) (uint32, bool) {
	f := bytes.Fields(data)
	if len(f) != 2 {
		return 0, false
	}
	v, err1 := strconv.ParseUint(string(f[0]), 10, 32)
	b, err2 := strconv.ParseUint(string(f[1]), 10, 32)
	if err1 != nil || err2 != nil || uint32(v) != uidv || b == 0 {
		return 0, false
	}
	return uint32(b), true
}

// writeRecent records the boundary (best effort: an error only costs
// \Recent flags).
func (m *Maildir) writeRecent(dir string, uidv, first uint32) {
	data := strconv.AppendUint(nil, uint64(uidv), 10)
	data = append(data, ' ')
	data = strconv.AppendUint(data, uint64(first), 10)
	data = append(data, '\n')
	m.writeFileRename(dir, recentFile, data, 0o644, false)
}

// claimRecent is called by a scan with its UIDVALIDITY and next UID. It
// returns the first UID that is \Recent for the caller (messages
// numbered by the scan itself are \Recent anyway); a read-write caller
// moves the boundary to next, taking those messages' \Recent away from
// every later session. A missing boundary means nothing below next is
// recent. Most scans find nothing to claim and take no lock.
//
// The lock is best effort (withRecentLock), as is the write.
func (m *Maildir) claimRecent(dir string, uidv, next uint32, ro bool) uint32 {
	first, ok := readRecent(dir, uidv)
	if !ok || first >= next {
		return next
	}
	if ro {
		return first
	}
	withRecentLock(dir, func() {
		first, ok = readRecent(dir, uidv)
		if ok && first < next {
			m.writeRecent(dir, uidv, next)
		}
	})
	if !ok || first >= next {
		return next
	}
	return first
}

// markCommitRecent is called by a commit (APPEND/COPY), under the
// dot-lock, before it numbers its first message: if no boundary exists
// yet (or it is beyond the next UID, which no scan writes), the
// committed messages become the first recent ones.
func (m *Maildir) markCommitRecent(dir string, uidv, firstNew uint32) {
	if first, ok := readRecent(dir, uidv); ok && first <= firstNew {
		return
	}
	withRecentLock(dir, func() {
		if first, ok := readRecent(dir, uidv); ok && first <= firstNew {
			return
		}
		m.writeRecent(dir, uidv, firstNew)
	})
}

// withRecentLock runs fn under the folder's flock (flockDir, which the
// mod-sequence file uses too; the two are never nested). If dir cannot
// be opened or locked, fn runs anyway (see the invariants above); the
// error says why.
func withRecentLock(dir string, fn func()) error {
	unlock, err := flockDir(dir)
	fn()
	if err != nil {
		return fmt.Errorf("maildir: recent: %w", err)
	}
	unlock()
	return nil
}

// recentPending reports whether committed messages wait to be claimed.
func (m *Maildir) recentPending(dir string, uidv, next uint32) bool {
	first, ok := readRecent(dir, uidv)
	return ok && first < next
}
