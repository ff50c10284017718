package imapserver

// CONDSTORE and QRESYNC (RFC 7162). Courier 5.0.13 has neither; we add
// both (advertised after login unless IMAP_CONDSTORE=0), over a store
// that keeps mod-sequences (ModSeqMailbox). Nothing changes on the wire
// for a client that never uses them: mod-sequences appear only after a
// CONDSTORE enabling command (RFC 7162 §3.1), VANISHED only after ENABLE
// QRESYNC (§3.2.3).

import (
	"sort"
	"strconv"
	"strings"

	"gocourier/internal/imapwire"
)

// ModSeqMailbox is implemented by mailboxes that keep mod-sequences.
type ModSeqMailbox interface {
	// EnableModSeq starts tracking (persisting) mod-sequences.
	EnableModSeq() error
	HighestModSeq() uint64
	// ModSeq of a message; 0 when unknown (e.g. already expunged).
	ModSeq(uid uint32) uint64
	// VanishedSince lists the UIDs expunged with a mod-sequence above
	// modseq; exact is false when the history does not reach back that
	// far (the caller then gives the full answer, RFC 7162 §3.2.5.2).
	VanishedSince(modseq uint64) (uids []uint32, exact bool)
}

// ModSeqStore is implemented by stores that answer STATUS HIGHESTMODSEQ.
type ModSeqStore interface {
	HighestModSeq(name string) (uint64, error)
}

// condstoreOffered: CONDSTORE and QRESYNC are ours, on by default;
// IMAP_CONDSTORE=0 hides them (and their syntax) for a strict Courier look.
func condstoreOffered(getenv func(string) string) bool { return getenv("IMAP_CONDSTORE") != "0" }

// modseqBox returns the selected mailbox's mod-sequences once CONDSTORE is
// enabled, or nil (not enabled, no mailbox, or NOMODSEQ).
func (s *Session) modseqBox() ModSeqMailbox {
	if !s.condstore || s.mbox == nil || s.nomodseq {
		return nil
	}
	m, _ := s.mbox.(ModSeqMailbox)
	return m
}

// startModSeq turns mod-sequences on for the selected mailbox; false
// means NOMODSEQ (RFC 7162 §3.1.2.2).
func (s *Session) startModSeq() bool {
	m, ok := s.mbox.(ModSeqMailbox)
	s.nomodseq = !ok || m.EnableModSeq() != nil
	return !s.nomodseq
}

// highestModSeqLine is the OK [HIGHESTMODSEQ] or [NOMODSEQ] response
// (RFC 7162 §3.1.2.1, §3.1.2.2).
func (s *Session) highestModSeqLine() {
	if m := s.modseqBox(); m != nil {
		s.c.W.Untagged("OK [HIGHESTMODSEQ " + strconv.FormatUint(m.HighestModSeq(), 10) + "] Highest")
		return
	}
	s.c.W.Untagged("OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences")
}

// enableCondstore runs a CONDSTORE enabling command (RFC 7162 §3.1: ENABLE
// CONDSTORE, SELECT (CONDSTORE), FETCH MODSEQ or CHANGEDSINCE, STORE
// UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ). The first one with
// a mailbox selected reports its HIGHESTMODSEQ (§3.1.2.1: the client has no
// other way to learn it before its next SELECT).
func (s *Session) enableCondstore() {
	if s.condstore {
		return
	}
	s.condstore = true
	if s.mbox != nil {
		s.startModSeq()
		// The view was current at the last sync; a pass now gives
		// every message its value before any is reported.
		s.highestModSeqLine()
		s.rememberModSeqs()
	}
}

// modseqOf is the MODSEQ of view[i]; a message already gone from the
// store (its EXPUNGE not yet sent) reports HIGHESTMODSEQ.
func (s *Session) modseqOf(i int) uint64 {
	m := s.modseqBox()
	if m == nil {
		return 0
	}
	if v := m.ModSeq(s.view[i].uid); v != 0 {
		return v
	}
	return m.HighestModSeq()
}

