package maildir

// Mod-sequences for CONDSTORE/QRESYNC (RFC 7162), kept beside Courier's
// files without changing them.
//
// Courier 5.0.13 has no mod-sequences, and Courier itself, a delivery agent
// or a user's tool may rename a message's flags or delete its file behind
// our back. So the mod-sequence state is a cache of "which flag state was
// given which mod-sequence", kept in the folder's gocouriermodseq file
// (Courier ignores files it does not know, like our gocourierimapcache):
//
//   - per UID: its MODSEQ and a signature (hash) of the maildir flags and
//     keywords it had when that MODSEQ was given;
//   - the expunged UIDs with the MODSEQ of their expunge (for VANISHED),
//     bounded by maxVanished; when trimmed, ExactSince records the lowest
//     mod-sequence from which the list is still complete, and older
//     requests get the safe full answer (RFC 7162 §3.2.5.2, §3.2.10);
//   - HIGHESTMODSEQ and the directory stamp of the scan it describes (for
//     a cheap STATUS HIGHESTMODSEQ).
//
// Reconciling compares the folder's current messages with the file: a
// message whose signature differs (changed by anyone), a message the file
// does not know (new), and a UID the file knows that is gone (expunged)
// all get one new mod-sequence for the whole pass. So one STORE (one
// DeferSync/Flush bracket) is one mod-sequence, and changes made by others
// get theirs at our next rescan.
//
// Invariants:
//   - Mod-sequences never go backwards. Every new value is
//     max(HIGHESTMODSEQ+1, microseconds since the epoch). The file is
//     hostile input (bounded size and line parse; duplicates, zeros and
//     values above the header are corruption); when it is lost or corrupt
//     we restart at the clock, which is above every value ever given
//     because every value was the clock (or one above the previous value)
//     when it was given. Only a clock set back, or a burst of more than
//     one pass per microsecond just before the loss, could break that; a
//     pass is a whole command, which takes far longer than a microsecond.
//   - The file is a snapshot followed by a journal. A pass that gives
//     new values appends one record (one write(2), one fdatasync) holding
//     only what changed, so a STORE costs O(changed messages), not
//     O(folder). When the journal outgrows a bound (journalLimit), or the
//     file is new, torn or of an older format, the pass writes a fresh
//     snapshot instead: tmp + fsync + rename + dir fsync, as the uiddb.
//     Both happen while holding an flock(2) on the folder directory, so
//     that our sessions' read-modify-write passes do not interleave.
//   - A record is "J <length> <crc32c> <payload>\n"; a record whose length
//     or checksum does not match (a write torn by a crash) ends the file:
//     it and anything after it are ignored, never misread, and the next
//     writer compacts rather than append after it. Records carry the
//     snapshot's generation (random per snapshot) and their HIGHESTMODSEQ,
//     which must not go down, so a record can never be replayed on the
//     wrong snapshot.
//   - A session that sees the file grew (same inode, larger size) since
//     it last read or wrote it reads only the new records.
//   - Read-only folders (EXAMINE) keep their mod-sequences in memory and
//     write nothing, as their scans write nothing.
//   - A new UIDVALIDITY discards the file's state (every UID is void).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// castagnoli is built on first use: a package-level table would be built
// at every imapd and pop3d start (0.35 ms of CPU per login), and most
// sessions never enable CONDSTORE.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// ModSeqFile is the per-folder file name (our gocourier* family).
const ModSeqFile = "gocouriermodseq"

const (
	modseqMagic = "gocouriermodseq 1"
	// maxModSeq: RFC 7162 §3.1.1 mod-sequences are below 2^63; we stop
	// well short so that a hostile header cannot make us wrap.
	maxModSeq = 1<<63 - 1<<40
	// maxModSeqLine bounds one line of the snapshot.
	maxModSeqLine = 200
	// maxModSeqRecord bounds one journal record's payload; a pass that
	// changes more writes a snapshot instead.
	maxModSeqRecord = 1 << 20
)

// minJournalBytes is the journal size below which we never compact (a
// variable for tests).
var minJournalBytes int64 = 64 << 10

// journalLimit is the journal size above which the next pass compacts:
// half the snapshot (so rereading the journal costs less than the
// snapshot, and compaction is amortised over many records), at least
// minJournalBytes.
func journalLimit(snap int64) int64 {
	return max(snap/2, minJournalBytes)
}

