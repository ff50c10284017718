package imapserver

import (
	"errors"
)

func (s *Session) cmdDelete(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, ok := s.wireName(raw)
	if !ok {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return nil
	}
	if name == "INBOX" {
		s.c.No(tag, "Cannot delete this folder.")
		return nil
	}
	if name == s.mboxName {
		s.closeMailbox()
	}
	err := s.store.Delete(name)
	switch {
	case err == nil:
		s.c.OK(tag, "Folder deleted.")
	case errors.Is(err, ErrCannotDelete):
		s.c.No(tag, "Cannot delete this folder.")
	default:
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
	}
	return nil
}
