package maildir

import (
	"errors"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Rescans of an open folder without the dot-lock.
//
// With IMAP_USELOCKS every scan that writes the uiddb holds the folder's
// dot-lock (§9.15), and Courier takes it for every scan. With 50
// sessions on one busy folder (imaptest stress) that queues each
// session's rescan behind the others': after one EXPUNGE every session
// found the uiddb stale, and all of them took the lock in turn, one
// directory listing each, to rewrite a file that the first one had
// already fixed. So a rescan of an open folder takes the lock only to
// hand out UIDs (new/ deliveries, unknown files in cur/, a missing or
// damaged uiddb) and leaves lines of vanished files in the uiddb:
//
//   - Such lines are harmless to us and to Courier (both drop a line whose
//     file is gone, §9.4 step 3); they are dropped by the next scan that
//     holds the lock anyway, or, once they pass staleLimit, by a rewrite
//     done only when the lock is free at that moment (tryLockFolder), so
//     the file stays bounded and nobody queues for its cleaning.
//   - Files to number while someone holds the lock are almost always the
//     holder's own (a commit between its renames into cur/ and its uiddb
//     write): the probe waits for the lock to go and looks again rather
//     than queueing for the lock behind it.
//   - What a probe reads may not be durable yet (a commit makes its
//     uiddb durable after releasing the lock): scan checks it
//     (ensureDurable, durable.go) before the result is used, so that no
//     session reports a UID that a crash could give to another message.
//   - \Recent claims need no dot-lock: they are made under an flock of the
//     folder directory (recent.go), a lock that only our processes use.
//
// A rescan without IMAP_USELOCKS scans as the locked path does.

// lockBusyFor: a lock held longer than this is no longer taken for a
// holder at work; the probe then queues for it (lockFolder), which
// removes it when it is stale.
const lockBusyFor = 10 * time.Second

// errTryLock: the probe's result is right but its uiddb is stale enough
// to rewrite if the lock is free.
var errTryLock = errors.New("maildir: uiddb worth cleaning")

// staleLimit is how many vanished lines an open folder's uiddb may keep
// before a scan rewrites it (when the lock is free).
func staleLimit(n int) int { return max(256, n/4) }

// probe scans the folder without the dot-lock. It returns errNeedLock
// when the scan must be redone under the lock (files to number, nobody
// at it), and errTryLock with a usable result when the uiddb could be
// cleaned. A result with partial set left out files that a lock holder
// is numbering: the next Rescan must scan again.
func (f *Folder) probe(first bool) (res scanResult, err error) {
	mode := scanProbe
	if lockBusy(f.dir) {
		mode = scanSkip
	}
	res, err = f.m.scanDirProbe(f.dir, f.ro, f.uidv, mode)
	if errors.Is(err, errNeedLock) && mode == scanProbe && lockBusy(f.dir) {
		// A commit started while we looked: its files, not ours to
		// number.
		mode = scanSkip
		res, err = f.m.scanDirProbe(f.dir, f.ro, f.uidv, mode)
	}
	if err != nil {
		return res, err
	}
	if !f.ro && res.dropped > 0 && (first || res.dropped > staleLimit(len(res.entries))) {
		// A first open writes a clean uiddb (its snapshot cache needs
		// one); an open folder only past the limit.
		return res, errTryLock
	}
	return res, nil
}

// lockBusy reports whether someone holds dir's dot-lock and took it
// recently (see lockBusyFor).
func lockBusy(dir string) bool {
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "tmp", lockName), &st); err != nil {
		return false
	}
	return time.Since(time.Unix(st.Mtim.Unix())) < lockBusyFor
}