// maxVanished bounds the expunge history; older expunges are answered
// with the full safe answer. A variable for tests.
var maxVanished = 20000

// ModSeqEntry is one message's mod-sequence and the flag signature it was
// given for.
type ModSeqEntry struct {
	ModSeq uint64
	Sig    uint64
}

// VanishedEntry is one expunged UID and the mod-sequence of its expunge.
type VanishedEntry struct {
	UID    uint32
	ModSeq uint64
}

// ModSeqDB is the content of a gocouriermodseq file.
type ModSeqDB struct {
	UIDValidity uint32
	Highest     uint64
	// ExactSince: Vanished lists every expunge whose mod-sequence is
	// above ExactSince.
	ExactSince uint64
	// Stamp is the directory stamp of the folder state Highest covers
	// (all zero when unknown).
	Stamp    [6]int64
	Msgs     map[uint32]ModSeqEntry
	Vanished []VanishedEntry // ascending by ModSeq
	// Gen identifies the snapshot; journal records name it. 0 (a file
	// of the first format, without the field) takes no records.
	Gen uint64
}

// modseqFileInfo describes the layout of a parsed file.
type modseqFileInfo struct {
	snap  int64 // bytes of the snapshot
	valid int64 // bytes up to the end of the last good record
	torn  bool  // bytes after valid (a torn or bad record)
}

// ParseModSeq parses a gocouriermodseq file. ok is false for a missing or
// corrupt file; highest is then the largest plausible HIGHESTMODSEQ the
// header still showed (0 if none), which a restart must stay above.
func ParseModSeq(data []byte) (db ModSeqDB, highest uint64, ok bool) {
	db, highest, _, ok = parseModSeqFile(data)
	return db, highest, ok
}

