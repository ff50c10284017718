package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir/keywords"
	"gocourier/internal/maildir/uiddb"
)

// SetFlags replaces a message's flags and keywords (the complete sets; the
// IMAP layer computes +FLAGS/-FLAGS). Flags are a rename() in cur/ (§9.3);
// letters outside IMAPFlags that the file already had are kept. Keywords
// are written only when they differ and Options.Keywords is on. Allowed on
// read-only folders: Courier changes \Seen etc. in EXAMINE (§4.3), the
// IMAP layer decides.
func (f *Folder) SetFlags(uid uint32, flags Flags, kws []string) error {
	_, _, err := f.changeFlags(uid, func(cur Flags) Flags { return (cur &^ IMAPFlags) | (flags & IMAPFlags) }, kws, true)
	return err
}

// ChangeFlags adds and removes IMAP flags on the message's flags as its
// file's current name has them, not as this folder last saw them, and
// returns the flags and keywords that result. Another session that changed a flag
// since our last scan keeps its change: STORE +FLAGS (\Answered) in one
// session and STORE -FLAGS (\Seen) in another end with \Answered set
// whatever the order, where replacing the whole set computed from a stale
// view undid the first (imaptest's store script). The rename is the
// check: one from a name that another session has just renamed fails,
// and the flags are read again from the new name. With setKW the
// keywords become kws (Courier's keywords are last-writer-wins per
// message); without it they are left as they are.
func (f *Folder) ChangeFlags(uid uint32, add, remove Flags, kws []string, setKW bool) (Flags, []string, error) {
	add, remove = add&IMAPFlags, remove&IMAPFlags
	return f.changeFlags(uid, func(cur Flags) Flags { return (cur | add) &^ remove }, kws, setKW)
}

// changeFlags renames the message's file to the flags next gives for its
// current ones (letters outside IMAPFlags are kept as the name has them)
// and, with setKW, writes kws as its keywords.
func (f *Folder) changeFlags(uid uint32, next func(cur Flags) Flags, kws []string, setKW bool) (Flags, []string, error) {
	if f.closed {
		return 0, nil, ErrClosed
	}
	for _, k := range kws {
		if !keywords.Valid(k) {
			return 0, nil, fmt.Errorf("%q: %w", k, ErrBadKeyword)
		}
	}
	for try := 0; try < 3; try++ {
		// First try the name we know without find's lstat: a rename
		// from a name that is gone fails with ENOENT and the retry
		// looks the file up.
		var x *msg
		var p string
		if try == 0 {
			if x = f.lookup(uid); x == nil {
				return 0, nil, fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
			}
			p = filepath.Join(f.dir, "cur", x.name)
		} else {
			var err error
			if x, p, err = f.find(uid); err != nil {
				return 0, nil, err
			}
		}
		// The flags as the file's current name has them (find updates
		// the name only; x.flags may still be what the last scan saw).
		nf := next(flagsOf(x.name))
		nn := withFlags(x.base, nf)
		if try == 0 && nn == x.name {
			// No rename to prove the file still exists: look it up as
			// before (a vanished message must answer ErrNoSuchMessage
			// and get no keyword entry).
			continue
		}
		touched := nn != x.name
		if nn != x.name {
			if err := os.Rename(p, filepath.Join(f.dir, "cur", nn)); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return 0, nil, fmt.Errorf("maildir: set flags of %d: %w", uid, err)
			}
			f.expectCur(unix.IN_MOVED_FROM, filepath.Base(p))
			f.expectCur(unix.IN_MOVED_TO, nn)
			x.name, x.flags = nn, nf
			if f.deferSync {
				f.syncPending = true
			} else if err := syncDir(filepath.Join(f.dir, "cur")); err != nil {
				return 0, nil, err
			}
		}
		if setKW && f.m.opts.Keywords && !sameStrings(x.kw, kws) {
			kws = f.canonKeywords(kws)
			name, err := f.m.writeKeywords(f.dir, x.base, kws)
			if err != nil {
				return 0, nil, fmt.Errorf("maildir: keywords of %d: %w", uid, err)
			}
			f.expectKW(unix.IN_MOVED_TO, name)
			x.kw = append([]string(nil), kws...)
			touched = true
		}
		kw := append([]string(nil), x.kw...)
		if !touched {
			return nf, kw, nil
		}
		return nf, kw, f.modseqChanged(uid)
	}
	return 0, nil, fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
}

