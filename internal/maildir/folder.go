package maildir

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir/pop3list"
	"gocourier/internal/maildir/uiddb"
)

// Folder is an open (selected) folder. It is used by one session
// goroutine; the Watch channel may be read from another.
type Folder struct {
	m       *Maildir
	name    string // canonical IMAP name
	dir     string
	ro      bool
	uidv    uint32
	next    uint32
	saved   bool   // the uiddb exists on disk with our uidv
	msgs    []*msg // ascending by UID (lookups use binary search)
	kwState kwState
	stamp   dirStamp
	cleaned time.Time
	closed  bool
	// deferSync/syncPending: see DeferSync.
	deferSync, syncPending bool
	ms                     *modseqState // nil until EnableModSeq (modseq.go)
	// durableDB: the identity of the last uiddb this folder made sure
	// was durable before reporting from it (durable.go).
	durableDB [3]int64
	// own and known: our own changes since the last full scan (own.go).
	own   *ownWatch
	known knownState
	scans int // full scans done (tests)

	// cacheDue: the first scan's snapshot cache is still to be written,
	// for the directories as stamped in cacheStamp (see SaveDeferred).
	cacheDue   bool
	cacheStamp dirStamp
	// syncDue: a scan moved files from new/ to cur/ and left the
	// directory fsyncs to SaveDeferred (syncMoves).
	syncDue bool
	// toFree: O_PATH descriptors of files EXPUNGE removed, closed by
	// SaveDeferred (removeDeferFree).
	toFree []int
}

type msg struct {
	uid    uint32
	base   string
	name   string // current name in cur/
	flags  Flags
	kw     []string
	recent bool
	crlf   int64 // cached CRLF size, -1 unknown
	mtime  time.Time
	// gone: a listing of cur/ made after this message was known did
	// not have it (refreshNames); a file that left cur/ does not come
	// back, so lookups answer ErrNoSuchMessage without listing again.
	gone bool
}

func (x *msg) info() MessageInfo {
	return MessageInfo{UID: x.uid, Name: x.base, Flags: x.flags, Keywords: append([]string(nil), x.kw...),
		LFSize: sizeFromName(x.base), InternalDate: x.mtime, Recent: x.recent}
}

// dirStamp records what a cheap rescan compares (§ performance): the
// mtimes of cur/ and new/, the identity of the uiddb and the keyword dir.
type dirStamp struct {
	valid              bool
	cur, new, kw       int64 // UnixNano mtimes
	dbIno, dbSize, dbM int64
}

// Racy windows. A directory mtime within the window before "now" is not
// trusted: a later change in the same timestamp tick would leave it
// unchanged. The width depends on the timestamp granularity. Local Linux
// filesystems with nanosecond timestamps (ext4 with large inodes, XFS,
// Btrfs, tmpfs) stamp changes from the kernel's coarse clock, which lags
// the clock we read by at most one tick (1-10 ms), so any change made
// after our stat gets an mtime above stat time - 1 tick: 100 ms is a wide
// margin. Everything else (NFS, whose server clock may differ, FAT, ext4
// with small inodes whose mtimes are whole seconds, unknown types) keeps
// 2 s; a mtime that is an exact second also keeps 2 s, since it may come
// from a whole-second filesystem.
const (
	racyCoarse = 2 * time.Second
	racyFine   = 100 * time.Millisecond
)

// localFilesystems are the filesystem types (statfs magic numbers) known
// to be local to this host, so that their timestamps come from this
// kernel's clock; the value says whether we also rely on their timestamps
// having nanoseconds (racyAt, the own-change watch, the lock queue).
// Anything else (NFS, CIFS, FUSE, cluster filesystems, an unknown type)
// counts as possibly remote.
var localFilesystems = map[uint32]bool{
	0xEF53:     true,  // ext2/3/4 (small inodes give whole seconds: see racyAt)
	0x58465342: true,  // XFS
	0x9123683E: true,  // Btrfs
	0x01021994: true,  // tmpfs
	0xF2F52010: false, // f2fs
	0xCA451A4E: false, // bcachefs
	0x2FC12FC1: false, // ZFS
	0x52654973: false, // reiserfs
	0x3153464A: false, // JFS
	0x794C7630: false, // overlayfs (a container's root, over a local upper layer)
}

// fsType returns dir's filesystem type, or ok false.
func fsType(dir string) (uint32, bool) {
	var sf unix.Statfs_t
	if unix.Statfs(dir, &sf) != nil {
		return 0, false
	}
	return uint32(sf.Type), true
}

// fineTimestamps reports whether dir is on a filesystem type known to
// keep nanosecond timestamps from the local clock.
func fineTimestamps(dir string) bool {
	t, ok := fsType(dir)
	return ok && localFilesystems[t]
}

// localFilesystem reports whether dir is on a filesystem known to be
// local (localFilesystems), whatever its timestamps' resolution.
func localFilesystem(dir string) bool {
	t, ok := fsType(dir)
	if !ok {
		return false
	}
	_, local := localFilesystems[t]
	return local
}

// racyAt reports whether mtime t (UnixNano) is too recent to trust at
// now (UnixNano) on a filesystem with fine timestamps or not.
func racyAt(t, now int64, fine bool) bool {
	w := racyCoarse
	if fine && t%1e9 != 0 {
		w = racyFine
	}
	return t > now-int64(w)
}

