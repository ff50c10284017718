package imapserver

import (
	"errors"
	"sort"
	"strconv"
	"strings"

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

func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
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
	seen := map[string]bool{}
	for i := len(s.view) - 1; i >= 0; i-- {
		for _, f := range s.view[i].flags {
			if strings.HasPrefix(f, `\`) {
				continue
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

// sync rescans the mailbox and reports changes (RFC 3501 §7.3-7.4, §5.2).
// With allowExpunge false (during FETCH, STORE, SEARCH: RFC 3501 §7.4.1)
// vanished messages stay in the view until a later command.
func (s *Session) sync(allowExpunge bool) {
	if s.mbox == nil {
		return
	}
	if err := s.mbox.Rescan(); err != nil {
		if errors.Is(err, ErrUIDValidityChanged) && s.closing == nil {
			s.c.W.Untagged("BYE [ALERT] The folder was reset by another process (UIDVALIDITY changed); please reconnect.")
			s.closing = err
		}
		return
	}
	msgs := s.mbox.Messages()
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
	for k := range msgs {
		if m := &msgs[k]; m.UID > last {
			s.view = append(s.view, viewMsg{uid: m.UID, flags: m.Flags, recent: m.Recent, date: m.InternalDate})
			changedCount = true
		}
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
		for i, m := range s.view {
			if r.Contains(m.uid) {
				idx = append(idx, i)
			}
		}
		return idx, nil
	}
	r := set.Resolve(n)
	for i := range s.view {
		if r.Contains(uint32(i + 1)) {
			idx = append(idx, i)
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
	sort.Ints(idx)
	return idx, invalid
}

func (s *Session) reportInvalid(invalid []uint32) {
	for _, n := range invalid {
		s.c.W.Untagged("NO Invalid message sequence number: " + strconv.FormatUint(uint64(n), 10))
	}
}