// modseqItem is " MODSEQ (n)" for FETCH lines that carry FLAGS once
// CONDSTORE is on (RFC 7162 §3.1.4: every FETCH with changed flags
// includes MODSEQ), else "".
func (s *Session) modseqItem(i int) string {
	if s.modseqBox() == nil {
		return ""
	}
	return " MODSEQ (" + strconv.FormatUint(s.sentModSeq(i), 10) + ")"
}

// sentModSeq is modseqOf(i), remembered as known to the client.
func (s *Session) sentModSeq(i int) uint64 {
	v := s.modseqOf(i)
	if s.msSent != nil {
		s.msSent[s.view[i].uid] = v
	}
	return v
}

// rememberModSeqs records every message's MODSEQ as the client's
// starting point (SELECT, or CONDSTORE enabled on a selected mailbox).
func (s *Session) rememberModSeqs() {
	if s.modseqBox() == nil {
		return
	}
	s.msSent = make(map[uint32]uint64, len(s.view))
	for i := range s.view {
		s.msSent[s.view[i].uid] = s.modseqOf(i)
	}
}

// modseqMoved reports whether view[i]'s MODSEQ changed since the client
// last learnt it although its flags look the same to this session (they
// were changed and changed back between two rescans): the client must
// still get the new MODSEQ (RFC 7162 §3.1.4), or its cache and other
// sessions' disagree. A message not yet known is recorded silently
// (new messages are announced by EXISTS).
func (s *Session) modseqMoved(i int) bool {
	if s.msSent == nil || s.modseqBox() == nil {
		return false
	}
	uid := s.view[i].uid
	v := s.modseqOf(i)
	old, ok := s.msSent[uid]
	if !ok {
		s.msSent[uid] = v
		return false
	}
	return old != v
}

// unsolicitedUID is "UID n " for unsolicited FETCH lines once QRESYNC is
// on: RFC 7162 §3.2.4 has the server include UID in them.
func (s *Session) unsolicitedUID(i int) string {
	if !s.qresync {
		return ""
	}
	return "UID " + strconv.FormatUint(uint64(s.view[i].uid), 10) + " "
}

