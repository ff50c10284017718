package imapserver

import (
	"errors"
	"strconv"
	"strings"

	"gocourier/internal/imapwire"
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
	s.sync(uid)
	idx, invalid := s.seqIndexes(set, uid)
	s.reportInvalid(invalid)
	var failed error
	for _, i := range idx {
		v := &s.view[i]
		nf := applyFlags(v.flags, flags, mode)
		if !sameFlags(nf, v.flags) {
			if err := s.mbox.SetFlags(v.uid, nf); err != nil {
				failed = err
				continue
			}
			v.flags = nf
		}
		if !silent {
			line := "* " + strconv.Itoa(i+1) + " FETCH ("
			if uid {
				line += "UID " + strconv.FormatUint(uint64(v.uid), 10) + " "
			}
			s.c.W.Raw(line + "FLAGS " + formatFlags(v.flags, v.recent) + ")\r\n")
		}
	}
	if kw := s.keywordsInUse(); !sameKeywordSet(kw, s.keywords) && hasNewKeyword(kw, s.keywords) {
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

func (s *Session) cmdExpunge(tag string, uid bool) error {
	d := s.c.Dec
	var set imapwire.SeqSet
	if uid {
		if !d.SP() {
			return s.bad(tag)
		}
		var ok bool
		if set, ok = d.SeqSet(); !ok {
			return s.bad(tag)
		}
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	if s.readOnly {
		s.c.No(tag, "Cannot expunge read-only mailbox.")
		return nil
	}
	var uids []uint32
	var r imapwire.SeqSet
	if uid {
		var max uint32
		if len(s.view) > 0 {
			max = s.view[len(s.view)-1].uid
		}
		r = set.Resolve(max)
	}
	for _, m := range s.view {
		if hasFlag(m.flags, `\Deleted`) && (!uid || r.Contains(m.uid)) {
			uids = append(uids, m.uid)
		}
	}
	if len(uids) > 0 {
		if err := s.mbox.Expunge(uids); err != nil {
			s.sync(true)
			s.c.No(tag, "EXPUNGE failed: "+err.Error())
			return nil
		}
	}
	s.sync(true)
	s.c.OK(tag, "EXPUNGE completed")
	return nil
}

func (s *Session) cmdCopy(tag string, uid bool) error {
	move := s.lastVerb == "MOVE"
	d := s.c.Dec
	if !d.SP() {
		return s.badInvalid(tag)
	}
	set, ok := d.SeqSet()
	if !ok {
		return s.bad(tag)
	}
	raw, ok := s.mailboxArg()
	if !ok {
		return s.badInvalid(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, ok := s.wireName(raw)
	if !ok {
		s.c.No(tag, "[TRYCREATE] Mailbox does not exist.")
		return nil
	}
	if move && s.readOnly {
		s.c.No(tag, "Current box is selected READ-ONLY.")
		return nil
	}
	if _, err := s.store.Status(name); err != nil {
		s.c.No(tag, "[TRYCREATE] Mailbox does not exist.")
		return nil
	}
	idx, invalid := s.seqIndexes(set, uid)
	s.reportInvalid(invalid)
	var uids []uint32
	for _, i := range idx {
		uids = append(uids, s.view[i].uid)
	}
	verb := "COPY"
	if move {
		verb = "MOVE"
	}
	if len(uids) == 0 {
		s.c.OK(tag, verb+" completed.")
		return nil
	}
	var uv uint32
	var srcUIDs, newUIDs []uint32
	var err error
	if mv, ok := s.mbox.(Mover); ok && move {
		uv, srcUIDs, newUIDs, err = mv.MoveTo(name, uids)
	} else {
		uv, srcUIDs, newUIDs, err = s.mbox.CopyTo(name, uids)
		if err == nil && move {
			err = s.mbox.Expunge(srcUIDs)
		}
	}
	if err != nil {
		s.sync(true)
		if errors.Is(err, ErrOverQuota) {
			s.c.No(tag, "[ALERT] "+verb+" failed - mail quota exceeded.")
			return nil
		}
		s.c.No(tag, "[ALERT] "+verb+" failed - no write permission or out of disk space.")
		return nil
	}
	code := "[COPYUID " + strconv.FormatUint(uint64(uv), 10) + " " + imapwire.CompressUIDs(srcUIDs) + " " + imapwire.CompressUIDs(newUIDs) + "] "
	if move {
		// RFC 6851 §4.3: COPYUID goes in an untagged OK before the
		// expunges.
		s.c.W.Untagged("OK " + code + "Moved")
		s.sync(true)
		s.c.OK(tag, "MOVE completed.")
		return nil
	}
	if name == s.mboxName {
		s.sync(true)
	}
	s.c.OK(tag, code+"COPY completed.")
	return nil
}
