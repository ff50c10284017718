package imapserver

import (
	"errors"
	"strconv"
	"strings"
)

// ACL commands (RFC 4314; reference §4.10). Without an ACLStore the
// owner has every right on every folder (Courier's default ACL).
const ownerRights = "acdilrsw"

func (s *Session) aclStore() ACLStore {
	a, _ := s.store.(ACLStore)
	return a
}

// aclArgs reads SP mailbox [SP astring]* count more arguments.
func (s *Session) aclArgs(tag string, n int) (name string, args []string, ok bool, err error) {
	d := s.c.Dec
	raw, okm := s.mailboxArg()
	if !okm {
		return "", nil, false, s.bad(tag)
	}
	for i := 0; i < n; i++ {
		if !d.SP() {
			return "", nil, false, s.bad(tag)
		}
		a, oka := d.AString()
		if !oka {
			return "", nil, false, s.bad(tag)
		}
		args = append(args, a)
	}
	if okEnd, err := s.end(tag); !okEnd {
		return "", nil, false, err
	}
	name, okn := s.wireName(raw)
	if !okn {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return "", nil, false, nil
	}
	if !s.store.Exists(name) {
		s.c.No(tag, "Mailbox does not exist, or must be subscribed to.")
		return "", nil, false, nil
	}
	return name, args, true, nil
}

func (s *Session) cmdMyRights(tag string, _ bool) error {
	name, _, ok, err := s.aclArgs(tag, 0)
	if !ok {
		return err
	}
	rights := ownerRights
	if a := s.aclStore(); a != nil {
		if r, err := a.MyRights(name); err == nil {
			rights = r
		}
	}
	s.c.W.Untagged("MYRIGHTS " + s.outName(name) + " " + strconv.Quote(rights))
	s.c.OK(tag, "MYRIGHTS completed.")
	return nil
}

func (s *Session) cmdGetACL(tag string, _ bool) error {
	name, _, ok, err := s.aclArgs(tag, 0)
	if !ok {
		return err
	}
	entries := []ACLEntry{{"owner", ownerRights}, {"administrators", ownerRights}}
	if a := s.aclStore(); a != nil {
		if my, err := a.MyRights(name); err != nil || !strings.Contains(my, "a") {
			s.c.No(tag, "Access denied for GETACL on "+name+` (ACL "a" required)`)
			return nil
		}
		if entries, err = a.GetACL(name); err != nil {
			s.c.No(tag, "GETACL failed: "+err.Error())
			return nil
		}
	}
	var sb strings.Builder
	sb.WriteString("ACL " + s.outName(name))
	for _, e := range entries {
		sb.WriteString(" " + strconv.Quote(e.ID) + " " + strconv.Quote(e.Rights))
	}
	s.c.W.Untagged(sb.String())
	s.c.OK(tag, "GETACL completed.")
	return nil
}

func (s *Session) cmdSetACL(tag string, _ bool) error {
	del := s.lastVerb == "DELETEACL"
	n := 2
	if del {
		n = 1
	}
	name, args, ok, err := s.aclArgs(tag, n)
	if !ok {
		return err
	}
	a := s.aclStore()
	if a == nil {
		s.c.No(tag, "Cannot modify ACLs on this mailbox.")
		return nil
	}
	if my, err := a.MyRights(name); err != nil || !strings.Contains(my, "a") {
		s.c.No(tag, "Access denied for "+s.lastVerb+" on "+name+` (ACL "a" required)`)
		return nil
	}
	rights := ""
	if !del {
		rights = args[1]
	}
	switch err := a.SetACL(name, args[0], rights); {
	case err == nil:
		s.c.OK(tag, "ACLs updated.")
	case errors.Is(err, ErrBadIdentifier):
		s.c.No(tag, "Invalid ACL identifier.")
	default:
		s.c.No(tag, "Cannot modify ACLs on this mailbox.")
	}
	return nil
}

func (s *Session) cmdListRights(tag string, _ bool) error {
	name, args, ok, err := s.aclArgs(tag, 1)
	if !ok {
		return err
	}
	s.c.W.Untagged("LISTRIGHTS " + s.outName(name) + " " + strconv.Quote(args[0]) + ` "" a c d i l p r s w`)
	s.c.OK(tag, "LISTRIGHTS completed.")
	return nil
}

// rights returns the session's rights on a folder in RFC 2086 letters,
// or all rights when the store has no ACLs or cannot tell (a damaged
// ACL file must not lock the owner out).
func (s *Session) rights(name string) string {
	if a := s.aclStore(); a != nil {
		if r, err := a.MyRights(name); err == nil {
			return r
		}
	}
	return ownerRights
}

// denied answers Courier's access-denied NO (reference §4.10) when the
// right is missing, and reports whether it did.
func (s *Session) denied(tag, verb, name string, right byte) bool {
	if strings.IndexByte(s.rights(name), right) >= 0 {
		return false
	}
	s.c.No(tag, "Access denied for "+verb+" on "+name+` (ACL "`+string(right)+`" required)`)
	return true
}
