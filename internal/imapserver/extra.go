package imapserver

import (
	"strconv"

	"gocourier/internal/msgsearch"
)

func msgsearchToUTF8(cs string) (string, error) { return msgsearch.ToUTF8(cs, nil) }

// QUOTA (RFC 2087; reference §4.9): the only root is "ROOT".
func (s *Session) quotaLine(root string) string {
	q, err := s.store.Quota()
	if err != nil || !q.Defined || root != "ROOT" {
		return "QUOTA " + strconv.Quote(root)
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
		return `QUOTA "ROOT"`
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

// ACL (RFC 4314) for the owner's own folders: the account owns every
// personal folder with all rights (Courier's default ACL, §4.10). Shared
// folders and stored ACLs are not implemented yet; SETACL is refused.
const ownerRights = "acdilrsw"

func (s *Session) cmdMyRights(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, _ := s.wireName(raw)
	if _, err := s.store.Status(name); err != nil {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return nil
	}
	s.c.W.Untagged("MYRIGHTS " + s.outName(name) + ` "` + ownerRights + `"`)
	s.c.OK(tag, "MYRIGHTS completed.")
	return nil
}

func (s *Session) cmdGetACL(tag string, _ bool) error {
	raw, ok := s.mailboxArg()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, _ := s.wireName(raw)
	if _, err := s.store.Status(name); err != nil {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return nil
	}
	s.c.W.Untagged("ACL " + s.outName(name) + ` "owner" "` + ownerRights + `" "administrators" "` + ownerRights + `"`)
	s.c.OK(tag, "GETACL completed.")
	return nil
}

func (s *Session) cmdSetACL(tag string, _ bool) error {
	if err := s.c.Dec.DiscardLine(); err != nil {
		return err
	}
	s.c.No(tag, "Cannot modify ACLs on this mailbox.")
	return nil
}

func (s *Session) cmdListRights(tag string, _ bool) error {
	d := s.c.Dec
	raw, ok := s.mailboxArg()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	id, ok := d.AString()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	name, _ := s.wireName(raw)
	s.c.W.Untagged("LISTRIGHTS " + s.outName(name) + " " + strconv.Quote(id) + ` "" a c d i l p r s w`)
	s.c.OK(tag, "LISTRIGHTS completed.")
	return nil
}