func statStamp(dir string) (dirStamp, bool) {
	var s dirStamp
	var st syscall.Stat_t
	now := time.Now().UnixNano()
	fine := fineTimestamps(dir)
	racy := false
	get := func(p string) int64 {
		if err := syscall.Stat(p, &st); err != nil {
			return -1
		}
		t := st.Mtim.Nano()
		if racyAt(t, now, fine) {
			racy = true
		}
		return t
	}
	s.cur = get(filepath.Join(dir, "cur"))
	s.new = get(filepath.Join(dir, "new"))
	s.kw = get(filepath.Join(dir, keywordDir))
	// The uiddb is only ever replaced by rename(), so a rewrite changes
	// its inode/size/mtime triple; it needs no racy window (directories
	// do: a change in the same clock tick keeps their mtime).
	if err := syscall.Stat(filepath.Join(dir, uiddbFile), &st); err == nil {
		s.dbM, s.dbIno, s.dbSize = st.Mtim.Nano(), int64(st.Ino), st.Size
	} else {
		s.dbM = -1
	}
	s.valid = !racy && s.cur >= 0 && s.new >= 0
	return s, s.valid
}

// OpenFolder scans a folder (§9.4) and returns it. readOnly is EXAMINE /
// ACL-limited: nothing is written, so a folder without a uiddb gets an
// unsaved UIDVALIDITY (now-1e9) and messages numbered by this scan keep
// their unsaved UIDs (Courier's EXAMINE, §9.4). Messages in new/ are moved
// to cur/ either way (Courier does so for SELECT and EXAMINE, not STATUS).
// Messages that this scan numbers for the first time are \Recent in this
// Folder (Courier: new/ files and cur/ files unknown to the uiddb).
func (m *Maildir) OpenFolder(name string, readOnly bool) (*Folder, error) {
	c, err := ValidateName(name)
	if err != nil {
		return nil, err
	}
	if !m.FolderExists(c) {
		return nil, fmt.Errorf("open %s: %w", c, ErrNoSuchFolder)
	}
	f := &Folder{m: m, name: c, dir: m.dirOf(c), ro: readOnly}
	if _, err := f.scan(); err != nil {
		return nil, err
	}
	return f, nil
}

// Status computes the IMAP STATUS counters without side effects, as
// Courier's STATUS does (checked against 5.0.13 by hand, transcript 05):
// files in new/ stay there, the uiddb is neither created nor rewritten,
// and RECENT counts the messages that the next SELECT would number for
// the first time (new/ files and cur/ files unknown to the uiddb), so a
// STATUS never steals \Recent from a later SELECT. Without a uiddb the
// UIDVALIDITY is the unsaved now-1e9 of §9.4.
func (m *Maildir) Status(name string) (Status, error) {
	c, err := ValidateName(name)
	if err != nil {
		return Status{}, err
	}
	if !m.FolderExists(c) {
		return Status{}, fmt.Errorf("status %s: %w", c, ErrNoSuchFolder)
	}
	dir := m.dirOf(c)
	dbPath := filepath.Join(dir, uiddbFile)
	data, err := readFileLimit(dbPath, maxMetaFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Status{}, fmt.Errorf("maildir: read %s: %w", dbPath, err)
	}
	db := uiddb.Parse(data)
	if !db.HeaderOK {
		db = uiddb.DB{UIDValidity: uint32(m.now().Unix() - imapEpoch), NextUID: 1}
	}
	curNames, err := readNames(filepath.Join(dir, "cur"))
	if err != nil {
		return Status{}, err
	}
	known := make(map[string]uint32, len(db.Entries))
	for _, e := range db.Entries {
		known[e.Name] = e.UID
	}
	// Numbered messages not yet claimed by a read-write session
	// (APPEND/COPY, see recentFile) are recent too.
	recentFrom, ok := readRecent(dir, db.UIDValidity)
	if !ok || !db.HeaderOK {
		recentFrom = ^uint32(0)
	}
	var unnumbered uint32
	var st Status
	seen := make(map[string]bool, len(curNames))
	count := func(n string) {
		if n == "" || n[0] == '.' {
			return
		}
		b, _, _ := splitName(n)
		if seen[b] {
			return
		}
		seen[b] = true
		st.Messages++
		if !flagsOf(n).Has(FlagSeen) {
			st.Unseen++
		}
		if u, ok := known[b]; !ok {
			st.Recent++
			unnumbered++
		} else if u >= recentFrom {
			st.Recent++
		}
	}
	for _, n := range curNames {
		count(n)
	}
	if nn, err := readNames(filepath.Join(dir, "new")); err == nil {
		for _, n := range nn {
			count(n)
		}
	}
	st.UIDValidity = db.UIDValidity
	st.UIDNext = db.NextUID + unnumbered
	if st.UIDNext < db.NextUID { // wrapped: Courier's UID space ends too
		st.UIDNext = ^uint32(0)
	}
	return st, nil
}

// Name returns the canonical IMAP name.
func (f *Folder) Name() string { return f.name }

// Dir returns the folder's directory.
func (f *Folder) Dir() string { return f.dir }

// ReadOnly reports whether the folder was opened read-only.
func (f *Folder) ReadOnly() bool { return f.ro }

// UIDValidity returns the folder's UIDVALIDITY.
func (f *Folder) UIDValidity() uint32 { return f.uidv }

// UIDNext returns the next UID that will be assigned.
func (f *Folder) UIDNext() uint32 { return f.next }

// Messages returns a snapshot of the messages, ascending by UID.
func (f *Folder) Messages() []MessageInfo {
	out := make([]MessageInfo, len(f.msgs))
	for i, x := range f.msgs {
		out[i] = x.info()
	}
	return out
}

