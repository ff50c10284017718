package maildir

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"gocourier/internal/maildir/uiddb"
)

// The snapshot cache makes a new session's SELECT of an unchanged big
// folder cheap: it records the folder's state (UIDs, file names with
// flags, keywords) together with the stamps of cur/, new/, the keyword
// directory and the uiddb's identity. When all stamps are equal and none
// is "racy" (modified within 2 s, or 100 ms on filesystems with fine
// timestamps, of being recorded (see racyAt), so a later change in
// the same clock tick cannot hide), the cache is used instead of readdir
// + uiddb parse + match. Any change by anyone (delivery, Courier's
// imapd, a flag rename, a keyword update, a uiddb rewrite) changes a
// stamp and the cache is ignored. It is only a cache: a damaged or
// unexpected file is ignored, and Courier never reads it.
const cacheFile = "gocourierimapcache"

const cacheMagic = "GOCOURIERCACHE1"

func cacheHeader(s dirStamp, kwOn bool, uidv, next uint32, n int) string {
	return fmt.Sprintf("%s %d %d %d %d %d %d %t %d %d %d\n", cacheMagic, s.cur, s.new, s.kw, s.dbIno, s.dbSize, s.dbM, kwOn, uidv, next, n)
}

// loadCache returns the cached state if it matches stamp exactly.
func (m *Maildir) loadCache(dir string, stamp dirStamp) (scanResult, bool) {
	if !stamp.valid {
		return scanResult{}, false
	}
	return m.readCache(dir, stamp, false)
}

// readCache reads the cache if its header matches stamp; with anyNew the
// new/ mtime is not compared (the caller reads new/ itself and has
// checked that the other stamps are not racy).
func (m *Maildir) readCache(dir string, stamp dirStamp, anyNew bool) (scanResult, bool) {
	var res scanResult
	if stamp.dbM < 0 || stamp.cur < 0 {
		return res, false
	}
	data, err := readFileLimit(filepath.Join(dir, cacheFile), maxMetaFile)
	if err != nil {
		return res, false
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return res, false
	}
	h := strings.Fields(string(data[:nl]))
	if len(h) != 11 || h[0] != cacheMagic {
		return res, false
	}
	uidv, e1 := strconv.ParseUint(h[8], 10, 32)
	next, e2 := strconv.ParseUint(h[9], 10, 32)
	n, e3 := strconv.Atoi(h[10])
	if e1 != nil || e2 != nil || e3 != nil || n < 0 || n > len(data) {
		return res, false
	}
	if anyNew {
		v, err := strconv.ParseInt(h[2], 10, 64)
		if err != nil {
			return res, false
		}
		stamp.new = v
	}
	stamp.valid = true
	if string(data[:nl+1]) != cacheHeader(stamp, m.opts.Keywords, uint32(uidv), uint32(next), n) {
		return res, false
	}
	res.uidv, res.next, res.saved = uint32(uidv), uint32(next), true
	// One string for the whole body: names and keywords are substrings
	// of it, and all messages live in one slice (few allocations).
	// The bytes are never written again, so they become that string
	// without a copy (a 100,000-message cache is ~4.5 MB).
	body := data[nl+1:]
	var rest string
	if len(body) > 0 {
		rest = unsafe.String(&body[0], len(body))
	}
	store := make([]msg, n)
	res.entries = make([]*msg, 0, n)
	var prev uint32
	for k := 0; len(rest) > 0; k++ {
		i := strings.IndexByte(rest, '\n')
		if i < 0 || k >= n {
			return res, false
		}
		line := rest[:i]
		rest = rest[i+1:]
		sp := strings.IndexByte(line, ' ')
		if sp <= 0 {
			return res, false
		}
		u, err := strconv.ParseUint(line[:sp], 10, 32)
		if err != nil || uint32(u) <= prev || uint32(u) >= res.next {
			return res, false
		}
		prev = uint32(u)
		line = line[sp+1:]
		name := line
		var kw []string
		if sp = strings.IndexByte(line, ' '); sp >= 0 {
			name = line[:sp]
			kw = strings.Fields(line[sp+1:])
		}
		if name == "" {
			return res, false
		}
		b, _, _ := splitName(name)
		x := &store[k]
		*x = msg{uid: uint32(u), base: b, name: name, flags: flagsOf(name), kw: kw, crlf: -1}
		res.entries = append(res.entries, x)
	}
	if len(res.entries) != n {
		return res, false
	}
	return res, true
}

// saveCache writes the state of f if stamp (taken before the scan) still
// describes the directories and nothing is racy.
func (f *Folder) saveCache(pre dirStamp) {
	post, ok := statStamp(f.dir)
	if !ok || !pre.valid || post.cur != pre.cur || post.new != pre.new || post.kw != pre.kw || post.dbM < 0 {
		os.Remove(filepath.Join(f.dir, cacheFile))
		return
	}
	if nn, err := readNames(filepath.Join(f.dir, "new")); err != nil || len(nn) > 0 {
		return
	}
	var b bytes.Buffer
	b.Grow(len(f.msgs) * 100)
	b.WriteString(cacheHeader(post, f.m.opts.Keywords, f.uidv, f.next, len(f.msgs)))
	for _, x := range f.msgs {
		// Two IndexByte scans (vectorised) instead of ContainsAny,
		// which cost a first open ~40 ms for 100,000 names.
		if strings.IndexByte(x.name, ' ') >= 0 || strings.IndexByte(x.name, '\n') >= 0 {
			os.Remove(filepath.Join(f.dir, cacheFile))
			return // names with spaces: do not cache
		}
		b.WriteString(strconv.FormatUint(uint64(x.uid), 10))
		b.WriteByte(' ')
		b.WriteString(x.name)
		for _, k := range x.kw {
			b.WriteByte(' ')
			b.WriteString(k)
		}
		b.WriteByte('\n')
	}
	// No fsync: the cache is never the only copy of anything, and a file
	// lost or cut short by a crash fails the header/count checks.
	f.m.writeFileRename(f.dir, cacheFile, b.Bytes(), 0o600, false)
}

