package imapserver

import (
	"strconv"
	"strings"
)

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
		case "HIGHESTMODSEQ": // RFC 7162 §3.1.2.3
			if !condstoreOffered(s.cfg.Getenv) {
				return d.Fail("unknown status item")
			}
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
		if it == "HIGHESTMODSEQ" {
			// A CONDSTORE enabling command (RFC 7162 §3.1); 0 when the
			// store keeps no mod-sequences (§3.1.2.3).
			s.enableCondstore()
			var hm uint64
			if ms, ok := s.store.(ModSeqStore); ok {
				if hm, err = ms.HighestModSeq(name); err != nil {
					hm = 0
				}
			}
			parts = append(parts, it+" "+strconv.FormatUint(hm, 10))
			continue
		}
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