// Each calls fn for every message, ascending by UID, without building a
// MessageInfo per message (a big folder's SELECT lists them all). kws is
// the folder's own keyword slice: fn must not modify it (the folder
// replaces, never edits, a message's keyword slice, so keeping it is
// safe).
func (f *Folder) Each(fn func(uid uint32, flags Flags, kws []string, recent bool, mtime time.Time)) {
	for _, x := range f.msgs {
		fn(x.uid, x.flags, x.kw, x.recent, x.mtime)
	}
}

// Len returns the number of messages.
func (f *Folder) Len() int { return len(f.msgs) }

// Message returns one message by UID.
func (f *Folder) Message(uid uint32) (MessageInfo, bool) {
	x := f.lookup(uid)
	if x == nil {
		return MessageInfo{}, false
	}
	return x.info(), true
}

// KeywordsInUse returns the keywords used by any message, most recently
// used first (for FLAGS/PERMANENTFLAGS, §4.3).
func (f *Folder) KeywordsInUse() []string {
	seen := map[string]bool{}
	var out []string
	for i := len(f.msgs) - 1; i >= 0; i-- {
		for _, k := range f.msgs[i].kw {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// Close releases the folder. Further calls fail with ErrClosed.
func (f *Folder) Close() error {
	err := f.Flush()
	f.SaveDeferred()
	f.closed = true
	f.own.close()
	f.own = nil
	return err
}

// Rescan picks up new deliveries and changes made by other processes.
// It is cheap when cur/, new/, the uiddb and the keyword directory are
// unchanged since the last scan (and their mtimes are not "racy", i.e.
// within 2 s of when they were recorded).
func (f *Folder) Rescan() (Changes, error) {
	if f.closed {
		return Changes{}, ErrClosed
	}
	s, ok := statStamp(f.dir)
	if f.stamp.valid && ok && s == f.stamp {
		return Changes{}, nil
	}
	// s is taken before the watch is read: a change after it is either
	// an event there, or shows in the next stamp.
	if f.unchangedSinceScan() {
		f.stamp = s
		if f.ms != nil {
			// As after a scan: the file records the directories' state
			// (for other processes' STATUS).
			f.reconcileModSeqFull()
		}
		return Changes{}, nil
	}
	ch, err := f.scan()
	if err == nil && f.ms != nil {
		// Changes by anyone get their mod-sequence now (RFC 7162). A
		// file we cannot write must not stop the session seeing
		// changes: the values stay in memory (above the clock floor,
		// so still monotonic) and a later pass writes them.
		f.reconcileModSeqFull()
	}
	return ch, err
}

// scanResult is the authoritative view computed by one scan.
type scanResult struct {
	uidv, next uint32
	saved      bool
	entries    []*msg // by UID
	// partial: a scanSkip scan left files out (see scanMode).
	partial bool
	// moved: new/ name, cur/ name of each file the scan moved from new/
	// to cur/ (own.go expects their events); neither directory is
	// fsynced yet (scanDir does it; Folder.scan defers it).
	moved []string
	// dropped counts uiddb lines whose file is gone (or repeated) that a
	// probing scan left in the file: the result is right, the uiddb is
	// only stale (see scan).
	dropped int
}

// scan implements §9.4 and merges the result into f.
func (f *Folder) scan() (ch Changes, err error) {
	f.scans++
	// The watch of our own changes covers what this scan lists (own.go).
	f.arm()
	stamp, _ := statStamp(f.dir)
	defer func() {
		db, exists := currentUIDDB(f.dir)
		if err == nil {
			// Nothing read from a uiddb reaches a client before it is
			// durable (durable.go).
			err = f.ensureDurable(db, exists)
		}
		if err != nil {
			f.disarm()
		} else {
			f.setKnown(stamp, db)
			f.dropSmallWatch()
		}
	}()
	// (Each path below that moves files from new/ returns them in
	// res.moved; expectMoves records them as ours.)
	first := f.uidv == 0 && len(f.msgs) == 0
	if first {
		// Not when APPEND/COPY left \Recent messages to claim.
		if res, ok := f.m.loadCache(f.dir, stamp); ok && !f.m.recentPending(f.dir, res.uidv, res.next) {
			f.merge(res, &ch)
			f.stamp = stamp
			f.m.rememberDB(f.dir, stamp, res)
			return ch, nil
		}
		res, ok, err := f.scanCachedNew(stamp)
		if err != nil {
			return ch, err
		}
		if ok {
			f.merge(res, &ch)
			// cur/ changed under us (the moves): the next Rescan scans.
			f.stamp = dirStamp{}
			return ch, nil
		}
	}
	var lk *dotLock
	var res scanResult
	recentFrom := ^uint32(0)
	locked := false
	if f.m.opts.UseLocks {
		// probe.go: most rescans run without the dot-lock.
		res, err = f.probe(first)
		switch {
		case errors.Is(err, errTryLock):
			if lk = f.m.tryLockFolder(f.dir); lk != nil {
				locked = true
			}
			err = nil
		case errors.Is(err, errNeedLock):
			l, lerr := f.m.lockFolder(f.dir)
			if lerr != nil {
				return ch, lerr
			}
			lk, locked, err = l, true, nil
		case err != nil:
			return ch, err
		}
		if !locked {
			recentFrom = f.m.claimRecent(f.dir, res.uidv, res.next, f.ro)
		}
	}
	if locked || !f.m.opts.UseLocks {
		// The fsyncs of cur/ and new/ after moving deliveries wait until
		// the reply is out (SaveDeferred): see syncMoves.
		res, err = f.m.scanDirProbe(f.dir, f.ro, f.uidv, scanWrite)
		if len(res.moved) > 0 && err != nil {
			syncMoves(f.dir) // the folder may never be used again
		} else if len(res.moved) > 0 {
			f.syncDue = true
		}
		if err == nil {
			recentFrom = f.m.claimRecent(f.dir, res.uidv, res.next, f.ro)
		}
	}
	lk.unlock()
	if err != nil {
		return ch, err
	}
	if f.cleaned.IsZero() || time.Since(f.cleaned) > time.Hour {
		f.m.cleanTmp(f.dir)
		f.cleaned = time.Now()
	}
	if kw, ok := f.kwState.load(f.m, f.dir, res.entries); ok {
		for _, e := range res.entries {
			e.kw = kw.get(e.base)
		}
	}
	for _, e := range res.entries {
		if e.uid >= recentFrom {
			e.recent = true
		}
	}
	f.merge(res, &ch)
	f.stamp = stamp
	f.expectMoves(res.moved)
	if res.partial {
		// A lock holder's files were left out (maybe renamed into cur/
		// before the watch was armed): look again next time.
		f.stamp = dirStamp{}
		f.disarm()
	}
	// saveCache itself refuses when cur/ or new/ changed during the scan
	// (e.g. files moved from new/); numbering unknown cur/ files only
	// rewrote the uiddb, whose new identity the cache records. It is
	// written later (SaveDeferred), not before the SELECT is answered.
	if first && res.saved && len(f.msgs) >= cacheMinMessages {
		f.cacheDue, f.cacheStamp = true, stamp
	}
	return ch, nil
}

// SaveDeferred writes the snapshot cache that the first scan left to
// write, if any; the IMAP session calls it once its SELECT is answered
// (imapserver.AfterReplier), Close calls it otherwise. Writing the cache
// of a 100,000-message folder (4.5 MB) was a sixth of a first open's
// time. It is safe later: saveCache compares the directories' stamps
// with the ones taken before the scan, so any change since then, ours
// (flags, expunges, appends all change cur/ or the keyword directory)
// or anyone's, makes it write nothing.
//
// It also makes the scan's moves from new/ to cur/ durable (syncMoves).
func (f *Folder) SaveDeferred() {
	if f.syncDue {
		f.syncDue = false
		syncMoves(f.dir)
	}
	if f.cacheDue && !f.closed {
		f.cacheDue = false
		f.saveCache(f.cacheStamp)
	}
	f.freeRemoved()
}

// syncMoves fsyncs cur/ and new/ after a scan moved deliveries from new/
// to cur/. Nothing that answers a client depends on it, so a session
// does it after its reply (a directory fsync of a big cur/ took 45 ms
// of a first SELECT's 160 ms on a busy disk): a rename is atomic, so a
// crash before the fsync leaves each file in new/ or in cur/, never
// lost. If the moves are lost but the uiddb numbering them survived
// (that one is fsynced before the reply), the next scan finds those
// files in new/ again, drops their uiddb lines (not in cur/) and gives
// them new UIDs above the saved next UID: no UID is reused, the client
// sees an expunge and a new message. Courier does not fsync either.
func syncMoves(dir string) {
	syncDir(filepath.Join(dir, "cur"))
	syncDir(filepath.Join(dir, "new"))
}

// cacheMinMessages: smaller folders scan fast enough without a cache.
var cacheMinMessages = 1000

// merge installs a scan result, computing the changes against the
// previous state (both are sorted by UID, so this is one merge walk).
func (f *Folder) merge(res scanResult, ch *Changes) {
	first := f.uidv == 0 && len(f.msgs) == 0
	old := f.msgs
	if !first && res.uidv != f.uidv {
		ch.UIDValidityChanged = true
		for _, x := range old {
			ch.vanish(x)
		}
		old = nil
	}
	oldKW := strings.Join(f.KeywordsInUse(), " ")
	f.uidv, f.next, f.saved = res.uidv, res.next, res.saved
	if first {
		f.msgs = res.entries
		return
	}
	out := make([]*msg, 0, len(res.entries))
	i := 0
	for _, e := range res.entries {
		for i < len(old) && old[i].uid < e.uid {
			ch.vanish(old[i])
			f.kwState.noteGone(old[i].base)
			i++
		}
		if i < len(old) && old[i].uid == e.uid && old[i].base == e.base {
			o := old[i]
			i++
			o.gone = false
			if o.name != e.name || o.flags != e.flags || !sameStrings(o.kw, e.kw) {
				o.name, o.flags, o.kw = e.name, e.flags, e.kw
				ch.Changed = append(ch.Changed, o.info())
			}
			out = append(out, o)
			continue
		}
		if i < len(old) && old[i].uid == e.uid {
			// Same UID, other file: cannot happen under one
			// UIDVALIDITY; report it as expunge + new.
			ch.vanish(old[i])
			i++
		}
		out = append(out, e)
		ch.New = append(ch.New, e.info())
	}
	for ; i < len(old); i++ {
		ch.vanish(old[i])
		f.kwState.noteGone(old[i].base)
	}
	f.msgs = out
	ch.KeywordsChanged = oldKW != strings.Join(f.KeywordsInUse(), " ")
}

// vanish records x as gone.
func (ch *Changes) vanish(x *msg) {
	ch.Vanished = append(ch.Vanished, x.uid)
	ch.VanishedInfo = append(ch.VanishedInfo, x.info())
}

// lookup finds a message by UID.
func (f *Folder) lookup(uid uint32) *msg {
	i := sort.Search(len(f.msgs), func(i int) bool { return f.msgs[i].uid >= uid })
	if i < len(f.msgs) && f.msgs[i].uid == uid {
		return f.msgs[i]
	}
	return nil
}

// remove drops a message from the in-memory state.
func (f *Folder) remove(uid uint32) {
	i := sort.Search(len(f.msgs), func(i int) bool { return f.msgs[i].uid >= uid })
	if i < len(f.msgs) && f.msgs[i].uid == uid {
		f.msgs = append(f.msgs[:i], f.msgs[i+1:]...)
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scanDir is Courier's scan algorithm (§9.4) on one folder directory; the
// caller holds the dot-lock when UseLocks. prevUIDV is the UIDVALIDITY an
// unsaved read-only view already uses (0 if none). The entries this call
// numbered (moved from new/ or unknown cur/ files) come back with recent
// set: they are \Recent for the caller. A read-only scan writes nothing.
func (m *Maildir) scanDir(dir string, ro bool, prevUIDV uint32) (scanResult, error) {
	res, err := m.scanDirProbe(dir, ro, prevUIDV, scanWrite)
	if len(res.moved) > 0 {
		syncMoves(dir)
	}
	return res, err
}

// scanMode says what scanDirProbe may do.
type scanMode int

const (
	// scanWrite moves new/ files, numbers and rewrites the uiddb (under
	// the dot-lock when IMAP_USELOCKS).
	scanWrite scanMode = iota
	// scanProbe changes nothing: errNeedLock as soon as it would.
	scanProbe
	// scanSkip changes nothing and leaves out what it would number
	// (new/ files, cur/ files the uiddb does not know): a lock holder is
	// numbering them (probe.go). res.partial says so.
	scanSkip
)

// errNeedLock: a probing scan found something to write.
var errNeedLock = errors.New("maildir: scan needs the folder lock")

// scanDirProbe is scanDir; with probe it changes nothing and fails with
// errNeedLock as soon as it would move a file or rewrite the uiddb, so
// that the caller can take the dot-lock and scan again. A probe without
// the lock is safe: the uiddb is only ever replaced by rename, and a
// commit caught between its rename into cur/ and its uiddb write shows up
// as an unknown cur/ file, which makes a scanProbe ask for the lock and a
// scanSkip leave the file out (probe.go).
func (m *Maildir) scanDirProbe(dir string, ro bool, prevUIDV uint32, mode scanMode) (scanResult, error) {
	var res scanResult
	probe := mode != scanWrite
	dbPath := filepath.Join(dir, uiddbFile)
	// The uiddb this handle last wrote (APPEND/COPY commit), if nobody
	// replaced it since: the rescan after each APPEND to a big selected
	// folder then skips re-parsing it.
	db, exists := m.dbCache.get(dbPath)
	if !exists {
		before, _ := fileIdent(dbPath)
		data, err := readFileLimit(dbPath, maxMetaFile)
		exists = err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("maildir: read %s: %w", dbPath, err)
		}
		// Repeated names are dropped by the matching below (matched[]).
		db = uiddb.ParseNamesUnchecked(data)
		// Remember it for the next rescan (those within 2 s of a change
		// cannot trust the directory stamps and scan again), but only
		// if the file did not change while it was read.
		if exists && db.HeaderOK && db.BadLines == 0 {
			if after, ok := fileIdent(dbPath); ok && after == before {
				m.dbCache.putIdent(dbPath, after, db)
			}
		}
	}
	dirty := false
	newUIDV := !db.HeaderOK
	// What the file said, to tell a rewrite that only drops lines of
	// vanished files from one that numbers files (see the fsync rule
	// below).
	parsedNext, parsedBad := db.NextUID, db.BadLines
	if !db.HeaderOK {
		// Missing or corrupt: a new UIDVALIDITY, everything renumbered
		// from 1 (Courier's rule; safe because the UIDVALIDITY changes).
		db = uiddb.DB{UIDValidity: uint32(m.now().Unix() - imapEpoch), NextUID: 1}
		if ro && !exists && prevUIDV != 0 {
			db.UIDValidity = prevUIDV
		}
		dirty = true
	} else if db.BadLines > 0 {
		dirty = true
	}
	// A probe that already knows it will write stops here: the caller
	// scans again under the lock, so listing and sorting cur/ now would
	// be done twice (a first open of a big folder, which has no uiddb,
	// listed and sorted 100,000 names twice).
	if probe && dirty && !ro {
		return res, errNeedLock
	}
	cur := filepath.Join(dir, "cur")
	names, err := readNames(cur)
	if err != nil {
		return res, err
	}
	// curIdx maps a base name to its index in names; matched marks the
	// ones the uiddb knows (an index and a flag instead of delete():
	// a first open of a 100,000 message folder does 100,000 of each).
	//
	// Without uiddb entries (a first open) there is nothing to match, so
	// no map at all: every file is pending, and files sharing a base are
	// found as neighbours once pending is sorted (see dedupeSorted).
	noDB := len(db.Entries) == 0
	var curIdx map[string]int32
	if !noDB {
		curIdx = make(map[string]int32, len(names))
	} else {
		curIdx = map[string]int32{}
	}
	bases := make([]string, len(names))
	matched := make([]bool, len(names))
	nmsg := 0
	var staged []string
	for i, n := range names {
		if n == "" || n[0] == '.' {
			matched[i] = true // not a message
			if strings.HasPrefix(n, stagePrefix) {
				staged = append(staged, n)
			}
			continue
		}
		b, _, _ := splitName(n)
		if noDB {
			bases[i] = b
			nmsg++
			continue
		}
		if _, dup := curIdx[b]; dup {
			matched[i] = true // two files, one base: keep the first (readdir order)
			continue
		}
		curIdx[b] = int32(i)
		bases[i] = b
		nmsg++
	}
	if !ro {
		m.removeStaleStaged(cur, staged)
	}
	entries := make([]*msg, 0, nmsg)
	store := make([]msg, nmsg)
	used := 0
	dropped := 0
	for _, e := range db.Entries {
		i, ok := curIdx[e.Name]
		if !ok || matched[i] {
			dropped++ // gone (or a duplicate uiddb line)
			if ok && i >= 0 && bases[i] == e.Name {
				// A repeated name: the remembered copy (if any) must
				// not reach commit(), which would write it back.
				m.dbCache.forget()
			}
			continue
		}
		matched[i] = true
		x := &store[used]
		used++
		*x = msg{uid: e.UID, base: bases[i], name: names[i], flags: flagsOf(names[i]), crlf: -1}
		entries = append(entries, x)
	}
	pending := make([]*msg, 0, nmsg-used)
	for i, n := range names {
		if matched[i] {
			continue
		}
		if mode == scanSkip {
			res.partial = true
			continue
		}
		x := &store[used]
		used++
		*x = msg{base: bases[i], name: n, flags: flagsOf(n), crlf: -1}
		pending = append(pending, x)
	}
	// Unknown cur/ files get numbered (unless the UID space is used up),
	// which makes the uiddb dirty: the same early stop as above.
	if probe && !ro && (dirty || len(pending) > 0 && db.NextUID != ^uint32(0)) {
		return res, errNeedLock
	}

	moved := map[string]bool{}
	newDir := filepath.Join(dir, "new")
	if nn, err := readNames(newDir); err == nil {
		sort.Strings(nn)
		for _, n := range nn {
			if n == "" || n[0] == '.' {
				continue
			}
			if mode == scanSkip {
				res.partial = true
				break
			}
			if probe {
				return res, errNeedLock
			}
			dst, ok := moveToCur(newDir, cur, n)
			if !ok {
				continue
			}
			res.moved = append(res.moved, n, dst)
			b, _, _ := splitName(dst)
			if _, dup := curIdx[b]; dup {
				continue // (noDB: dedupeSorted drops it)
			}
			curIdx[b] = -1
			moved[b] = true
			pending = append(pending, &msg{base: b, name: dst, flags: flagsOf(dst), crlf: -1})
		}
		// The caller fsyncs both directories (scanDir now, Folder.scan
		// after its reply).
	}
	// Courier's order: by the leading number of the name (arrival
	// time; a name without one counts as 0), then bytewise.
	sortArrival(pending)
	if noDB {
		pending = dedupeSorted(pending)
		packInOrder(pending)
	}
	for _, p := range pending {
		if db.NextUID == ^uint32(0) {
			break // UID space exhausted; Courier has the same limit
		}
		p.recent = true
		p.uid = db.NextUID
		db.NextUID++
		entries = append(entries, p)
		dirty = true
	}
	// Usually sorted already (uiddb lines ascend, new UIDs come after
	// them): check before sorting.
	if !slices.IsSortedFunc(entries, func(a, b *msg) int { return cmp.Compare(a.uid, b.uid) }) {
		sort.Slice(entries, func(i, j int) bool { return entries[i].uid < entries[j].uid })
	}
	res.uidv, res.next, res.entries = db.UIDValidity, db.NextUID, entries
	res.saved = exists && db.HeaderOK && !dirty && dropped == 0 && !res.partial
	if dirty && !ro && probe {
		return res, errNeedLock
	}
	if probe {
		// Only lines of vanished files: the caller decides whether the
		// rewrite is worth the lock (scan).
		res.dropped = dropped
		return res, nil
	}
	if (dirty || dropped > 0) && !ro {
		out := uiddb.DB{HeaderOK: true, UIDValidity: db.UIDValidity, NextUID: db.NextUID, Entries: make([]uiddb.Entry, len(entries))}
		for i, e := range entries {
			out.Entries[i] = uiddb.Entry{UID: e.uid, Name: e.base}
		}
		// A uiddb that starts a new UIDVALIDITY is written without fsync
		// (as Courier always does): if a crash loses it, or cuts it
		// short, the next scan finds it missing or corrupt and starts yet
		// another UIDVALIDITY, or (header intact, lines lost) numbers the
		// lost files above the saved next UID, so no UID is ever reused
		// under one UIDVALIDITY. A rewrite that extends an existing
		// UIDVALIDITY is fsynced: losing it could hand the same UIDs to
		// other files. This spares a first open of a big folder the fsync
		// of its whole uiddb. A rewrite that only drops the lines of
		// vanished files (the scan after an EXPUNGE: same header, no new
		// UID) is not fsynced either: if a crash loses it, the old file
		// still holds the same next UID and the stale lines are dropped
		// again by the next scan; the expunge itself was made durable by
		// the fsync of cur/ before its tagged OK.
		numbered := db.NextUID != parsedNext || parsedBad > 0
		if err := m.writeFileRename(dir, uiddbFile, uiddb.Format(out), 0o644, !newUIDV && numbered); err != nil {
			return res, err
		}
		// The next scan (e.g. the one after our own STORE or EXPUNGE)
		// need not parse what we just wrote; we hold the lock, so the
		// file is ours until the identity changes.
		if m.opts.UseLocks {
			m.dbCache.put(dbPath, out)
		}
		res.saved = true
	}
	// INTERNALDATE: mtimes are fetched lazily by OpenMessage/Message
	// users through stat; here we leave them zero to keep the scan lean.
	return res, nil
}

// moveToCur moves the new/ entry n into cur/, adding the empty ":2,"
// info when the name has none, and returns its cur/ name. ok is false
// when the file is gone (another process moved it first: silently) or the
// rename failed (logged).
func moveToCur(newDir, cur, n string) (dst string, ok bool) {
	dst = n
	if !strings.Contains(n, ":") {
		dst = n + ":2,"
	}
	// rename(2) itself, not os.Rename, which first lstats the target
	// (one more lookup in a big cur/ per delivery; the target cannot be
	// a directory that matters here: rename(2) fails on one anyway).
	if err := unix.Rename(filepath.Join(newDir, n), filepath.Join(cur, dst)); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "ERR: rename(%s,%s) failed: %v\n", filepath.Join(newDir, n), filepath.Join(cur, dst), err)
		}
		return "", false
	}
	return dst, true
}

// arrivalKey is one message to number: the leading number of its name
// (computed once), its base name and its position in the listing.
type arrivalKey struct {
	num  int64
	base string
	pos  int
}

// sortArrival puts messages to be numbered in Courier's order, that of
// pop3list.Compare: by the leading number of the name (arrival time; a
// name without one counts as 0), then bytewise. Base names hold no ':',
// where Compare stops, nor NUL, so the bytewise part is strings.Compare.
// Equal base names (two files of one message) keep their order in the
// listing (cur/ in readdir order, then new/), so the first one listed
// comes first. A first open sorts every name of the folder: the sort
// moves self-contained keys (no pointer chasing per comparison), not
// three parallel slices through an interface.
func sortArrival(pending []*msg) {
	if len(pending) < 2 {
		return
	}
	keys := make([]arrivalKey, len(pending))
	sorted := true
	for i, p := range pending {
		keys[i] = arrivalKey{pop3list.LeadingNum(p.base), p.base, i}
		if sorted && i > 0 && compareArrival(keys[i-1], keys[i]) > 0 {
			sorted = false
		}
	}
	if sorted {
		return
	}
	slices.SortFunc(keys, compareArrival)
	out := make([]*msg, len(pending))
	for i, k := range keys {
		out[i] = pending[k.pos]
	}
	copy(pending, out)
}

func compareArrival(a, b arrivalKey) int {
	if a.num != b.num {
		if a.num < b.num {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.base, b.base); c != 0 {
		return c
	}
	return a.pos - b.pos
}

// packInOrder copies the messages of a first open into one new array in
// UID (arrival) order and repoints p at it. They were allocated in
// readdir order, a hash order, so every later walk by UID (numbering,
// the uiddb, the session's message list, FETCH 1:*) touched them at
// random: a cache miss per message, which made building the session's
// list the hottest loop of a first SELECT of 100,000 messages.
func packInOrder(p []*msg) {
	if len(p) < 1024 {
		return
	}
	packed := make([]msg, len(p))
	for i, x := range p {
		packed[i] = *x
		p[i] = &packed[i]
	}
}

// dedupeSorted keeps the first of each run of equal base names in a
// byArrival-sorted list (the file listed first wins, as with the map
// scanDir uses when the uiddb has entries).
func dedupeSorted(p []*msg) []*msg {
	out := p[:0]
	for _, x := range p {
		if n := len(out); n > 0 && out[n-1].base == x.base {
			continue
		}
		out = append(out, x)
	}
	return out
}

func formatUIDDBHeader(uidv, next uint32) []byte { return uiddb.Header(uidv, next) }

// find locates a message's current file, following a rename by another
// process (flags changed elsewhere) by re-reading cur/.
func (f *Folder) find(uid uint32) (*msg, string, error) {
	x := f.lookup(uid)
	if x == nil {
		return nil, "", fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
	}
	if x.gone {
		return nil, "", fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
	}
	p := filepath.Join(f.dir, "cur", x.name)
	if _, err := os.Lstat(p); err == nil {
		return x, p, nil
	}
	// Only the name is brought up to date, not the flags: the next scan
	// must still see the flags differ and report the change (the IMAP
	// layer keeps its message list while a scan reports nothing).
	if n, ok := f.guessRenamed(x); ok {
		x.name = n
		return x, filepath.Join(f.dir, "cur", n), nil
	}
	if err := f.refreshNames(); err != nil {
		return nil, "", err
	}
	if x.gone {
		return nil, "", fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
	}
	return x, filepath.Join(f.dir, "cur", x.name), nil
}

// refreshNames lists cur/ once and brings the name of every message up
// to date, marking the ones no longer there gone. A command that meets
// several files renamed or expunged by other sessions since the last
// scan (FETCH 1:*, EXPUNGE) lists the directory once instead of once per
// message: under imaptest stress (50 sessions, one folder) the listings
// per message were a third of all listings of cur/, and a listing holds
// the directory's lock that every rename into or within cur/ waits for.
func (f *Folder) refreshNames() error {
	names, err := readNames(filepath.Join(f.dir, "cur"))
	if err != nil {
		return err
	}
	byBase := make(map[string]string, len(names))
	for _, n := range names {
		b, _, _ := splitName(n)
		byBase[b] = n
	}
	for _, x := range f.msgs {
		if n, ok := byBase[x.base]; ok {
			x.name = n
		} else {
			x.gone = true
		}
	}
	return nil
}

// flagVariants lists the 32 sets of the five IMAP flag letters as XOR
// masks, nearest first: the same set (in Courier's letter order), one
// flag changed, then two, ...
var flagVariants = func() []Flags {
	bitsOf := []Flags{FlagDraft, FlagFlagged, FlagAnswered, FlagSeen, FlagDeleted}
	out := []Flags{0}
	for d := 1; d <= len(bitsOf); d++ {
		for set := 1; set < 1<<len(bitsOf); set++ {
			if bits.OnesCount(uint(set)) != d {
				continue
			}
			var m Flags
			for i, b := range bitsOf {
				if set&(1<<i) != 0 {
					m |= b
				}
			}
			out = append(out, m)
		}
	}
	return out
}()

// guessRenamed looks for the file of x under the names another session's
// flag change gives it: the same base with other IMAP flag letters, the
// nearest first. Each guess is one lookup of a name (a cached dentry,
// positive or negative, after the first time), where a listing of cur/
// reads every entry under the directory's lock: with 50 sessions on one
// folder (imaptest stress), re-listing cur/ to find a renamed message was
// a fifth of all listings, and the listings kept the renames of flag
// changes and APPENDs waiting for that lock. Names with letters outside
// the five, or not in Courier's order, are left to the listing.
func (f *Folder) guessRenamed(x *msg) (string, bool) {
	if _, _, hasInfo := splitName(x.name); !hasInfo {
		return "", false
	}
	cur := filepath.Join(f.dir, "cur") + "/"
	known := flagsOf(x.name)
	var st unix.Stat_t
	for _, m := range flagVariants {
		n := withFlags(x.base, known^m)
		if n == x.name {
			continue // looked at already
		}
		if unix.Lstat(cur+n, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			return n, true
		}
	}
	return "", false
}

// OpenMessage opens a message's file (LF line ends, as stored) for
// streaming. The caller closes it.
func (f *Folder) OpenMessage(uid uint32) (*os.File, MessageInfo, error) {
	if f.closed {
		return nil, MessageInfo{}, ErrClosed
	}
	// Fast path (FETCH/SEARCH/SORT open every message): open the
	// name we know, without find's lstat; a rename by another process
	// (ENOENT) falls back to find.
	if x := f.lookup(uid); x != nil {
		if fh, err := openFile(filepath.Join(f.dir, "cur", x.name)); err == nil {
			if st, err := fh.Stat(); err == nil {
				x.mtime = st.ModTime()
			}
			return fh, x.info(), nil
		}
	}
	for try := 0; try < 3; try++ {
		x, p, err := f.find(uid)
		if err != nil {
			return nil, MessageInfo{}, err
		}
		fh, err := os.Open(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // renamed between find and open
			}
			return nil, MessageInfo{}, fmt.Errorf("maildir: open message %d: %w", uid, err)
		}
		if st, err := fh.Stat(); err == nil {
			x.mtime = st.ModTime()
		}
		return fh, x.info(), nil
	}
	return nil, MessageInfo{}, fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
}

// openFile opens a message file read-only with fewer system calls than
// os.Open (a regular file needs no poller registration).
func openFile(p string) (*os.File, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), p), nil
}

