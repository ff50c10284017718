package imapserver

import (
	"gocourier/internal/imapwire"
	"strings"
)

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
	if uid {
		var max uint32
		if len(s.view) > 0 {
			max = s.view[len(s.view)-1].uid
		}
		for _, i := range s.uidIndexes(set.Resolve(max)) {
			if m := &s.view[i]; hasFlag(m.flags, `\Deleted`) {
				uids = append(uids, m.uid)
			}
		}
	} else {
		for _, m := range s.view {
			if hasFlag(m.flags, `\Deleted`) {
				uids = append(uids, m.uid)
			}
		}
	}
	if len(uids) > 0 {
		if err := s.expunge(uids); err != nil {
			s.sync(true)
			s.c.No(tag, "EXPUNGE failed: "+err.Error())
			return nil
		}
	}
	s.sync(true)
	s.c.OK(tag, "EXPUNGE completed")
	return nil
}

// expunge removes messages; with IMAP_MOVE_EXPUNGE_TO_TRASH=1 they are
// first copied to Trash unless this is Trash (reference §9.14).
func (s *Session) expunge(uids []uint32) error {
	if s.cfg.Getenv("IMAP_MOVE_EXPUNGE_TO_TRASH") == "1" {
		trash := s.cfg.Getenv("IMAP_TRASHFOLDERNAME")
		if trash == "" {
			trash = "Trash"
		}
		trash = "INBOX." + strings.TrimPrefix(trash, "INBOX.")
		if s.mboxName != trash {
			if !s.store.Exists(trash) {
				if err := s.store.Create(trash); err != nil {
					return err
				}
			}
			if _, _, _, err := s.mbox.CopyTo(trash, uids); err != nil {
				return err
			}
		}
	}
	return s.mbox.Expunge(uids)
}
