package imapserver

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocourier/internal/imapwire"
)

// systemFlagOrder is Courier's FETCH FLAGS order (maildir letters D F R
// S T, reference §4.5), followed by \Recent and keywords.
var systemFlagOrder = []string{`\Draft`, `\Flagged`, `\Answered`, `\Seen`, `\Deleted`}

func isSystemFlag(f string) (string, bool) {
	for _, sf := range systemFlagOrder {
		if strings.EqualFold(f, sf) {
			return sf, true
		}
	}
	return "", false
}

// formatFlags renders a FLAGS list in Courier's order.
func formatFlags(flags []string, recent bool) string {
	var out []string
	for _, sf := range systemFlagOrder {
		for _, f := range flags {
			if strings.EqualFold(f, sf) {
				out = append(out, sf)
				break
			}
		}
	}
	if recent {
		out = append(out, `\Recent`)
	}
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) {
			out = append(out, f)
		}
	}
	return "(" + strings.Join(out, " ") + ")"
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// sameFlags compares two flag lists as sets. The storage hands out one
// shared slice per distinct flag combination, so the common case is the
// same backing array (checked first, without string compares).
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for _, f := range a {
		if !hasFlag(b, f) {
			return false
		}
	}
	return true
}

// keywordsInUse lists the keywords of the view, most recent message first
// (Courier lists them most recently used first, §4.3).
func (s *Session) keywordsInUse() []string {
	var out []string
	var seen map[string]bool
	// Shared flag slices (see sameFlags): a run of messages with the same
	// slice as the previous one adds nothing new, so a big folder costs
	// one pointer compare per message.
	var last *string
	for i := len(s.view) - 1; i >= 0; i-- {
		fl := s.view[i].flags
		if len(fl) == 0 {
			continue
		}
		if &fl[0] == last {
			continue
		}
		last = &fl[0]
		for _, f := range fl {
			if strings.HasPrefix(f, `\`) {
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			k := strings.ToLower(f)
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	return out
}

func (s *Session) writeFlagsLines(kw []string) {
	pre := ""
	if len(kw) > 0 {
		pre = strings.Join(kw, " ") + " "
	}
	s.c.W.Untagged(`FLAGS (` + pre + `\Draft \Answered \Flagged \Deleted \Seen \Recent)`)
	if s.readOnly {
		s.c.W.Untagged(`OK [PERMANENTFLAGS ()] No permanent flags permitted`)
	} else {
		s.c.W.Untagged(`OK [PERMANENTFLAGS (` + pre + `\* \Draft \Answered \Flagged \Deleted \Seen)] Limited`)
	}
}

func sameKeywordSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !hasFlag(b, x) {
			return false
		}
	}
	return true
}

func (s *Session) recentCount() int {
	n := 0
	for _, m := range s.view {
		if m.recent {
			n++
		}
	}
	return n
}

// passiveSyncGap: FETCH, SEARCH, SORT, THREAD and STORE +FLAGS/-FLAGS of
// system flags look for other sessions' changes only when the last look
// is at least this old (the flag changes are applied to the flags in
// storage, not the view's: FlagChanger).
//
// A server may report changes at any time (RFC 3501 §5.2, §7) and need
// not look for them at every command; Courier looks only at NOOP, CHECK,
// IDLE, SELECT and STATUS. We look at every command, which clients like,
// but a client sending commands back to back (a FETCH of each message in
// turn, imaptest's stress run) then lists cur/ at each one whenever
// anyone changed anything: with 50 sessions on one folder, 1,800
// listings a second held the directory's lock that every flag change and
// every APPEND's rename waits for, and made up most of the sessions' CPU.
// At most one such look per session per gap keeps what a client sees
// current to within the gap; NOOP, CHECK, IDLE, EXPUNGE, APPEND, COPY,
// MOVE and the STOREs that compute from the view (FLAGS, keywords,
// UNCHANGEDSINCE) still always look, and a session's own changes show at
// once.
const passiveSyncGap = 500 * time.Millisecond

// syncPassive is sync for the commands that read or change messages by
// number or UID (see passiveSyncGap).
func (s *Session) syncPassive(allowExpunge bool) {
	if s.mbox != nil && time.Since(s.lastRescan) < passiveSyncGap {
		return
	}
	s.sync(allowExpunge)
}

// sync rescans the mailbox and reports changes (RFC 3501 §7.3-7.4, §5.2).
// With allowExpunge false (during FETCH, STORE, SEARCH: RFC 3501 §7.4.1)
// vanished messages stay in the view until a later command.
//
// The view and the storage's list are both ascending by UID, so the
// comparison is one merge walk without a map, and expunged messages are
// dropped in one compaction pass (a 100,000-message folder costs a few
// milliseconds here, whatever the number of changes).
func (s *Session) sync(allowExpunge bool) {
	if s.mbox == nil {
		return
	}
	s.lastRescan = time.Now()
	if err := s.mbox.Rescan(); err != nil {
		if errors.Is(err, ErrUIDValidityChanged) && s.closing == nil {
			s.c.W.Untagged("BYE [ALERT] The folder was reset by another process (UIDVALIDITY changed); please reconnect.")
			s.closing = err
		}
		return
	}
	msgs := s.mbox.Messages()
	if s.syncTail(msgs) {
		return
	}
	match := matchView(s.view, msgs)
	var out strings.Builder
	changedCount := false
	if allowExpunge {
		// Descending, so each number is valid when sent (RFC 3501
		// §7.4.1); the view is compacted once afterwards.
		var vanished []uint32 // RFC 7162 §3.2.10 once QRESYNC is on
		gone := 0
		for i := len(s.view) - 1; i >= 0; i-- {
			if match[i] < 0 {
				if s.qresync {
					vanished = append(vanished, s.view[i].uid)
				} else {
					out.WriteString("* " + strconv.Itoa(i+1) + " EXPUNGE\r\n")
				}
				gone++
			}
		}
		out.WriteString(vanishedLine(false, vanished))
		if gone > 0 {
			k := 0
			for i := range s.view {
				if match[i] >= 0 {
					s.view[k], match[k] = s.view[i], match[i]
					k++
				}
			}
			clear(s.view[k:])
			s.view, match = s.view[:k], match[:k]
			changedCount = true
		}
	}
	held := false
	if !allowExpunge {
		for _, j := range match {
			if j < 0 {
				held = true
				break
			}
		}
	}
	s.synced, s.syncHeld = msgs, held
	var flagLines strings.Builder
	for i := range s.view {
		j := match[i]
		if j < 0 {
			continue
		}
		m := &msgs[j]
		if m.Recent {
			s.view[i].recent = true
		}
		if flagsMoved := !sameFlags(s.view[i].flags, m.Flags); flagsMoved || s.modseqMoved(i) {
			s.view[i].flags = m.Flags
			flagLines.WriteString("* " + strconv.Itoa(i+1) + " FETCH (" + s.unsolicitedUID(i) + "FLAGS " + formatFlags(m.Flags, s.view[i].recent) + s.modseqItem(i) + ")\r\n")
		}
	}
	var last uint32
	if len(s.view) > 0 {
		last = s.view[len(s.view)-1].uid
	}
	// New messages are the tail of msgs above the view's last UID.
	k := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID > last })
	for _, m := range msgs[k:] {
		s.view = append(s.view, viewMsg{uid: m.UID, flags: m.Flags, recent: m.Recent, date: m.InternalDate})
		changedCount = true
	}
	// Courier announces a grown keyword set before the changes that use
	// it and a shrunk one after the expunges (transcripts 06, 07). The
	// shrunk set goes after the FETCH lines too: a FLAGS response must
	// not drop a keyword the client still holds on a message whose
	// update comes later (imaptest "Keyword dropped, but it still had
	// references"). When keywords come and go at once, the new ones are
	// announced first together with the old ones.
	kw := s.keywordsInUse()
	if hasNewKeyword(kw, s.keywords) {
		s.keywords = unionKeywords(s.keywords, kw)
		s.writeFlagsLines(s.keywords)
	}
	s.c.W.Raw(out.String())
	if changedCount {
		s.c.W.Untagged(strconv.Itoa(len(s.view)) + " EXISTS")
		s.c.W.Untagged(strconv.Itoa(s.recentCount()) + " RECENT")
	}
	s.c.W.Raw(flagLines.String())
	if !sameKeywordSet(kw, s.keywords) {
		s.keywords = kw
		s.writeFlagsLines(kw)
	}
}

// syncTail is sync's fast path, for the common cases of a big folder: the
// store's list is the one the view last matched (nothing changed), or
// that list grown at its end (our own APPEND, new deliveries). The store
// only ever grows its list in place or replaces it (imapmaildir: a slice
// the session holds keeps its elements), so the same backing array with
// at least the old length means the old part is unchanged, and only the
// tail needs looking at. It reports false, leaving everything to the full
// walk, whenever it cannot be sure: expunges held back by the last sync,
// a view changed by a command since, keywords on a new message (the
// FLAGS list may need to grow), or CONDSTORE (mod-sequences move without
// the list changing). A 20,000-message folder's walk per command was half
// of an APPEND's CPU.
func (s *Session) syncTail(msgs []Message) bool {
	old := s.synced
	if s.condstore || s.qresync || s.syncHeld || len(old) == 0 || len(msgs) < len(old) ||
		&msgs[0] != &old[0] || len(s.view) != len(old) || s.view[len(s.view)-1].uid != old[len(old)-1].UID {
		return false
	}
	tail := msgs[len(old):]
	last := old[len(old)-1].UID
	for _, m := range tail {
		if m.UID <= last {
			return false
		}
		for _, f := range m.Flags {
			if !strings.HasPrefix(f, "\\") {
				return false
			}
		}
		last = m.UID
	}
	s.synced = msgs
	if len(tail) == 0 {
		return true
	}
	for _, m := range tail {
		s.view = append(s.view, viewMsg{uid: m.UID, flags: m.Flags, recent: m.Recent, date: m.InternalDate})
	}
	s.c.W.Untagged(strconv.Itoa(len(s.view)) + " EXISTS")
	s.c.W.Untagged(strconv.Itoa(s.recentCount()) + " RECENT")
	return true
}

// matchView maps each view entry to the index of its UID in msgs, or -1
// when the store no longer lists it. Both are ascending by UID (the
// Mailbox contract), so one merge walk does it without a map: sync runs
// after every command, and a map of a 20,000-message folder per command
// was most of an APPEND's CPU time. A store that breaks the order gets
// the map lookup.
func matchView(view []viewMsg, msgs []Message) []int32 {
	match := make([]int32, len(view))
	sorted := true
	for j := 1; j < len(msgs) && sorted; j++ {
		sorted = msgs[j-1].UID < msgs[j].UID
	}
	if !sorted {
		byUID := make(map[uint32]int32, len(msgs))
		for j, m := range msgs {
			byUID[m.UID] = int32(j)
		}
		for i, v := range view {
			j, ok := byUID[v.uid]
			if !ok {
				j = -1
			}
			match[i] = j
		}
		return match
	}
	j := 0
	for i, v := range view {
		for j < len(msgs) && msgs[j].UID < v.uid {
			j++
		}
		if j < len(msgs) && msgs[j].UID == v.uid {
			match[i] = int32(j)
			j++
		} else {
			match[i] = -1
		}
	}
	return match
}

// unionKeywords returns now followed by the keywords of before that now
// lacks (most recently used first, as keywordsInUse orders them).
func unionKeywords(before, now []string) []string {
	out := append([]string(nil), now...)
	for _, k := range before {
		if !hasFlag(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// seqIndexes resolves a message set against the view: indexes into
// s.view, ascending, plus the numbers that matched nothing (for Courier's
// "* NO Invalid message sequence number" lines, sequence sets only).
func (s *Session) seqIndexes(set imapwire.SeqSet, uid bool) (idx []int, invalid []uint32) {
	n := uint32(len(s.view))
	if uid {
		var max uint32
		if n > 0 {
			max = s.view[n-1].uid
		}
		r := set.Resolve(max)
		return s.uidIndexes(r), nil
	}
	r := set.Resolve(n)
	// Sequence numbers are view indexes + 1: each merged range is a run.
	for _, rg := range mergeRanges(r) {
		lo, hi := rg.Lo, rg.Hi
		if lo == 0 {
			lo = 1
		}
		if hi > n {
			hi = n
		}
		for q := lo; q <= hi && q != 0; q++ {
			idx = append(idx, int(q-1))
		}
	}
	for _, rg := range r {
		switch {
		case rg.Hi == 0xFFFFFFFF: // a literal 0
			invalid = append(invalid, 0)
		case rg.Lo == 0: // "*" in an empty mailbox
		case rg.Lo > n:
			invalid = append(invalid, rg.Lo)
		case rg.Hi > n:
			invalid = append(invalid, rg.Hi)
		}
	}
	return idx, invalid
}

// uidIndexes returns, ascending, the indexes of the view messages whose
// UID is in the resolved set r: a binary search per merged range instead
// of testing every message against every range (a UID STORE of 1,000
// single UIDs on a 100,000-message folder was 10^8 compares).
func (s *Session) uidIndexes(r imapwire.SeqSet) []int {
	var idx []int
	for _, rg := range mergeRanges(r) {
		i := sort.Search(len(s.view), func(i int) bool { return s.view[i].uid >= rg.Lo })
		for ; i < len(s.view) && s.view[i].uid <= rg.Hi; i++ {
			idx = append(idx, i)
		}
	}
	return idx
}

// mergeRanges sorts resolved ranges and joins overlapping or adjacent
// ones, so that the union can be walked once in ascending order.
func mergeRanges(r imapwire.SeqSet) imapwire.SeqSet {
	m := make(imapwire.SeqSet, 0, len(r))
	for _, rg := range r {
		if rg.Lo > rg.Hi {
			rg.Lo, rg.Hi = rg.Hi, rg.Lo
		}
		m = append(m, rg)
	}
	sort.Slice(m, func(i, j int) bool { return m[i].Lo < m[j].Lo })
	out := m[:0]
	for _, rg := range m {
		if k := len(out) - 1; k >= 0 && (rg.Lo <= out[k].Hi || (out[k].Hi != 0xFFFFFFFF && rg.Lo == out[k].Hi+1)) {
			if rg.Hi > out[k].Hi {
				out[k].Hi = rg.Hi
			}
			continue
		}
		out = append(out, rg)
	}
	return out
}

func (s *Session) reportInvalid(invalid []uint32) {
	for _, n := range invalid {
		s.c.W.Untagged("NO Invalid message sequence number: " + strconv.FormatUint(uint64(n), 10))
	}
}