// InternalDate returns the message's file mtime (INTERNALDATE).
func (f *Folder) InternalDate(uid uint32) (time.Time, error) {
	x, p, err := f.find(uid)
	if err != nil {
		return time.Time{}, err
	}
	if !x.mtime.IsZero() {
		return x.mtime, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return time.Time{}, fmt.Errorf("maildir: stat message %d: %w", uid, err)
	}
	x.mtime = st.ModTime()
	return x.mtime, nil
}

// CRLFSize returns RFC822.SIZE: the stored size plus one for every LF,
// because the IMAP and POP3 layers send every LF as CRLF, as Courier
// does (its size is the MIME parser's line count plus byte count). The
// value is cached per message.
func (f *Folder) CRLFSize(uid uint32) (int64, error) {
	if x := f.lookup(uid); x != nil && x.crlf >= 0 {
		return x.crlf, nil
	}
	fh, _, err := f.OpenMessage(uid)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	n, _, err := CRLFSize(fh)
	if err != nil {
		return 0, fmt.Errorf("maildir: size of %d: %w", uid, err)
	}
	if x := f.lookup(uid); x != nil {
		x.crlf = n
	}
	return n, nil
}

// CRLFSize counts r's size with every LF sent as CRLF, and reports
// whether the message lacks a final LF (POP3 then adds a CRLF) and
// whether its header has 8-bit bytes (Courier's "isutf8", §9.10).
func CRLFSize(r io.Reader) (size int64, noFinalLF bool, err error) {
	n, last, _, err := scanMessage(r)
	return n, n > 0 && last != '\n', err
}

