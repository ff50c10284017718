package imapserver

import (
	"errors"
	"gocourier/internal/imapwire"
	"strconv"
)

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
	verb := "COPY"
	if move {
		verb = "MOVE"
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
	if !s.store.Exists(name) {
		s.c.No(tag, "[TRYCREATE] Mailbox does not exist.")
		return nil
	}
	if s.denied(tag, verb, name, 'i') {
		return nil
	}
	idx, invalid := s.seqIndexes(set, uid)
	s.reportInvalid(invalid)
	var uids []uint32
	for _, i := range idx {
		uids = append(uids, s.view[i].uid)
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
