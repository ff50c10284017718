package imapserver

import (
	"errors"
	"gocourier/internal/imapwire"
	"strings"
)

func (s *Session) cmdCreate(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.badInvalid(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, ok := s.wireName(raw)
	if !ok {
		s.c.No(tag, "Invalid mailbox name.")
		return nil
	}
	if name == "INBOX" {
		s.c.No(tag, "INBOX already exists!")
		return nil
	}
	// A trailing separator only declares intent to create inferiors
	// (RFC 3501 §6.3.3); Courier answers OK without creating anything.
	if strings.HasSuffix(name, ".") && strings.HasPrefix(name, "INBOX.") && !strings.Contains(name, "..") {
		s.c.OK(tag, imapwire.QuoteOrLiteral(raw)+" created.")
		return nil
	}
	err := s.store.Create(name)
	switch {
	case err == nil:
		// Courier echoes the name as the client spelled it (§4.2).
		s.c.OK(tag, imapwire.QuoteOrLiteral(raw)+" created.")
	case errors.Is(err, ErrInvalidName):
		s.c.No(tag, "Invalid mailbox name.")
	case errors.Is(err, ErrInboxExists):
		s.c.No(tag, "INBOX already exists!")
	default:
		s.c.No(tag, "Cannot create this folder.")
	}
	return nil
}