// scanCachedNew is the scan of a folder whose cache still describes cur/,
// the keyword directory and the uiddb, and which only got deliveries into
// new/ since (the usual state of a big INBOX between two sessions). It
// moves new/ to cur/ and numbers those files exactly as scanDir would
// (arrival order, after the uiddb's next UID), but takes everything else
// from the cache instead of listing cur/ and parsing the uiddb: the cache
// was saved only when the uiddb matched cur/ exactly, so the uiddb is
// rewritten from it plus the new entries. The identities are checked
// again under the folder lock, so a concurrent writer sends us back to
// the full scan. ok is false whenever this path does not apply (nothing
// written then).
func (f *Folder) scanCachedNew(stamp dirStamp) (res scanResult, ok bool, err error) {
	if f.ro || stamp.new < 0 || stamp.dbM < 0 {
		return res, false, nil
	}
	now, fine := time.Now().UnixNano(), fineTimestamps(f.dir)
	if racyAt(stamp.cur, now, fine) || racyAt(stamp.kw, now, fine) {
		return res, false, nil
	}
	res, ok = f.m.readCache(f.dir, stamp, true)
	if !ok {
		return res, false, nil
	}
	// \Recent waiting to be claimed (APPEND/COPY, recent.go) is claimed
	// by the full scan.
	if f.m.recentPending(f.dir, res.uidv, res.next) {
		return res, false, nil
	}
	var lk *dotLock
	if f.m.opts.UseLocks {
		l, err := f.m.lockFolder(f.dir)
		if err != nil {
			return res, false, err
		}
		lk = l
	}
	defer lk.unlock()
	// Under the lock: nobody changed cur/, the keywords or the uiddb
	// since the stamp the cache matched.
	if now, _ := statStamp(f.dir); now.cur != stamp.cur || now.kw != stamp.kw || now.dbIno != stamp.dbIno || now.dbSize != stamp.dbSize || now.dbM != stamp.dbM {
		return res, false, nil
	}
	newDir := filepath.Join(f.dir, "new")
	cur := filepath.Join(f.dir, "cur")
	nn, err := readNames(newDir)
	if err != nil || len(nn) == 0 {
		return res, false, nil
	}
	sort.Strings(nn)
	var pending []*msg
	want := make(map[string]bool, len(nn))
	for _, n := range nn {
		if n == "" || n[0] == '.' {
			continue
		}
		dst, moved := moveToCur(newDir, cur, n)
		if !moved {
			continue
		}
		b, _, _ := splitName(dst)
		if want[b] {
			continue
		}
		want[b] = true
		pending = append(pending, &msg{base: b, name: dst, flags: flagsOf(dst), crlf: -1})
	}
	if len(pending) == 0 {
		return res, false, nil
	}
	// cur/ and new/ are fsynced after the reply (syncMoves).
	f.syncDue = true
	// A base already in cur/ (delivered twice) is not numbered again,
	// as in scanDir.
	for _, e := range res.entries {
		if want[e.base] {
			want[e.base] = false
		}
	}
	sortArrival(pending)
	for _, p := range pending {
		if !want[p.base] || res.next == ^uint32(0) {
			continue
		}
		p.uid = res.next
		p.recent = true
		res.next++
		res.entries = append(res.entries, p)
	}
	out := uiddb.DB{HeaderOK: true, UIDValidity: res.uidv, NextUID: res.next, Entries: make([]uiddb.Entry, len(res.entries))}
	for i, e := range res.entries {
		out.Entries[i] = uiddb.Entry{UID: e.uid, Name: e.base}
	}
	// Extends an existing UIDVALIDITY: fsynced (see scanDir).
	if err := f.m.writeFileRename(f.dir, uiddbFile, uiddb.Format(out), 0o644, true); err != nil {
		f.syncDue = false
		syncMoves(f.dir) // the folder may never be used again
		return res, false, err
	}
	if f.m.opts.UseLocks {
		f.m.dbCache.put(filepath.Join(f.dir, uiddbFile), out)
	}
	res.saved = true
	return res, true, nil
}

// rememberDB seeds the uiddb cache from a snapshot-cache load: the cache
// is saved only when the uiddb lists exactly its entries, and its stamp
// matched the uiddb's inode, size and mtime, so the first rescan after
// our own STORE or EXPUNGE need not parse a 4 MB uiddb. The identity is
// taken again now (the dbCache also compares ctime) and must still agree
// with the stamp.
func (m *Maildir) rememberDB(dir string, stamp dirStamp, res scanResult) {
	p := filepath.Join(dir, uiddbFile)
	id, ok := fileIdent(p)
	if !ok || id[0] != stamp.dbIno || id[1] != stamp.dbSize || id[2] != stamp.dbM {
		return
	}
	db := uiddb.DB{HeaderOK: true, UIDValidity: res.uidv, NextUID: res.next, Entries: make([]uiddb.Entry, len(res.entries))}
	for i, e := range res.entries {
		db.Entries[i] = uiddb.Entry{UID: e.uid, Name: e.base}
	}
	m.dbCache.putIdent(p, id, db)
}
