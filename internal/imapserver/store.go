package imapserver

import (
	"errors"
	"strconv"
	"strings"
)

func (s *Session) cmdStore(tag string, uid bool) error {
	d := s.c.Dec
	if !d.SP() {
		return s.bad(tag)
	}
	set, ok := d.SeqSet()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	unchangedSince, ok := s.parseUnchangedSince() // RFC 7162 §3.1.3
	if !ok {
		return s.bad(tag)
	}
	op, ok := d.Atom()
	if !ok {
		return s.bad(tag)
	}
	op = strings.ToUpper(op)
	silent := strings.HasSuffix(op, ".SILENT")
	op = strings.TrimSuffix(op, ".SILENT")
	mode := 0
	switch op {
	case "FLAGS":
	case "+FLAGS":
		mode = 1
	case "-FLAGS":
		mode = -1
	default:
		return s.bad(tag)
	}
	var flags []string
	valid := true
	if d.Special(' ') {
		flags, valid, ok = s.flagList(true)
		if !ok {
			return s.bad(tag)
		}
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	if !valid {
		return s.c.GenericNo(tag)
	}
	// Courier's read-only quirk (§4.3, §13.6): only \Deleted is refused
	// in EXAMINE mode. We follow RFC 3501 §6.3.2 instead: an EXAMINEd
	// mailbox is read-only, so every STORE is refused there.
	if s.readOnly {
		s.c.No(tag, "Current box is selected READ-ONLY.")
		return nil
	}
	if unchangedSince >= 0 {
		s.enableCondstore()
	}
	// +FLAGS/-FLAGS of system flags through a FlagChanger are applied to
	// the message's flags in storage, so a view up to passiveSyncGap old
	// does no harm. Everything else is computed from the view, which
	// must then be current, or another session's change would be undone
	// (imaptest's store script: "two sessions don't overwrite each
	// others' changes"): FLAGS replaces the whole set, keywords are
	// written as the view's set with the change, UNCHANGEDSINCE compares
	// the view's MODSEQs.
	if _, fc := s.mbox.(FlagChanger); fc && mode != 0 && unchangedSince < 0 && systemFlagsOnly(flags) {
		s.syncPassive(uid)
	} else {
		s.sync(uid)
	}
	idx, invalid := s.seqIndexes(set, uid)
	s.reportInvalid(invalid)
	var modified, changed, report []int // RFC 7162 §3.1.3 (condstore.go)
	var failed error
	var fetchLines strings.Builder
	// One durable point for the whole command: the storage renames each
	// message and fsyncs the directory once, still before the tagged OK.
	batch, batched := s.mbox.(BatchSyncer)
	if batched {
		batch.DeferSync()
	}
	for _, i := range idx {
		v := &s.view[i]
		if unchangedSince >= 0 && s.modseqOf(i) > uint64(unchangedSince) {
			modified = append(modified, i)
			continue
		}
		nf := applyFlags(v.flags, flags, mode)
		if !sameFlags(nf, v.flags) {
			var err error
			if nf, err = s.changeFlags(v.uid, v.flags, nf); err != nil {
				// Expunged by another session: no FETCH for a message that
				// is gone; the EXPUNGE follows at the next sync. A NO here
				// made imaptest's concurrent clients (and mbsync) fail.
				if !errors.Is(err, ErrNoSuchMessage) {
					failed = err
				}
				continue
			}
			v.flags = nf
			changed = append(changed, i)
		}
		if s.modseqBox() != nil {
			report = append(report, i) // lines need the new MODSEQ: after Flush
			continue
		}
		if !silent {
			line := "* " + strconv.Itoa(i+1) + " FETCH ("
			if uid {
				line += "UID " + strconv.FormatUint(uint64(v.uid), 10) + " "
			}
			fetchLines.WriteString(line + "FLAGS " + formatFlags(v.flags, v.recent) + ")\r\n")
		}
	}
	if batched {
		if err := batch.Flush(); err != nil && failed == nil {
			failed = err
		}
	}
	if s.modseqBox() != nil {
		s.storeModSeqLines(&fetchLines, report, changed, silent, uid)
	}
	// A grown keyword set is announced before the FETCH lines that use it
	// (transcript 07 a04, a09); a shrunk one after them, so FLAGS never
	// drops a keyword the client still sees on a message (imaptest
	// search-flags: "Keyword dropped, but it still had references"). With
	// .SILENT there are no FETCH lines and the order is Courier's (a08).
	kw := s.keywordsInUse()
	if hasNewKeyword(kw, s.keywords) {
		s.keywords = unionKeywords(s.keywords, kw)
		s.writeFlagsLines(s.keywords)
	}
	s.c.W.Raw(fetchLines.String())
	if !sameKeywordSet(kw, s.keywords) {
		s.keywords = kw
		s.writeFlagsLines(kw)
	}

	if failed != nil {
		if errors.Is(failed, ErrBadKeyword) {
			return s.c.GenericNo(tag)
		}
		s.c.No(tag, "STORE failed: "+failed.Error())
		return nil
	}
	if len(modified) > 0 {
		s.c.OK(tag, "[MODIFIED "+s.indexSet(modified, uid)+"] Conditional STORE failed")
		return nil
	}
	s.c.OK(tag, "STORE completed.")
	return nil
}

// hasNewKeyword: a keyword that appeared must be announced at once (RFC
// 3501 §7.2.6); disappearing ones wait for the next sync.
func hasNewKeyword(now, before []string) bool {
	for _, k := range now {
		if !hasFlag(before, k) {
			return true
		}
	}
	return false
}

// systemFlagsOnly reports whether flags holds no keyword.
func systemFlagsOnly(flags []string) bool {
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) {
			return false
		}
	}
	return true
}

// changeFlags changes a message's flags from old (the view's) to new,
// through FlagChanger when the mailbox has it, and returns the flags the
// message now has.
func (s *Session) changeFlags(uid uint32, old, new []string) ([]string, error) {
	if fc, ok := s.mbox.(FlagChanger); ok {
		return fc.ChangeFlags(uid, old, new)
	}
	return new, s.mbox.SetFlags(uid, new)
}

func applyFlags(cur, arg []string, mode int) []string {
	switch mode {
	case 0:
		return dedupeFlags(arg)
	case 1:
		return dedupeFlags(append(append([]string(nil), cur...), arg...))
	}
	var out []string
	for _, f := range cur {
		if !hasFlag(arg, f) {
			out = append(out, f)
		}
	}
	return out
}

func dedupeFlags(l []string) []string {
	var out []string
	for _, f := range l {
		if !hasFlag(out, f) {
			out = append(out, f)
		}
	}
	return out
}
