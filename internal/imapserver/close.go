package imapserver

import ()

func (s *Session) cmdClose(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	verb := s.lastVerb
	if verb == "CLOSE" && !s.readOnly {
		// RFC 3501 §6.4.2: silent expunge of \Deleted messages.
		var uids []uint32
		for _, m := range s.view {
			if hasFlag(m.flags, `\Deleted`) {
				uids = append(uids, m.uid)
			}
		}
		if len(uids) > 0 {
			s.expunge(uids)
		}
	}
	s.closeMailbox()
	if verb == "UNSELECT" {
		s.c.OK(tag, "UNSELECT completed")
	} else {
		s.c.OK(tag, "mailbox closed.")
	}
	return nil
}