// DeferSync makes SetFlags skip its fsync of cur/ until Flush. The IMAP
// layer brackets one command (a STORE of many messages) with DeferSync and
// Flush, so that the renames cost one directory fsync, still done before
// the tagged OK acknowledges them. Without DeferSync every SetFlags is
// durable on return.
func (f *Folder) DeferSync() { f.deferSync = true }

// Flush ends DeferSync: it fsyncs cur/ if a rename is pending.
func (f *Folder) Flush() error {
	f.deferSync = false
	if f.ms != nil && f.ms.pending {
		if err := f.reconcileModSeq(); err != nil {
			return err
		}
	}
	if !f.syncPending {
		return nil
	}
	f.syncPending = false
	return syncDir(filepath.Join(f.dir, "cur"))
}

// canonKeywords maps keywords case-insensitively onto the spelling
// already used in the folder (IMAP keywords are case-insensitive, §9.6)
// and removes duplicates.
func (f *Folder) canonKeywords(kws []string) []string {
	use := map[string]string{}
	for _, k := range f.KeywordsInUse() {
		use[strings.ToLower(k)] = k
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range kws {
		l := strings.ToLower(k)
		if seen[l] {
			continue
		}
		seen[l] = true
		if u, ok := use[l]; ok {
			k = u
		}
		out = append(out, k)
	}
	return out
}

// Expunge unlinks messages and returns the UIDs actually removed by this
// call (a message already gone is simply not listed). maildirsize gets a
// negative delta (except in Trash). The uiddb is not rewritten: the next
// scan drops the entries, as Courier does.
func (f *Folder) Expunge(uids []uint32) ([]uint32, error) {
	if f.closed {
		return nil, ErrClosed
	}
	if f.ro {
		return nil, ErrReadOnly
	}
	var done []uint32
	var bytes, count int64
	cur := filepath.Join(f.dir, "cur")
	gone := make(map[uint32]bool, len(uids))
	for _, uid := range uids {
		if gone[uid] {
			continue
		}
		// The name we know first (no lstat per message); only a file
		// renamed by another process since our last scan needs find.
		x := f.lookup(uid)
		if x == nil {
			continue
		}
		p := filepath.Join(cur, x.name)
		sz := sizeFromName(x.base)
		if sz < 0 {
			if st, err := os.Stat(p); err == nil {
				sz = st.Size()
			}
		}
		err := f.removeDeferFree(p)
		if errors.Is(err, fs.ErrNotExist) {
			var ferr error
			if x, p, ferr = f.find(uid); ferr != nil {
				if errors.Is(ferr, ErrNoSuchMessage) {
					continue
				}
				return done, f.dropGone(gone, ferr)
			}
			err = f.removeDeferFree(p)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return done, f.dropGone(gone, fmt.Errorf("maildir: expunge %d: %w", uid, err))
		}
		if sz < 0 {
			sz = 0
		}
		bytes += sz
		count++
		f.expectCur(unix.IN_DELETE, filepath.Base(p))
		for _, n := range f.kwState.dropFiles(f.dir, x.base) {
			f.expectKW(unix.IN_DELETE, n)
		}
		gone[uid] = true
		done = append(done, uid)
	}
	f.dropGone(gone, nil)
	if len(done) > 0 {
		if err := syncDir(cur); err != nil {
			return done, err
		}
		if f.name != f.m.trashCanon() {
			f.m.quotaDelta(-bytes, -count)
		}
		if err := f.modseqChanged(done...); err != nil {
			return done, err
		}
	}
	return done, nil
}

// dropGone removes the unlinked messages from the in-memory state in one
// pass (one slice shift per message cost 10^8 pointer moves for 1,000
// expunges from a 100,000-message folder) and passes err through.
func (f *Folder) dropGone(gone map[uint32]bool, err error) error {
	if len(gone) == 0 {
		return err
	}
	w := 0
	for _, x := range f.msgs {
		if !gone[x.uid] {
			f.msgs[w] = x
			w++
		}
	}
	clear(f.msgs[w:])
	f.msgs = f.msgs[:w]
	return err
}

// maxDeferredFree bounds the removed files whose freeing waits for the
// reply (removeDeferFree): one descriptor each.
const maxDeferredFree = 256

// removeDeferFree removes the message file p (EXPUNGE) but keeps its inode
// referenced by an O_PATH descriptor until SaveDeferred, after the reply:
// whoever drops a file's last reference frees its blocks, and on a
// filesystem mounted with discard and no journal that waits for the device
// (about 0.16 ms a file on this machine's disk, far more when the session
// then waits for a CPU again). Past maxDeferredFree files, or if the
// descriptor cannot be had, the file is simply removed.
func (f *Folder) removeDeferFree(p string) error {
	fd := -1
	if len(f.toFree) < maxDeferredFree {
		if d, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
			fd = d
		}
	}
	err := os.Remove(p)
	if fd >= 0 {
		if err == nil {
			f.toFree = append(f.toFree, fd)
		} else {
			unix.Close(fd)
		}
	}
	return err
}