// parseModSeqFile is ParseModSeq with the file's layout: the snapshot,
// then the journal records applied in order.
func parseModSeqFile(data []byte) (db ModSeqDB, highest uint64, info modseqFileInfo, ok bool) {
	line, rest, _ := bytes.Cut(data, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(line) > 2*maxModSeqLine || (len(f) != 11 && len(f) != 12) || f[0]+" "+f[1] != modseqMagic {
		return ModSeqDB{}, 0, info, false
	}
	var nums [10]uint64
	for i := range f[2:] {
		n, err := strconv.ParseUint(f[2+i], 10, 64)
		if err != nil {
			return ModSeqDB{}, 0, info, false
		}
		nums[i] = n
	}
	if nums[0] == 0 || nums[0] > 0xFFFFFFFF || nums[1] >= maxModSeq || nums[2] > nums[1] {
		return ModSeqDB{}, 0, info, false
	}
	db = ModSeqDB{UIDValidity: uint32(nums[0]), Highest: nums[1], ExactSince: nums[2], Msgs: map[uint32]ModSeqEntry{}, Gen: nums[9]}
	for i := range db.Stamp {
		db.Stamp[i] = int64(nums[3+i])
	}
	highest = db.Highest
	bad := func() (ModSeqDB, uint64, modseqFileInfo, bool) { return ModSeqDB{}, highest, modseqFileInfo{}, false }
	for len(rest) > 0 {
		if rest[0] == 'J' {
			// The journal: everything from here on is records.
			info.snap = int64(len(data) - len(rest))
			n, torn := applyModSeqRecords(&db, rest)
			info.valid = info.snap + int64(n)
			info.torn = torn
			return db, db.Highest, info, true
		}
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		if len(line) > maxModSeqLine {
			return bad()
		}
		f := strings.Fields(string(line))
		if len(f) != 3 {
			return bad()
		}
		if f[0] == "-" {
			uid, err1 := strconv.ParseUint(f[1], 10, 32)
			ms, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil || uid == 0 || ms == 0 || ms > db.Highest {
				return bad()
			}
			if n := len(db.Vanished); n > 0 && db.Vanished[n-1].ModSeq > ms || n >= maxVanished {
				return bad()
			}
			db.Vanished = append(db.Vanished, VanishedEntry{UID: uint32(uid), ModSeq: ms})
			continue
		}
		uid, err1 := strconv.ParseUint(f[0], 10, 32)
		ms, err2 := strconv.ParseUint(f[1], 10, 64)
		sig, err3 := strconv.ParseUint(f[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || uid == 0 || ms == 0 || ms > db.Highest {
			return bad()
		}
		if _, dup := db.Msgs[uint32(uid)]; dup {
			return bad()
		}
		db.Msgs[uint32(uid)] = ModSeqEntry{ModSeq: ms, Sig: sig}
	}
	info.snap, info.valid = int64(len(data)), int64(len(data))
	return db, db.Highest, info, true
}

// modseqRecord is one journal record: the state after one pass and what
// that pass changed.
type modseqRecord struct {
	gen, highest, exact uint64
	stamp               [6]int64
	set                 []uidEntry
	vanished            []VanishedEntry
}

type uidEntry struct {
	uid uint32
	e   ModSeqEntry
}

// appendModSeqRecord renders r as "J <len> <crc32c> <payload>\n". The
// payload is "gen highest exact s1..s6" then "uid/modseq/sig" per changed
// message and "-uid/modseq" per expunge.
func appendModSeqRecord(b []byte, r *modseqRecord) []byte {
	p := make([]byte, 0, 120+32*len(r.set)+24*len(r.vanished))
	p = strconv.AppendUint(p, r.gen, 10)
	p = append(p, ' ')
	p = strconv.AppendUint(p, r.highest, 10)
	p = append(p, ' ')
	p = strconv.AppendUint(p, r.exact, 10)
	for _, s := range r.stamp {
		p = append(p, ' ')
		p = strconv.AppendUint(p, uint64(s), 10)
	}
	for _, x := range r.set {
		p = append(p, ' ')
		p = strconv.AppendUint(p, uint64(x.uid), 10)
		p = append(p, '/')
		p = strconv.AppendUint(p, x.e.ModSeq, 10)
		p = append(p, '/')
		p = strconv.AppendUint(p, x.e.Sig, 16)
	}
	for _, v := range r.vanished {
		p = append(p, " -"...)
		p = strconv.AppendUint(p, uint64(v.UID), 10)
		p = append(p, '/')
		p = strconv.AppendUint(p, v.ModSeq, 10)
	}
	b = append(b, "J "...)
	b = strconv.AppendUint(b, uint64(len(p)), 10)
	b = append(b, ' ')
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.Checksum(p, castagnoli()))
	b = fmt.Appendf(b, "%x ", crc)
	b = append(b, p...)
	return append(b, '\n')
}

// applyModSeqRecords applies the records of data to db in order and
// returns how many bytes held good records. It stops at the first record
// that is torn (no final newline, wrong length or checksum) or that does
// not fit db (another generation, values going backwards, bad fields):
// torn is then true and nothing of that record is applied.
func applyModSeqRecords(db *ModSeqDB, data []byte) (n int, torn bool) {
	for n < len(data) {
		r, size, ok := parseModSeqRecord(data[n:])
		if !ok || r.gen != db.Gen || db.Gen == 0 || r.highest < db.Highest || r.exact < db.ExactSince {
			return n, true
		}
		lastVan := uint64(0)
		if k := len(db.Vanished); k > 0 {
			lastVan = db.Vanished[k-1].ModSeq
		}
		for _, v := range r.vanished {
			if v.ModSeq < lastVan {
				return n, true
			}
			lastVan = v.ModSeq
		}
		db.applyRecord(r)
		n += size
	}
	return n, false
}

// applyRecord makes db the state r describes (r validated).
func (db *ModSeqDB) applyRecord(r *modseqRecord) {
	for _, x := range r.set {
		db.Msgs[x.uid] = x.e
	}
	for _, v := range r.vanished {
		delete(db.Msgs, v.UID)
		db.Vanished = append(db.Vanished, v)
	}
	db.Highest, db.ExactSince, db.Stamp = r.highest, r.exact, r.stamp
	db.trimVanished()
}

// trimVanished keeps the last maxVanished expunges and raises ExactSince
// past the ones dropped.
func (db *ModSeqDB) trimVanished() {
	if n := len(db.Vanished) - maxVanished; n > 0 {
		if t := db.Vanished[n-1].ModSeq; t > db.ExactSince {
			db.ExactSince = t
		}
		db.Vanished = append([]VanishedEntry(nil), db.Vanished[n:]...)
	}
}

// parseModSeqRecord parses the record at the start of data (hostile
// input: bounded length, every field checked).
func parseModSeqRecord(data []byte) (r *modseqRecord, size int, ok bool) {
	// "J <len> <crc> "
	i := bytes.IndexByte(data, '\n')
	if i < 0 || !bytes.HasPrefix(data, []byte("J ")) {
		return nil, 0, false
	}
	line := data[2:i]
	ls, line, ok1 := bytes.Cut(line, []byte{' '})
	cs, payload, ok2 := bytes.Cut(line, []byte{' '})
	if !ok1 || !ok2 || len(ls) > 8 || len(cs) != 8 {
		return nil, 0, false
	}
	plen, err1 := strconv.ParseUint(string(ls), 10, 32)
	crc, err2 := strconv.ParseUint(string(cs), 16, 32)
	if err1 != nil || err2 != nil || plen > maxModSeqRecord || plen != uint64(len(payload)) ||
		uint32(crc) != crc32.Checksum(payload, castagnoli()) {
		return nil, 0, false
	}
	f := strings.Fields(string(payload))
	if len(f) < 9 {
		return nil, 0, false
	}
	var nums [9]uint64
	for k := range nums {
		v, err := strconv.ParseUint(f[k], 10, 64)
		if err != nil {
			return nil, 0, false
		}
		nums[k] = v
	}
	r = &modseqRecord{gen: nums[0], highest: nums[1], exact: nums[2]}
	if r.highest == 0 || r.highest >= maxModSeq || r.exact > r.highest {
		return nil, 0, false
	}
	for k := range r.stamp {
		r.stamp[k] = int64(nums[3+k])
	}
	for _, tok := range f[9:] {
		if v, ok := strings.CutPrefix(tok, "-"); ok {
			us, ms, ok := strings.Cut(v, "/")
			uid, err1 := strconv.ParseUint(us, 10, 32)
			m, err2 := strconv.ParseUint(ms, 10, 64)
			if !ok || err1 != nil || err2 != nil || uid == 0 || m == 0 || m > r.highest {
				return nil, 0, false
			}
			if k := len(r.vanished); k > 0 && r.vanished[k-1].ModSeq > m {
				return nil, 0, false
			}
			r.vanished = append(r.vanished, VanishedEntry{UID: uint32(uid), ModSeq: m})
			continue
		}
		parts := strings.Split(tok, "/")
		if len(parts) != 3 {
			return nil, 0, false
		}
		uid, err1 := strconv.ParseUint(parts[0], 10, 32)
		m, err2 := strconv.ParseUint(parts[1], 10, 64)
		sig, err3 := strconv.ParseUint(parts[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || uid == 0 || m == 0 || m > r.highest {
			return nil, 0, false
		}
		r.set = append(r.set, uidEntry{uint32(uid), ModSeqEntry{ModSeq: m, Sig: sig}})
	}
	return r, i + 1, true
}

// FormatModSeq renders db (messages by UID, then the expunges).
func FormatModSeq(db ModSeqDB) []byte {
	uids := make([]uint32, 0, len(db.Msgs))
	for u := range db.Msgs {
		uids = append(uids, u)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return formatModSeq(db, uids)
}

// formatModSeq is FormatModSeq with the UIDs of db.Msgs given in order.
func formatModSeq(db ModSeqDB, uids []uint32) []byte {
	var b bytes.Buffer
	b.Grow(64 + 40*len(db.Msgs) + 30*len(db.Vanished))
	fmt.Fprintf(&b, "%s %d %d %d", modseqMagic, db.UIDValidity, db.Highest, db.ExactSince)
	for _, s := range db.Stamp {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(uint64(s), 10))
	}
	fmt.Fprintf(&b, " %d\n", db.Gen)
	var buf []byte
	for _, u := range uids {
		e := db.Msgs[u]
		buf = strconv.AppendUint(buf[:0], uint64(u), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendUint(buf, e.ModSeq, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendUint(buf, e.Sig, 16)
		buf = append(buf, '\n')
		b.Write(buf)
	}
	for _, v := range db.Vanished {
		fmt.Fprintf(&b, "- %d %d\n", v.UID, v.ModSeq)
	}
	return b.Bytes()
}

// stampArray is the part of a dirStamp the file records (zero if racy).
func stampArray(s dirStamp) [6]int64 {
	if !s.valid {
		return [6]int64{}
	}
	return [6]int64{s.cur, s.new, s.kw, s.dbIno, s.dbSize, s.dbM}
}

// flagSig hashes the IMAP-visible state of a message: its maildir flag
// letters and its keywords (case-insensitively, in any order).
func flagSig(fl Flags, kw []string) uint64 {
	h := fnv.New64a()
	h.Write(strconv.AppendUint(nil, uint64(fl&IMAPFlags), 16))
	if len(kw) > 0 {
		l := make([]string, len(kw))
		for i, k := range kw {
			l[i] = strings.ToLower(k)
		}
		sort.Strings(l)
		for _, k := range l {
			h.Write([]byte{0})
			h.Write([]byte(k))
		}
	}
	return h.Sum64()
}

// clockModSeq is the clock floor of new mod-sequences.
func (m *Maildir) clockModSeq() uint64 {
	t := m.now().UnixMicro()
	if t < 1 {
		t = 1
	}
	return uint64(t)
}

// nextModSeq is the next value above db.Highest (see the invariants).
func (m *Maildir) nextModSeq(highest uint64) uint64 {
	n := m.clockModSeq()
	if highest+1 > n {
		n = highest + 1
	}
	return n
}

// modseqState is a folder's mod-sequence state while enabled.
type modseqState struct {
	db     ModSeqDB
	loaded bool
	ident  [4]int64 // identity of the file when last read or written
	// snap is the size of the file's snapshot, journal that of the
	// records after it (as of ident); compact asks the next write for a
	// snapshot (new, torn or old-format file).
	snap, journal int64
	compact       bool
	// seen is each UID's signature at our last pass: a file entry that
	// differs from our view while our view is unchanged was written by
	// another session that saw a newer state; we leave it alone. It also
	// spares rehashing: the file name and keywords it was computed from.
	seen    map[uint32]seenSig
	pending bool // a deferred SetFlags awaits Flush
	// dirty lists the UIDs our own SetFlags/Expunge touched since the
	// last pass; a pass checks only them unless full is set (after a
	// scan, or when another session rewrote the file).
	dirty []uint32
	full  bool
}

// seenSig is a signature and the state it hashes.
type seenSig struct {
	sig  uint64
	name string
	kw   []string
}

// sigOf returns x's signature, reusing the last pass's when x's file name
// and keywords are the same (the common case: most messages never change).
func (st *modseqState) sigOf(x *msg) uint64 {
	if s, ok := st.seen[x.uid]; ok && s.name == x.name && sameStrings(s.kw, x.kw) {
		return s.sig
	}
	return flagSig(x.flags, x.kw)
}

// flockDir takes an exclusive flock on dir (released by the returned func).
func flockDir(dir string) (func(), error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// EnableModSeq turns on mod-sequence tracking for this folder (a
// CONDSTORE enabling command, RFC 7162 §3.1) and reconciles at once.
// Folders without it never read or write the file.
func (f *Folder) EnableModSeq() error {
	if f.closed {
		return ErrClosed
	}
	if f.ms != nil {
		return nil
	}
	f.ms = &modseqState{}
	return f.reconcileModSeqFull()
}

// ModSeqEnabled reports whether EnableModSeq was called.
func (f *Folder) ModSeqEnabled() bool { return f.ms != nil }

// HighestModSeq is the folder's HIGHESTMODSEQ (0 when not enabled).
func (f *Folder) HighestModSeq() uint64 {
	if f.ms == nil {
		return 0
	}
	return f.ms.db.Highest
}

// ModSeq returns a message's mod-sequence (0 when unknown or not enabled).
func (f *Folder) ModSeq(uid uint32) uint64 {
	if f.ms == nil {
		return 0
	}
	return f.ms.db.Msgs[uid].ModSeq
}

// VanishedSince returns the UIDs expunged with a mod-sequence above since,
// ascending. exact is false when the history no longer reaches back that
// far: the caller must then give the full answer (every UID it was asked
// about that no longer exists, RFC 7162 §3.2.5.2).
func (f *Folder) VanishedSince(since uint64) (uids []uint32, exact bool) {
	if f.ms == nil {
		return nil, false
	}
	db := &f.ms.db
	if since < db.ExactSince {
		return nil, false
	}
	i := sort.Search(len(db.Vanished), func(i int) bool { return db.Vanished[i].ModSeq > since })
	for _, v := range db.Vanished[i:] {
		if f.lookup(v.UID) == nil {
			uids = append(uids, v.UID)
		}
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return uids, true
}

// modseqChanged is called after our own flag changes and expunges.
func (f *Folder) modseqChanged(uids ...uint32) error {
	if f.ms == nil {
		return nil
	}
	f.ms.dirty = append(f.ms.dirty, uids...)
	if f.deferSync {
		f.ms.pending = true
		return nil
	}
	return f.reconcileModSeq()
}

// reconcileModSeq is one pass (see the package notes above): it reads the
// file if another session replaced it, gives one new mod-sequence to every
// message that changed, appeared or vanished, and writes the file back.
// reconcileModSeqFull is a pass over every message (after a scan).
func (f *Folder) reconcileModSeqFull() error {
	f.ms.full = true
	return f.reconcileModSeq()
}

func (f *Folder) reconcileModSeq() error {
	st := f.ms
	st.pending = false
	defer func() { st.dirty, st.full = st.dirty[:0], false }()
	unlock, err := flockDir(f.dir)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(f.dir, ModSeqFile)
	dirty := false
	ident, ok := fileIdent(path)
	if st.loaded && ok && ident != st.ident && ident[0] == st.ident[0] && ident[1] > st.ident[1] && !st.compact {
		// Only records were appended (by another session): read them.
		if st.readTail(path, ident) {
			st.ident = ident
		}
	}
	if !st.loaded || !ok || ident != st.ident {
		data, rerr := readFileLimit(path, maxMetaFile)
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("maildir: read %s: %w", path, rerr)
		}
		db, hi, info, ok := parseModSeqFile(data)
		st.ident = ident
		st.snap, st.journal = info.snap, info.valid-info.snap
		st.compact = !ok || info.torn || db.Gen == 0 || info.valid != int64(len(data))
		if hi < st.db.Highest {
			hi = st.db.Highest
		}
		if !ok || db.UIDValidity != f.uidv {
			// Lost, corrupt or of another UIDVALIDITY: start over
			// above anything given; older expunges are unknown.
			if hi > f.m.clockModSeq()+uint64(24*time.Hour/time.Microsecond) && !ok {
				hi = 0 // an implausible value from a broken header
			}
			base := f.m.nextModSeq(hi)
			db = ModSeqDB{UIDValidity: f.uidv, Highest: base, ExactSince: base, Msgs: map[uint32]ModSeqEntry{}}
			st.seen = nil
			dirty = true
		} else if info.valid != int64(len(data)) {
			// A torn or damaged tail. A crash tears only a record
			// not yet acknowledged, but a file cut short by anything
			// else may have lost acknowledged ones: HIGHESTMODSEQ
			// goes above the clock (never backwards) and the expunge
			// history is no longer exact. Messages keep their values;
			// one whose flags differ from the file gets a new one.
			db.Highest = f.m.nextModSeq(hi)
			db.ExactSince = db.Highest
			dirty = true
		}
		st.db, st.loaded = db, true
		st.full = true
	}
	if st.seen == nil {
		st.seen = make(map[uint32]seenSig, len(f.msgs))
	}
	db := &st.db
	var changed, gone []uint32
	check := func(x *msg) {
		sig := st.sigOf(x)
		e, ok := db.Msgs[x.uid]
		s, seen := st.seen[x.uid]
		if !seen || s.sig != sig || s.name != x.name {
			st.seen[x.uid] = seenSig{sig: sig, name: x.name, kw: x.kw}
		}
		if ok && e.Sig == sig {
			return
		}
		if ok && seen && s.sig == sig {
			return // the file is newer than our view
		}
		changed = append(changed, x.uid)
	}
	if st.full {
		for _, x := range f.msgs {
			check(x)
		}
		if len(db.Msgs) != len(f.msgs)-len(changed) || len(changed) > 0 {
			for uid := range db.Msgs {
				// A UID at or above our UIDNEXT is a message another
				// session numbered after our last scan: not ours.
				if uid < f.next && f.lookup(uid) == nil {
					gone = append(gone, uid)
				}
			}
		}
	} else {
		// Only what this session changed since the last pass.
		sort.Slice(st.dirty, func(i, j int) bool { return st.dirty[i] < st.dirty[j] })
		for k, uid := range st.dirty {
			if k > 0 && st.dirty[k-1] == uid {
				continue
			}
			if x := f.lookup(uid); x != nil {
				check(x)
			} else if _, ok := db.Msgs[uid]; ok && uid < f.next {
				gone = append(gone, uid)
			}
		}
	}
	stamp := stampArray(f.stamp)
	if len(changed) == 0 && len(gone) == 0 && !dirty {
		if db.Stamp != stamp && !f.ro {
			// Nothing to give, but the file now describes this scan.
			// Not fsynced: losing only the stamp makes STATUS hand out
			// one needless new value, never a wrong one.
			db.Stamp = stamp
			return f.saveModSeq(path, &modseqRecord{gen: db.Gen, highest: db.Highest, exact: db.ExactSince, stamp: stamp}, false)
		}
		return nil
	}
	ms := f.m.nextModSeq(db.Highest)
	rec := &modseqRecord{gen: db.Gen, highest: ms, stamp: stamp}
	for _, uid := range changed {
		e := ModSeqEntry{ModSeq: ms, Sig: st.seen[uid].sig}
		db.Msgs[uid] = e
		rec.set = append(rec.set, uidEntry{uid, e})
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	for _, uid := range gone {
		delete(db.Msgs, uid)
		delete(st.seen, uid)
		v := VanishedEntry{UID: uid, ModSeq: ms}
		db.Vanished = append(db.Vanished, v)
		rec.vanished = append(rec.vanished, v)
	}
	db.trimVanished()
	db.Highest = ms
	db.Stamp = stamp
	rec.exact = db.ExactSince
	if f.ro {
		return nil
	}
	return f.saveModSeq(path, rec, true)
}

// readTail applies the records appended to the file since st.ident (the
// file is now ident). False when they do not read cleanly: the caller then
// rereads the whole file.
func (st *modseqState) readTail(path string, ident [4]int64) bool {
	off, n := st.ident[1], ident[1]-st.ident[1]
	if n > maxMetaFile {
		return false
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	buf := make([]byte, n)
	if k, err := unix.Pread(fd, buf, off); err != nil || int64(k) != n {
		return false
	}
	// Each record is validated before it is applied; after a bad one the
	// good ones before it are what the file says.
	k, torn := applyModSeqRecords(&st.db, buf)
	st.journal += int64(k)
	if torn {
		// The good records are applied (they are what the file says);
		// the reread of the whole file gives the same state and marks
		// the file for compaction.
		return false
	}
	return true
}

// saveModSeq records a pass: one appended record (one write, one
// fdatasync when durable) while the journal is within its bound, else a
// new snapshot.
func (f *Folder) saveModSeq(path string, rec *modseqRecord, durable bool) error {
	st := f.ms
	if !st.compact && st.db.Gen != 0 {
		b := appendModSeqRecord(nil, rec)
		if len(b) <= maxModSeqRecord && st.journal+int64(len(b)) <= journalLimit(st.snap) {
			ident, err := appendModSeqFile(path, st.ident, b, durable)
			if err == nil {
				st.ident = ident
				st.journal += int64(len(b))
				return nil
			}
			// Could not append (or the file is not the one we know):
			// a snapshot replaces whatever is there.
		}
	}
	return f.writeModSeq(path, durable)
}

// appendModSeqFile appends b to the file, which must still be the one of
// identity want (we hold the flock, so only a foreign tool could have
// changed it), and returns its new identity.
func appendModSeqFile(path string, want [4]int64, b []byte, durable bool) ([4]int64, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return [4]int64{}, fmt.Errorf("maildir: append %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return [4]int64{}, fmt.Errorf("maildir: append %s: %w", path, err)
	}
	if [4]int64{int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()} != want {
		return [4]int64{}, fmt.Errorf("maildir: append %s: file changed", path)
	}
	if n, err := unix.Write(fd, b); err != nil || n != len(b) {
		if err == nil {
			err = errors.New("short write")
		}
		// A partial record is torn: readers ignore it and the next
		// writer compacts.
		return [4]int64{}, fmt.Errorf("maildir: append %s: %w", path, err)
	}
	if durable {
		if err := unix.Fdatasync(fd); err != nil {
			return [4]int64{}, fmt.Errorf("maildir: append %s: %w", path, err)
		}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		return [4]int64{}, fmt.Errorf("maildir: append %s: %w", path, err)
	}
	return [4]int64{int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}, nil
}

// newModSeqGen is a snapshot generation: nonzero and different from old.
func (m *Maildir) newModSeqGen(old uint64) uint64 {
	var b [8]byte
	if _, err := unix.Getrandom(b[:], 0); err == nil {
		if g := binary.LittleEndian.Uint64(b[:]) >> 1; g != 0 && g != old {
			return g
		}
	}
	g := uint64(time.Now().UnixNano())>>1 | 1
	if g == old {
		g++
	}
	return g
}

// writeModSeq replaces the file and records its identity. New values are
// written durably (a lost file costs clients a full resync); a crash
// during a non-durable write leaves the old file, the new one, or an
// empty one, which parses as corrupt and restarts above the clock.
func (f *Folder) writeModSeq(path string, durable bool) error {
	// The UIDs in order without sorting: ours (sorted), then the few
	// another session numbered after our last scan.
	uids := make([]uint32, 0, len(f.ms.db.Msgs))
	for _, x := range f.msgs {
		if _, ok := f.ms.db.Msgs[x.uid]; ok {
			uids = append(uids, x.uid)
		}
	}
	if len(uids) != len(f.ms.db.Msgs) {
		var extra []uint32
		for u := range f.ms.db.Msgs {
			if f.lookup(u) == nil {
				extra = append(extra, u)
			}
		}
		sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
		uids = append(uids, extra...)
		sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	}
	f.ms.db.Gen = f.m.newModSeqGen(f.ms.db.Gen)
	data := formatModSeq(f.ms.db, uids)
	if err := f.m.writeFileRename(f.dir, ModSeqFile, data, 0o644, durable); err != nil {
		f.ms.compact = true
		return err
	}
	f.ms.ident, _ = fileIdent(path)
	f.ms.snap, f.ms.journal, f.ms.compact = int64(len(data)), 0, false
	return nil
}

// StatusHighestModSeq answers STATUS HIGHESTMODSEQ (RFC 7162 §3.1.2.2)
// without scanning the folder: when the file describes the folder as it is
// now (same directory stamp), its HIGHESTMODSEQ is exact; otherwise
// something changed that no pass has seen yet, so we give a new value now
// (persisted, with the current stamp): whatever a later pass gives those
// changes is higher still, so the value never goes backwards and a client
// comparing it always notices a change.
func (m *Maildir) StatusHighestModSeq(name string) (uint64, error) {
	c, err := ValidateName(name)
	if err != nil {
		return 0, err
	}
	if !m.FolderExists(c) {
		return 0, fmt.Errorf("status %s: %w", c, ErrNoSuchFolder)
	}
	dir := m.dirOf(c)
	unlock, err := flockDir(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	stamp, _ := statStamp(dir)
	path := filepath.Join(dir, ModSeqFile)
	data, err := readFileLimit(path, maxMetaFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("maildir: read %s: %w", path, err)
	}
	db, hi, info, ok := parseModSeqFile(data)
	if ok && stamp.valid && db.Stamp == stampArray(stamp) {
		return db.Highest, nil
	}
	if ok && db.Gen != 0 && !info.torn && info.valid == int64(len(data)) {
		// One record with the new value (the usual case).
		next := m.nextModSeq(db.Highest)
		b := appendModSeqRecord(nil, &modseqRecord{gen: db.Gen, highest: next, exact: db.ExactSince, stamp: stampArray(stamp)})
		if info.valid-info.snap+int64(len(b)) <= journalLimit(info.snap) {
			if ident, iok := fileIdent(path); iok && ident[1] == int64(len(data)) {
				if _, err := appendModSeqFile(path, ident, b, true); err == nil {
					return next, nil
				}
			}
		}
	}
	if !ok {
		if hi > m.clockModSeq()+uint64(24*time.Hour/time.Microsecond) {
			hi = 0
		}
		// An empty file of UIDVALIDITY 0 matches no folder: the next
		// pass starts over above this value.
		db = ModSeqDB{UIDValidity: 0, Msgs: map[uint32]ModSeqEntry{}}
	}
	if hi < db.Highest {
		hi = db.Highest
	}
	db.Highest = m.nextModSeq(hi)
	if db.ExactSince > db.Highest {
		db.ExactSince = db.Highest
	}
	db.Stamp = stampArray(stamp)
	if !ok || info.valid != int64(len(data)) {
		db.ExactSince = db.Highest // a damaged tail: see reconcileModSeq
	}
	if !ok {
		db.UIDValidity = 1 // placeholder; a pass with the real one resets
	}
	db.Gen = m.newModSeqGen(db.Gen)
	if err := m.writeFileRename(dir, ModSeqFile, FormatModSeq(db), 0o644, true); err != nil {
		return 0, err
	}
	return db.Highest, nil
}
