package imapserver

import (
	"strings"

	"gocourier/internal/imapwire"
)

// wireName converts a mailbox name from the wire: modified UTF-7 unless
// UTF8=ACCEPT is enabled (RFC 6855 §3, reference §4.2), and INBOX in any
// case becomes "INBOX" (RFC 3501 §5.1).
func (s *Session) wireName(raw string) (string, bool) {
	name := raw
	if !s.utf8 {
		dec, err := imapwire.DecodeMUTF7(raw)
		if err != nil {
			return "", false
		}
		name = dec
	}
	return canonInbox(name), true
}

func canonInbox(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == '.') {
		return "INBOX" + name[5:]
	}
	return name
}

// outName formats a mailbox name for the wire, always quoted (§4.2).
func (s *Session) outName(name string) string {
	if !s.utf8 {
		name = imapwire.EncodeMUTF7(name)
	}
	return imapwire.QuoteOrLiteral(name)
}

// mailboxArg reads SP mailbox.
func (s *Session) mailboxArg() (string, bool) {
	d := s.c.Dec
	if !d.SP() {
		return "", false
	}
	raw, ok := d.AString()
	if !ok {
		return "", false
	}
	return raw, true
}

// missingArgs implements Courier's "BAD Invalid command" for SELECT,
// CREATE, LIST and COPY without arguments (§5).
func (s *Session) badInvalid(tag string) error {
	if s.c.Dec.Fatal() {
		return s.c.Dec.Err()
	}
	if err := s.c.Dec.DiscardLine(); err != nil {
		return err
	}
	s.c.W.Tagged(tag, "BAD", "Invalid command")
	return s.c.countError()
}

func (s *Session) closeMailbox() {
	if s.mbox != nil {
		s.mbox.Close()
	}
	s.mbox = nil
	s.mboxName = ""
	s.view = nil
	s.synced, s.syncHeld = nil, false
	s.keywords = nil
	s.sortc = nil
	s.nomodseq = false
	s.msSent = nil
}
