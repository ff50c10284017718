package imapmaildir

import (
	"fmt"
	"strings"

	"gocourier/internal/imapserver"
	"gocourier/internal/maildir/acl"
)

// Identity of the logged-in user for ACL evaluation; set by imapd.
// Groups come from the account option group= (reference §4.10).
func (s *Store) identity() acl.Identity {
	return acl.Identity{User: s.User, Owner: true, Groups: s.Groups}
}

// toIMAPID converts a stored identifier to the IMAP form: in IMAP a bare
// name is a user, so "user=bob" shows as "bob" (§4.10).
func toIMAPID(id string) string {
	neg := strings.HasPrefix(id, "-")
	base := strings.TrimPrefix(id, "-")
	base = strings.TrimPrefix(base, "user=")
	if neg {
		return "-" + base
	}
	return base
}

// fromIMAPID converts an IMAP identifier to the stored form; the
// spellings user=x and group=x are refused over IMAP as Courier does.
func fromIMAPID(id string) (string, error) {
	neg := strings.HasPrefix(id, "-")
	base := strings.TrimPrefix(id, "-")
	if base == "" || strings.HasPrefix(base, "user=") || strings.HasPrefix(base, "group=") {
		return "", imapserver.ErrBadIdentifier
	}
	switch base {
	case "owner", "anyone", "anonymous", "administrators":
	default:
		base = "user=" + base
	}
	if neg {
		base = "-" + base
	}
	if !acl.ValidIdentifier(base) {
		return "", imapserver.ErrBadIdentifier
	}
	return base, nil
}

// GetACL implements imapserver.ACLStore.
func (s *Store) GetACL(name string) ([]imapserver.ACLEntry, error) {
	l, err := s.M.GetACL(name)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]imapserver.ACLEntry, 0, len(l))
	for _, e := range l {
		out = append(out, imapserver.ACLEntry{ID: toIMAPID(e.Identifier), Rights: acl.ToRFC2086(e.Rights)})
	}
	return out, nil
}

// SetACL implements imapserver.ACLStore.
func (s *Store) SetACL(name, id, rights string) error {
	sid, err := fromIMAPID(id)
	if err != nil {
		return err
	}
	l, err := s.M.GetACL(name)
	if err != nil {
		return mapErr(err)
	}
	mod := rights
	switch {
	case strings.HasPrefix(rights, "+") || strings.HasPrefix(rights, "-"):
		mod = rights[:1] + acl.FromRFC2086(rights[1:])
	default:
		mod = acl.FromRFC2086(rights)
	}
	var nl acl.List
	if rights == "" {
		nl = l.Delete(sid)
	} else {
		nl = l.Modify(sid, mod)
	}
	if who, ok := nl.CheckInvariants(); !ok {
		return fmt.Errorf("ACL change would remove rights of %s: %w", who, imapserver.ErrPermission)
	}
	return mapErr(s.M.SetACL(name, nl))
}

// MyRights implements imapserver.ACLStore.
func (s *Store) MyRights(name string) (string, error) {
	r, err := s.M.MyRights(name, s.identity())
	if err != nil {
		return "", mapErr(err)
	}
	return acl.ToRFC2086(r), nil
}