// scanMessage returns the CRLF size, the last byte and the 8-bit-header flag.
// scanBufs recycles scanMessage's read buffers: a fresh 64 KiB buffer per
// message (it escapes through r.Read) made a first POP3 listing of 100
// messages allocate 6.4 MB, grow the heap and force a collection, leaving
// the idle pop3d at about 3.9 MB private (DESIGN §7).
var scanBufs = sync.Pool{New: func() any { b := make([]byte, 64*1024); return &b }}

func scanMessage(r io.Reader) (int64, byte, bool, error) {
	bp := scanBufs.Get().(*[]byte)
	defer scanBufs.Put(bp)
	buf := *bp
	var n int64
	var last byte
	inHeader, bol, utf8 := true, true, false
	for {
		k, err := r.Read(buf)
		b := buf[:k]
		n += int64(k)
		n += int64(bytes.Count(b, []byte{'\n'}))
		if k > 0 {
			last = b[k-1]
		}
		for i := 0; inHeader && i < len(b); i++ {
			c := b[i]
			if c == '\n' {
				if bol {
					inHeader = false
				}
				bol = true
				continue
			}
			if c != '\r' {
				bol = false
			}
			if c >= 0x80 {
				utf8 = true
			}
		}
		if err == io.EOF {
			return n, last, utf8, nil
		}
		if err != nil {
			return n, last, utf8, err
		}
	}
}