// freeRemoved lets the files removeDeferFree kept go.
func (f *Folder) freeRemoved() {
	for _, fd := range f.toFree {
		unix.Close(fd)
	}
	f.toFree = f.toFree[:0]
}

// stagePrefix starts the name under which a message waits in cur/ for
// its commit (see commit). A leading dot keeps it from every maildir
// reader (Courier's, ours, Dovecot's, mutt's); one left by a crash goes
// when a scan of cur/ meets it as old as a stale tmp/ file
// (removeStaleStaged).
const stagePrefix = ".courier-append."

// pendingMsg is a file prepared in tmp/ waiting for a UID (tmp: its path,
// in tmp/ or, once commit has staged it, in cur/ under stagePrefix).
type pendingMsg struct {
	tmp    string
	staged bool // tmp is in cur/ under stagePrefix
	base   string
	flags  Flags
	kws    []string
	mtime  time.Time
	size   int64
}

// Append stores a message into a folder (IMAP APPEND, §4.4): CRLF is
// converted to LF while streaming into tmp/, the file is fsynced, named
// "<time>.M<usec>P<pid>V<dev>I<ino>_<n>.<host>,S=<size>", its mtime set
// to date (INTERNALDATE; zero = now), and moved into cur/ with the next
// UID (the "uidplus" path, §9.5). An empty message is stored as "\n".
// Quota is checked first (ErrOverQuota).
func (m *Maildir) Append(name string, r io.Reader, flags Flags, kws []string, date time.Time) (AppendResult, error) {
	c, err := ValidateName(name)
	if err != nil {
		return AppendResult{}, err
	}
	if !m.FolderExists(c) {
		return AppendResult{}, fmt.Errorf("append to %s: %w", c, ErrNoSuchFolder)
	}
	for _, k := range kws {
		if !keywords.Valid(k) {
			return AppendResult{}, fmt.Errorf("%q: %w", k, ErrBadKeyword)
		}
	}
	dir := m.dirOf(c)
	p, err := m.writeTmp(dir, r, true)
	if err != nil {
		return AppendResult{}, err
	}
	p.flags, p.kws, p.mtime = flags&IMAPFlags, kws, date
	if c != m.trashCanon() {
		if err := m.checkQuota(p.size, 1); err != nil {
			os.Remove(p.tmp)
			return AppendResult{}, err
		}
	}
	uidv, uids, err := m.commit(dir, []*pendingMsg{p})
	if err != nil {
		return AppendResult{}, err
	}
	if c != m.trashCanon() {
		m.quotaDelta(p.size, 1)
	}
	return AppendResult{UIDValidity: uidv, UID: uids[0]}, nil
}

// Append stores a message into this folder; see Maildir.Append.
func (f *Folder) Append(r io.Reader, flags Flags, kws []string, date time.Time) (uint32, error) {
	res, err := f.m.Append(f.name, r, flags, kws, date)
	return res.UID, err
}

// writeTmp streams r into dir/tmp, converting CRLF to LF when conv, and
// returns the prepared message (final base name computed from the tmp
// file's device and inode, §9.2).
func (m *Maildir) writeTmp(dir string, r io.Reader, conv bool) (*pendingMsg, error) {
	return m.writeTmpNamed(dir, r, conv, true)
}

