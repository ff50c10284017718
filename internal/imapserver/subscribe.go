package imapserver

import ()

func (s *Session) cmdSubscribe(tag string, _ bool) error {
	unsub := s.lastVerb == "UNSUBSCRIBE"
	raw, ok := s.mailboxArg()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, ok := s.wireName(raw)
	if !ok {
		s.c.No(tag, "Invalid mailbox name.")
		return nil
	}
	if unsub {
		if err := s.store.Unsubscribe(name); err != nil {
			s.c.No(tag, "Unable to unsubscribe.")
			return nil
		}
		s.c.OK(tag, "Folder unsubscribed.")
		return nil
	}
	if err := s.store.Subscribe(name); err != nil {
		s.c.No(tag, "Unable to subscribe.")
		return nil
	}
	s.c.OK(tag, "Folder subscribed.")
	return nil
}
