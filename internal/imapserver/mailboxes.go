package imapserver

import (
	"errors"
	"strconv"
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
	s.keywords = nil
}

func (s *Session) cmdSelect(tag string, _ bool) error {
	examine := false
	raw, ok := s.mailboxArg()
	if !ok {
		return s.badInvalid(tag)
	}
	// CONDSTORE/QRESYNC select parameters are not supported.
	if ok, err := s.end(tag); !ok {
		return err
	}
	_ = examine
	return s.doSelect(tag, raw)
}

func (s *Session) doSelect(tag, raw string) error {
	examine := false
	// The handler is shared; the verb is recovered from the tag-less
	// dispatch through s.lastVerb.
	examine = s.lastVerb == "EXAMINE"
	s.closeMailbox()
	name, ok := s.wireName(raw)
	if !ok {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return s.c.countError()
	}
	mb, err := s.store.Open(name, examine)
	if err != nil {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return nil
	}
	s.mbox, s.mboxName, s.readOnly = mb, name, examine
	if err := mb.Rescan(); err != nil {
		s.closeMailbox()
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return nil
	}
	for _, m := range mb.Messages() {
		s.view = append(s.view, viewMsg{uid: m.UID, flags: m.Flags, recent: m.Recent, date: m.InternalDate})
	}
	s.keywords = s.keywordsInUse()
	s.writeFlagsLines(s.keywords)
	s.c.W.Untagged(strconv.Itoa(len(s.view)) + " EXISTS")
	s.c.W.Untagged(strconv.Itoa(s.recentCount()) + " RECENT")
	// UNSEEN and UIDNEXT are REQUIRED by RFC 3501 §6.3.1 though Courier
	// omits them (§4.3); clients ignore unknown codes, so we send them.
	for i, m := range s.view {
		if !hasFlag(m.flags, `\Seen`) {
			s.c.W.Untagged("OK [UNSEEN " + strconv.Itoa(i+1) + "] Message " + strconv.Itoa(i+1) + " is first unseen")
			break
		}
	}
	s.c.W.Untagged("OK [UIDVALIDITY " + strconv.FormatUint(uint64(mb.UIDValidity()), 10) + "] Ok")
	s.c.W.Untagged("OK [UIDNEXT " + strconv.FormatUint(uint64(mb.UIDNext()), 10) + "] Ok")
	if s.cfg.Getenv("IMAP_ACL") == "1" {
		s.c.W.Untagged(`OK [MYRIGHTS "acdilrsw"] ACL`)
	}
	if examine {
		s.c.OK(tag, "[READ-ONLY] Ok")
	} else {
		s.c.OK(tag, "[READ-WRITE] Ok")
	}
	return nil
}

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
		s.c.OK(tag, s.outName(name)+" created.")
		return nil
	}
	err := s.store.Create(name)
	switch {
	case err == nil:
		s.c.OK(tag, s.outName(name)+" created.")
	case errors.Is(err, ErrInvalidName):
		s.c.No(tag, "Invalid mailbox name.")
	case errors.Is(err, ErrInboxExists):
		s.c.No(tag, "INBOX already exists!")
	default:
		s.c.No(tag, "Cannot create this folder.")
	}
	return nil
}

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

func (s *Session) cmdNamespace(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.c.W.Untagged(`NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")("shared." "."))`)
	s.c.OK(tag, "NAMESPACE completed.")
	return nil
}

func (s *Session) cmdStatus(tag string, _ bool) error {
	d := s.c.Dec
	raw, ok := s.mailboxArg()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	var items []string
	if !d.List(func() bool {
		a, ok := d.Atom()
		a = strings.ToUpper(a)
		switch a {
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN":
		default:
			return d.Fail("unknown status item")
		}
		items = append(items, a)
		return ok
	}) {
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
	st, err := s.store.Status(name)
	if err != nil {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return nil
	}
	var parts []string
	for _, it := range items {
		var v uint32
		switch it {
		case "MESSAGES":
			v = st.Messages
		case "RECENT":
			v = st.Recent
		case "UIDNEXT":
			v = st.UIDNext
		case "UIDVALIDITY":
			v = st.UIDValidity
		case "UNSEEN":
			v = st.Unseen
		}
		parts = append(parts, it+" "+strconv.FormatUint(uint64(v), 10))
	}
	s.c.W.Untagged("STATUS " + s.outName(name) + " (" + strings.Join(parts, " ") + ")")
	s.c.OK(tag, "STATUS Completed.")
	return nil
}

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
			s.mbox.Expunge(uids)
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
