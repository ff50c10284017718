package imapserver

import (
	"errors"
	"strings"
)

func (s *Session) cmdRename(tag string, _ bool) error {
	raw1, ok := s.mailboxArg()
	var raw2 string
	if ok {
		raw2, ok = s.mailboxArg()
	}
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	from, ok1 := s.wireName(raw1)
	to, ok2 := s.wireName(raw2)
	if !ok1 || !ok2 {
		s.c.No(tag, "Invalid mailbox name.")
		return nil
	}
	if from == "INBOX" {
		s.c.No(tag, "INBOX rename not implemented.")
		return nil
	}
	if from == s.mboxName || strings.HasPrefix(s.mboxName, from+".") {
		s.closeMailbox()
	}
	err := s.store.Rename(from, to)
	switch {
	case err == nil:
		s.c.OK(tag, "Folder renamed.")
	case errors.Is(err, ErrInvalidName):
		s.c.No(tag, "Invalid mailbox name.")
	case errors.Is(err, ErrNoSuchMailbox):
		// RFC 3501 §6.3.5: renaming a missing mailbox is an error
		// (Courier answers OK, §13.7; we follow the RFC).
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
	case errors.Is(err, ErrExists):
		s.c.No(tag, "RENAME failed: File exists")
	default:
		s.c.No(tag, "RENAME failed: "+err.Error())
	}
	return nil
}