// vanishedLine reports expunged UIDs (ascending) as VANISHED instead of
// EXPUNGE once QRESYNC is on (RFC 7162 §3.2.10).
func vanishedLine(earlier bool, uids []uint32) string {
	if len(uids) == 0 {
		return ""
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	if earlier {
		return "* VANISHED (EARLIER) " + imapwire.CompressUIDs(uids) + "\r\n"
	}
	return "* VANISHED " + imapwire.CompressUIDs(uids) + "\r\n"
}

// vanishedEarlier answers "which of the UIDs in known (resolved, nil for
// all) were expunged since modseq" (RFC 7162 §3.2.5.2, §3.2.6): exactly
// from the store's history, or, when that is too short, every UID in
// known (up to UIDNEXT-1) that the mailbox does not hold; the RFC allows
// this superset.
func (s *Session) vanishedEarlier(m ModSeqMailbox, modseq uint64, known imapwire.SeqSet) string {
	if v, exact := m.VanishedSince(modseq); exact {
		var out []uint32
		for _, u := range v {
			if known == nil || known.Contains(u) {
				out = append(out, u)
			}
		}
		return vanishedLine(true, out)
	}
	max := s.mbox.UIDNext() - 1
	if known == nil {
		known = imapwire.SeqSet{{Lo: 1, Hi: max}}
	}
	present := make([]uint32, len(s.view))
	for i := range s.view {
		present[i] = s.view[i].uid
	}
	return missingLine(known, present, max)
}

// missingLine renders the UIDs of known (ranges, in any order) up to max
// that are not in present (ascending) as a VANISHED (EARLIER) line,
// range by range: "1:4294967295" costs no more than "1:10".
func missingLine(known imapwire.SeqSet, present []uint32, max uint32) string {
	rs := append(imapwire.SeqSet(nil), known...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Lo < rs[j].Lo })
	var parts []string
	var lastHi uint32
	emit := func(lo, hi uint32) {
		if lo > hi {
			return
		}
		if len(parts) > 0 && lastHi >= lo-1 && lo > 0 {
			// merge with the previous range (overlapping known ranges)
			if hi <= lastHi {
				return
			}
			lo = lastHi + 1
		}
		if lo == hi {
			parts = append(parts, strconv.FormatUint(uint64(lo), 10))
		} else {
			parts = append(parts, strconv.FormatUint(uint64(lo), 10)+":"+strconv.FormatUint(uint64(hi), 10))
		}
		lastHi = hi
	}
	for _, r := range rs {
		lo, hi := r.Lo, r.Hi
		if lo > hi {
			lo, hi = hi, lo
		}
		if lo == 0 {
			lo = 1
		}
		if hi > max {
			hi = max
		}
		if lo > hi {
			continue
		}
		j := sort.Search(len(present), func(k int) bool { return present[k] >= lo })
		next := lo
		for ; j < len(present) && present[j] <= hi; j++ {
			if present[j] > next {
				emit(next, present[j]-1)
			}
			next = present[j] + 1
		}
		if next <= hi && next != 0 {
			emit(next, hi)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "* VANISHED (EARLIER) " + strings.Join(parts, ",") + "\r\n"
}

// selectParams are the SELECT/EXAMINE parameters of RFC 7162 §3.1.8 and
// §3.2.5.
type selectParams struct {
	condstore bool
	qresync   bool
	uidv      uint32
	modseq    uint64
	known     imapwire.SeqSet // nil: all
}

// parseSelectParams reads " (CONDSTORE)" or " (QRESYNC (uidvalidity
// modseq [known-uids [(seq-match-data)]]))" after the mailbox name. The
// seq-match data only helps servers without an expunge history; ours
// falls back to the full answer instead, so it is parsed and ignored.
func (s *Session) parseSelectParams() (selectParams, bool) {
	var p selectParams
	d := s.c.Dec
	if b, ok := d.Peek(); !ok || b != ' ' || !condstoreOffered(s.cfg.Getenv) {
		return p, true
	}
	d.SP()
	ok := d.List(func() bool {
		a, ok := d.Atom()
		switch strings.ToUpper(a) {
		case "CONDSTORE":
			p.condstore = true
			return ok
		case "QRESYNC":
			// §3.2.5: QRESYNC parameter without ENABLE QRESYNC is BAD.
			if !s.qresync || !d.SP() || !d.ExpectSpecial('(') {
				return d.Fail("QRESYNC not enabled")
			}
			uv, ok := d.Number()
			if !ok || uv == 0 || !d.SP() {
				return d.Fail("bad uidvalidity")
			}
			ms, ok := d.Number64()
			if !ok || ms == 0 {
				return d.Fail("bad modseq")
			}
			p.qresync, p.uidv, p.modseq = true, uv, ms
			if d.Special(' ') {
				set, ok := d.SeqSet()
				if !ok {
					return false
				}
				p.known = set
				if d.Special(' ') {
					if !d.List(func() bool { _, ok := d.SeqSet(); return ok }) {
						return false
					}
				}
			}
			return d.ExpectSpecial(')')
		}
		return d.Fail("unknown select parameter")
	})
	return p, ok
}

// selectModSeq sends, just before SELECT's tagged OK, the HIGHESTMODSEQ
// (RFC 7162 §3.1.2.1) and, for QRESYNC with a matching UIDVALIDITY, the
// VANISHED (EARLIER) and FETCH lines of §3.2.5.
func (s *Session) selectModSeq(p selectParams) {
	if p.condstore || p.qresync {
		s.condstore = true
	}
	if !s.condstore {
		return
	}
	s.startModSeq()
	s.highestModSeqLine()
	s.rememberModSeqs()
	m := s.modseqBox()
	if !p.qresync || m == nil || p.uidv != s.mbox.UIDValidity() {
		return
	}
	var known imapwire.SeqSet
	if p.known != nil {
		known = p.known.Resolve(s.mbox.UIDNext() - 1)
	}
	s.c.W.Raw(s.vanishedEarlier(m, p.modseq, known))
	for i := range s.view {
		if s.modseqOf(i) > p.modseq {
			v := &s.view[i]
			s.c.W.Raw("* " + strconv.Itoa(i+1) + " FETCH (UID " + strconv.FormatUint(uint64(v.uid), 10) +
				" FLAGS " + formatFlags(v.flags, v.recent) + s.modseqItem(i) + ")\r\n")
		}
	}
}

// fetchModifiers are FETCH's RFC 7162 modifiers.
type fetchModifiers struct {
	changedSince uint64 // 0: none
	vanished     bool
}

// parseFetchModifiers reads " (CHANGEDSINCE n [VANISHED])" (RFC 7162
// §3.1.4.1, §3.2.6); VANISHED needs UID FETCH and ENABLE QRESYNC.
func (s *Session) parseFetchModifiers(uid bool) (fetchModifiers, bool) {
	var fm fetchModifiers
	d := s.c.Dec
	if b, ok := d.Peek(); !ok || b != ' ' || !condstoreOffered(s.cfg.Getenv) {
		return fm, true
	}
	d.SP()
	ok := d.List(func() bool {
		a, ok := d.Atom()
		switch strings.ToUpper(a) {
		case "CHANGEDSINCE":
			if !ok || !d.SP() {
				return false
			}
			n, ok := d.Number64()
			if !ok || n == 0 {
				return d.Fail("bad CHANGEDSINCE")
			}
			fm.changedSince = n
			return true
		case "VANISHED":
			if !uid || !s.qresync {
				return d.Fail("VANISHED needs UID FETCH and QRESYNC")
			}
			fm.vanished = true
			return ok
		}
		return d.Fail("unknown fetch modifier")
	})
	if ok && fm.vanished && fm.changedSince == 0 {
		return fm, d.Fail("VANISHED without CHANGEDSINCE")
	}
	return fm, ok
}

// parseUnchangedSince reads STORE's " (UNCHANGEDSINCE n)" (RFC 7162
// §3.1.3); -1 when absent.
func (s *Session) parseUnchangedSince() (int64, bool) {
	d := s.c.Dec
	if b, ok := d.Peek(); !ok || b != '(' || !condstoreOffered(s.cfg.Getenv) {
		return -1, true
	}
	n := int64(-1)
	ok := d.List(func() bool {
		a, ok := d.Atom()
		if !ok || !strings.EqualFold(a, "UNCHANGEDSINCE") || !d.SP() {
			return d.Fail("unknown store modifier")
		}
		v, ok := d.Number64()
		n = int64(v)
		return ok
	})
	return n, ok && n >= 0 && d.SP()
}

// parseModSeqKey reads the rest of SEARCH MODSEQ [entry-name entry-type]
// n (RFC 7162 §3.1.5). Entry names only matter for servers with
// per-flag mod-sequences; ours has one per message, so they are checked
// for syntax and ignored.
func (p *searchParser) parseModSeqKey() (*searchKey, bool) {
	d := p.s.c.Dec
	if !condstoreOffered(p.s.cfg.Getenv) || !d.SP() {
		return nil, d.Fail("MODSEQ not offered")
	}
	if b, ok := d.Peek(); ok && b == '"' {
		if _, ok := d.Quoted(); !ok || !d.SP() {
			return nil, false
		}
		t, ok := d.Atom()
		switch strings.ToLower(t) {
		case "priv", "shared", "all":
		default:
			return nil, d.Fail("bad entry-type")
		}
		if !ok || !d.SP() {
			return nil, false
		}
	}
	n, ok := d.Number64()
	p.modseq = true
	return &searchKey{op: "MODSEQ", num: int64(n)}, ok
}

// searchModSeq is the mod-sequence SEARCH reports after a MODSEQ key
// (RFC 7162 §3.1.5, RFC 4731 §3.2 as updated by §3.1.6): the highest
// of the messages returned, where for ESEARCH with MIN/MAX only those
// count.
func (s *Session) searchModSeq(idx []int, ret []string) string {
	if len(idx) == 0 || s.modseqBox() == nil {
		return ""
	}
	consider := idx
	if ret != nil {
		all := false
		var mm []int
		for _, o := range ret {
			switch o {
			case "ALL", "COUNT":
				all = true
			case "MIN":
				mm = append(mm, idx[0])
			case "MAX":
				mm = append(mm, idx[len(idx)-1])
			}
		}
		if !all {
			consider = mm
		}
	}
	var hi uint64
	for _, i := range consider {
		if v := s.modseqOf(i); v > hi {
			hi = v
		}
	}
	return strconv.FormatUint(hi, 10)
}

// fetchModSeqItems makes FETCH MODSEQ and CHANGEDSINCE CONDSTORE enabling
// commands (RFC 7162 §3.1) and adds MODSEQ where it is implied: with
// CHANGEDSINCE (§3.1.4.1) and, once CONDSTORE is on, next to FLAGS.
func (s *Session) fetchModSeqItems(items []fetchItem, fm fetchModifiers) []fetchItem {
	has, flags := false, false
	for _, it := range items {
		has = has || it.name == "MODSEQ"
		flags = flags || it.name == "FLAGS"
	}
	if has || fm.changedSince != 0 {
		s.enableCondstore()
	}
	if !has && (fm.changedSince != 0 || flags && s.modseqBox() != nil) {
		items = append(items, fetchItem{name: "MODSEQ"})
	}
	return items
}

// fetchVanished sends UID FETCH's VANISHED (EARLIER) for the UIDs of set
// expunged since modseq (RFC 7162 §3.2.6), before the FETCH lines.
func (s *Session) fetchVanished(set imapwire.SeqSet, modseq uint64) {
	m := s.modseqBox()
	if m == nil {
		return
	}
	s.c.W.Raw(s.vanishedEarlier(m, modseq, set.Resolve(s.mbox.UIDNext()-1)))
}

// storeModSeqLines writes STORE's FETCH lines once CONDSTORE is on, after
// the flags are durable and have their MODSEQ (RFC 7162 §3.1.3): every
// message asked for, except those that failed UNCHANGEDSINCE, gets FLAGS
// and MODSEQ; with .SILENT only the changed ones, with MODSEQ alone.
// report lists the messages that passed (not expunged meanwhile).
func (s *Session) storeModSeqLines(out *strings.Builder, report, changed []int, silent, uid bool) {
	if silent {
		report = changed
	}
	for _, i := range report {
		v := &s.view[i]
		out.WriteString("* " + strconv.Itoa(i+1) + " FETCH (")
		if uid || s.qresync { // RFC 7162 §3.2.4
			out.WriteString("UID " + strconv.FormatUint(uint64(v.uid), 10) + " ")
		}
		if !silent {
			out.WriteString("FLAGS " + formatFlags(v.flags, v.recent) + " ")
		}
		out.WriteString("MODSEQ (" + strconv.FormatUint(s.sentModSeq(i), 10) + "))\r\n")
	}
}

// indexSet renders view indexes as sequence numbers or UIDs (ascending).
func (s *Session) indexSet(idx []int, uid bool) string {
	nums := make([]uint32, len(idx))
	for k, i := range idx {
		if uid {
			nums[k] = s.view[i].uid
		} else {
			nums[k] = uint32(i + 1)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return imapwire.CompressUIDs(nums)
}
