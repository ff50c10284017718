package imapserver

import (
	"strconv"
)

// QUOTA (RFC 2087; reference §4.9): the only root is "ROOT".
func (s *Session) quotaLine(root string) string {
	q, err := s.store.Quota()
	// Without a quota Courier prints `* QUOTA "ROOT"` with no list, which
	// RFC 2087 §5.1 does not allow; we send an empty list (DESIGN.md §5).
	if err != nil || !q.Defined || root != "ROOT" {
		return "QUOTA " + strconv.Quote(root) + " ()"
	}
	var parts string
	if q.BytesLimit > 0 {
		parts += "STORAGE " + strconv.FormatInt((q.Bytes+1023)/1024, 10) + " " + strconv.FormatInt(q.BytesLimit/1024, 10)
	}
	if q.MessageLimit > 0 {
		if parts != "" {
			parts += " "
		}
		parts += "MESSAGE " + strconv.FormatInt(q.Messages, 10) + " " + strconv.FormatInt(q.MessageLimit, 10)
	}
	if parts == "" {
		return `QUOTA "ROOT" ()`
	}
	return `QUOTA "ROOT" (` + parts + `)`
}

func (s *Session) cmdGetQuotaRoot(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, _ := s.wireName(raw)
	s.c.W.Untagged("QUOTAROOT " + s.outName(name) + ` "ROOT"`)
	s.c.W.Untagged(s.quotaLine("ROOT"))
	s.c.OK(tag, "GETQUOTAROOT Ok.")
	return nil
}

func (s *Session) cmdGetQuota(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.c.W.Untagged(s.quotaLine(raw))
	s.c.OK(tag, "GETQUOTA Ok.")
	return nil
}

func (s *Session) cmdSetQuota(tag string, _ bool) error {
	if err := s.c.Dec.DiscardLine(); err != nil {
		return err
	}
	s.c.No(tag, "SETQUOTA No permission.")
	return nil
}