// writeTmpNamed is writeTmp; counter adds imapd's "_N" uniq part (APPEND,
// COPY), delivery agents have none.
func (m *Maildir) writeTmpNamed(dir string, r io.Reader, conv, counter bool) (*pendingMsg, error) {
	t := m.now()
	n := uniqCounter.Add(1) - 1
	pid := os.Getpid()
	tmpName := fmt.Sprintf("%d.M%dP%d_%d.%s", t.Unix(), t.Nanosecond()/1000, pid, n, m.host)
	tmp := filepath.Join(dir, "tmp", tmpName)
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("maildir: create %s: %w", tmp, err)
	}
	fail := func(err error) (*pendingMsg, error) {
		fh.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("maildir: write %s: %w", tmp, err)
	}
	bw := bufio.NewWriterSize(fh, 64*1024)
	var size int64
	if conv {
		size, err = copyCRLFtoLF(bw, r)
	} else {
		size, err = io.Copy(bw, r)
	}
	if err != nil {
		return fail(err)
	}
	if size == 0 {
		bw.WriteByte('\n')
		size = 1
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := fh.Sync(); err != nil {
		return fail(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fh.Fd()), &st); err != nil {
		return fail(err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("maildir: write %s: %w", tmp, err)
	}
	uniq := ""
	if counter {
		uniq = fmt.Sprintf("_%d", n)
	}
	base := fmt.Sprintf("%d.M%dP%dV%016XI%016X%s.%s,S=%d", t.Unix(), t.Nanosecond()/1000, pid, uint64(st.Dev), uint64(st.Ino), uniq, m.host, size)
	return &pendingMsg{tmp: tmp, base: base, size: size}, nil
}

// copyCRLFtoLF copies r to w turning every CRLF into LF (a lone CR is
// kept). It returns the bytes written.
func copyCRLFtoLF(w *bufio.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 64*1024)
	var n int64
	pendingCR := false
	for {
		k, err := r.Read(buf)
		b := buf[:k]
		for len(b) > 0 {
			if pendingCR {
				pendingCR = false
				if b[0] != '\n' {
					w.WriteByte('\r')
					n++
				}
			}
			i := bytes.IndexByte(b, '\r')
			if i < 0 {
				w.Write(b)
				n += int64(len(b))
				break
			}
			w.Write(b[:i])
			n += int64(i)
			b = b[i+1:]
			pendingCR = true
		}
		if err == io.EOF {
			if pendingCR {
				w.WriteByte('\r')
				n++
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// commit gives prepared tmp files their UIDs: it writes keyword files,
// then under the folder's dot-lock reads the uiddb, renames tmp -> cur
// with the flags, restores mtimes, and rewrites the uiddb with the new entries
// (§9.5). If the uiddb is missing or corrupt, a full scan is done first.
func (m *Maildir) commit(dir string, ps []*pendingMsg) (uint32, []uint32, error) {
	// Keyword files are named by the messages' unique base names, so they
	// are written (and fsynced) before the lock is taken: the lock is held
	// only for the uiddb update (imaptest stress: every session waits for
	// the holder).
	for _, p := range ps {
		if m.opts.Keywords && len(p.kws) > 0 {
			if _, err := m.writeKeywords(dir, p.base, p.kws); err != nil {
				for _, p := range ps {
					os.Remove(p.tmp)
				}
				return 0, nil, fmt.Errorf("maildir: keywords: %w", err)
			}
		}
	}
	// So are the INTERNALDATEs set, and the new uiddb's file made
	// (createSideTmp): directory operations in tmp/ and cur/ wait for each
	// other's directory locks when many sessions work on one folder, and
	// every one done under the folder lock makes the others wait longer.
	for _, p := range ps {
		if !p.mtime.IsZero() {
			os.Chtimes(p.tmp, p.mtime, p.mtime)
		}
	}
	dbTmp, err := m.createSideTmp(dir, 0o644)
	if err != nil {
		for _, p := range ps {
			os.Remove(p.tmp)
		}
		return 0, nil, fmt.Errorf("maildir: write %s: %w", uiddbFile, err)
	}
	// So is the move out of tmp/: each message waits in cur/ under a
	// dot-name, which every maildir reader skips, and the rename that
	// delivers it under the lock stays within cur/. A rename from tmp/
	// to cur/ locks both directories (and the filesystem's rename
	// mutex), and tmp/ is where every session makes its files: under
	// imaptest's stress it was the slowest step of a hold.
	for _, p := range ps {
		staged := filepath.Join(dir, "cur", stagePrefix+p.base)
		if err := os.Rename(p.tmp, staged); err == nil {
			p.tmp, p.staged = staged, true
		}
	}
	defer func() {
		if dbTmp != nil {
			dbTmp.Close()
			os.Remove(dbTmp.Name())
		}
	}()
	// A lone staged message is offered to the sessions ahead in the
	// queue (group commit, groupcommit.go).
	var req *commitRequest
	if len(ps) == 1 && ps[0].staged {
		req = &commitRequest{base: ps[0].base, flags: ps[0].flags}
	}
	var lk *dotLock
	if m.opts.UseLocks {
		l, err := m.takeLockFor(dir, true, req)
		if err != nil {
			for _, p := range ps {
				os.Remove(p.tmp)
			}
			return 0, nil, err
		}
		if l == nil && req != nil && req.done {
			// Delivered and numbered by the session ahead of us: make
			// its uiddb and the rename durable before answering.
			if err := m.syncCommitted(dir); err != nil {
				return 0, nil, err
			}
			return req.uidv, []uint32{req.uid}, nil
		}
		lk = l
	}
	defer func() { lk.unlock() }()
	dbPath := filepath.Join(dir, uiddbFile)
	db, lines, cached := m.dbCache.take(dbPath)
	if !cached {
		data, _ := readFileLimit(dbPath, maxMetaFile)
		db = uiddb.Parse(data)
	}
	if lines == nil {
		lines = uiddb.AppendLines(nil, db.Entries)
	}
	if !db.HeaderOK || db.BadLines > 0 {
		if _, err := m.scanDir(dir, false, 0); err != nil {
			return 0, nil, err
		}
		data, _ := readFileLimit(dbPath, maxMetaFile)
		db = uiddb.Parse(data)
		if !db.HeaderOK {
			return 0, nil, fmt.Errorf("maildir: %s: uiddb unusable after rescan", dir)
		}
		lines = uiddb.AppendLines(nil, db.Entries)
	}
	first := len(db.Entries)
	m.markCommitRecent(dir, db.UIDValidity, db.NextUID)
	uids := make([]uint32, 0, len(ps))
	cur := filepath.Join(dir, "cur")
	for _, p := range ps {
		if err := os.Rename(p.tmp, filepath.Join(cur, withFlags(p.base, p.flags))); err != nil {
			uid, ok := lostCommit(err, p, cur, db.Entries)
			if !ok {
				return 0, nil, fmt.Errorf("maildir: deliver %s: %w", p.base, err)
			}
			if uid != 0 {
				uids = append(uids, uid)
				continue
			}
		}
		if db.NextUID == ^uint32(0) {
			return 0, nil, fmt.Errorf("maildir: %s: UID space exhausted", dir)
		}
		db.Entries = append(db.Entries, uiddb.Entry{UID: db.NextUID, Name: p.base})
		uids = append(uids, db.NextUID)
		db.NextUID++
	}
	var served []servedMsg
	if lk != nil && lk.queue >= 0 {
		served = serveWaiting(lk.queue, lk.ticket, cur)
		for i := range served {
			if db.NextUID == ^uint32(0) {
				return 0, nil, fmt.Errorf("maildir: %s: UID space exhausted", dir)
			}
			db.Entries = append(db.Entries, uiddb.Entry{UID: db.NextUID, Name: served[i].rec.base})
			served[i].rec.uid = db.NextUID
			db.NextUID++
		}
	}
	// The new uiddb replaces the old one under the lock, and is made
	// durable (with the renames into cur/) once the lock is released,
	// before the caller answers (durable.go): commits of a busy folder
	// no longer queue behind each other's fsyncs. Whoever reads the new
	// uiddb meanwhile makes sure of it before telling a client (a crash
	// before then loses only unanswered messages, whose files return to
	// tmp/ or whose lines are dropped, §9.4).
	lines = uiddb.AppendLines(lines, db.Entries[first:])
	_, werr := dbTmp.Write(uiddb.Header(db.UIDValidity, db.NextUID))
	if werr == nil {
		_, werr = dbTmp.Write(lines)
	}
	if cerr := dbTmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		// The uiddb being replaced stays open until the lock is
		// released: whoever drops a file's last reference frees its
		// blocks, and on a filesystem mounted with discard and no
		// journal that waits for the device (perf: milliseconds of
		// every hold under imaptest's stress).
		if prev, err := os.Open(dbPath); err == nil {
			defer prev.Close()
		}
		werr = os.Rename(dbTmp.Name(), filepath.Join(dir, uiddbFile))
	}
	if werr != nil {
		os.Remove(dbTmp.Name())
		dbTmp = nil
		m.dbCache.forget()
		return 0, nil, fmt.Errorf("maildir: write %s: %w", uiddbFile, werr)
	}
	dbTmp = nil
	if len(served) > 0 {
		markServed(lk.queue, served, db.UIDValidity)
	}
	m.dbCache.putLines(dbPath, db, lines)
	lk.unlock()
	lk = nil
	if err := m.syncCommitted(dir); err != nil {
		return 0, nil, err
	}
	return db.UIDValidity, uids, nil
}

// syncCommitted makes a commit durable before it is answered: the uiddb
// that numbers its messages and their renames into cur/.
func (m *Maildir) syncCommitted(dir string) error {
	if _, err := m.syncUIDDB(dir); err != nil {
		return err
	}
	return syncDir(filepath.Join(dir, "cur"))
}

// CopyTo copies messages to another folder (IMAP COPY, §4.7) keeping
// flags, keywords and INTERNALDATE. A hard link is used when possible
// (flags live in names, so linked files stay independent), else a copy.
// It returns the destination UIDVALIDITY and, pairwise, the source UIDs
// that were copied and their new UIDs (COPYUID). Quota is checked for the
// whole set first.
func (f *Folder) CopyTo(dst string, uids []uint32) (uint32, []uint32, []uint32, error) {
	if f.closed {
		return 0, nil, nil, ErrClosed
	}
	c, err := ValidateName(dst)
	if err != nil {
		return 0, nil, nil, err
	}
	if !f.m.FolderExists(c) {
		return 0, nil, nil, fmt.Errorf("copy to %s: %w", c, ErrNoSuchFolder)
	}
	ddir := f.m.dirOf(c)
	var ps []*pendingMsg
	var src []uint32
	var total int64
	cleanup := func() {
		for _, p := range ps {
			os.Remove(p.tmp)
		}
	}
	for _, uid := range uids {
		x, p, err := f.find(uid)
		if err != nil {
			if errors.Is(err, ErrNoSuchMessage) {
				continue
			}
			cleanup()
			return 0, nil, nil, err
		}
		pm, err := f.m.linkOrCopy(ddir, p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			cleanup()
			return 0, nil, nil, err
		}
		pm.flags, pm.kws = x.flags&IMAPFlags, x.kw
		ps = append(ps, pm)
		src = append(src, uid)
		total += pm.size
	}
	if len(ps) == 0 {
		return 0, nil, nil, nil
	}
	if c != f.m.trashCanon() {
		if err := f.m.checkQuota(total, int64(len(ps))); err != nil {
			cleanup()
			return 0, nil, nil, err
		}
	}
	uidv, dstUIDs, err := f.m.commit(ddir, ps)
	if err != nil {
		cleanup()
		return 0, nil, nil, err
	}
	if c != f.m.trashCanon() {
		f.m.quotaDelta(total, int64(len(ps)))
	}
	return uidv, src, dstUIDs, nil
}

// MoveTo is CopyTo followed by Expunge of the copied source messages.
func (f *Folder) MoveTo(dst string, uids []uint32) (uint32, []uint32, []uint32, error) {
	uidv, src, dstUIDs, err := f.CopyTo(dst, uids)
	if err != nil {
		return uidv, src, dstUIDs, err
	}
	if _, err := f.Expunge(src); err != nil {
		return uidv, src, dstUIDs, err
	}
	return uidv, src, dstUIDs, nil
}

// linkOrCopy puts a copy of src into ddir/tmp under a fresh name.
func (m *Maildir) linkOrCopy(ddir, src string) (*pendingMsg, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	t := m.now()
	n := uniqCounter.Add(1) - 1
	var sys syscall.Stat_t
	syscall.Stat(src, &sys)
	size := st.Size()
	base := fmt.Sprintf("%d.M%dP%dV%016XI%016X_%d.%s,S=%d", t.Unix(), t.Nanosecond()/1000, os.Getpid(), uint64(sys.Dev), uint64(sys.Ino), n, m.host, size)
	tmp := filepath.Join(ddir, "tmp", base)
	if err := os.Link(src, tmp); err == nil {
		return &pendingMsg{tmp: tmp, base: base, size: size}, nil
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	p, err := m.writeTmp(ddir, in, false)
	if err != nil {
		return nil, err
	}
	p.mtime = st.ModTime()
	return p, nil
}
