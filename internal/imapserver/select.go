package imapserver

import (
	"strconv"
	"strings"
)

func (s *Session) cmdSelect(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.badInvalid(tag)
	}
	// RFC 7162 select parameters (condstore.go).
	params, ok := s.parseSelectParams()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.selParams = params
	defer func() { s.selParams = selectParams{} }()
	return s.doSelect(tag, raw, s.lastVerb == "EXAMINE")
}

// doSelect opens a mailbox and sends the untagged data of RFC 3501
// §6.3.1 in Courier's order (reference §4.3). A failed SELECT leaves no
// mailbox selected.
func (s *Session) doSelect(tag, raw string, examine bool) error {
	if s.mbox != nil && s.qresync {
		// RFC 7162 §3.2.11: responses after this are the new mailbox's.
		s.c.W.Untagged("OK [CLOSED] Previous mailbox closed.")
	}
	s.closeMailbox()
	name, ok := s.wireName(raw)
	if !ok {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return s.c.countError()
	}
	verb := "SELECT"
	if examine {
		verb = "EXAMINE"
	}
	// No Status() here: it must not disturb new/ before the open that
	// claims \Recent.
	if s.denied(tag, verb, name, 'r') {
		return nil
	}
	// Without any right to change flags the folder opens read-only
	// (transcript 12).
	if r := s.rights(name); !strings.ContainsAny(r, "wsd") {
		examine = true
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
	msgs := mb.Messages()
	if cap(s.view)-len(s.view) < len(msgs) {
		// One allocation instead of append's doublings: every idle
		// session keeps what SELECT allocated (bench/session).
		s.view = append(make([]viewMsg, 0, len(s.view)+len(msgs)), s.view...)
	}
	for _, m := range msgs {
		s.view = append(s.view, viewMsg{uid: m.UID, flags: m.Flags, recent: m.Recent, date: m.InternalDate})
	}
	s.synced, s.syncHeld = msgs, false
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
		rights := ownerRights
		if a := s.aclStore(); a != nil {
			if r, err := a.MyRights(name); err == nil {
				rights = r
			}
		}
		s.c.W.Untagged(`OK [MYRIGHTS "` + rights + `"] ACL`)
	}
	s.selectModSeq(s.selParams)
	if examine {
		s.c.OK(tag, "[READ-ONLY] Ok")
	} else {
		s.c.OK(tag, "[READ-WRITE] Ok")
	}
	return nil
}
