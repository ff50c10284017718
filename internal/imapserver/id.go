package imapserver

import (
	"strings"
)

// cmdID answers RFC 2971 with the fields named in IMAP_ID_FIELDS.
func (s *Session) cmdID(tag string, _ bool) error {
	// The client's ID list is accepted and ignored (RFC 2971 §3.1).
	if err := s.c.Dec.DiscardLine(); err != nil {
		return err
	}
	s.c.W.Untagged(IDResponse(s.cfg.Getenv))
	s.c.OK(tag, "ID completed")
	return nil
}

// IDResponse is the untagged ID reply: the fields named in IMAP_ID_FIELDS.
// The pre-auth stage answers ID with it too (RFC 2971 §3).
func IDResponse(getenv func(string) string) string {
	fields := strings.Fields(strings.ReplaceAll(getenv("IMAP_ID_FIELDS"), ",", " "))
	var parts []string
	for _, f := range fields {
		switch strings.ToLower(f) {
		case "name":
			parts = append(parts, `"name" "Courier-IMAP"`)
		case "version":
			parts = append(parts, `"version" "5.0.13"`)
		}
	}
	if len(parts) == 0 {
		return "ID NIL"
	}
	return "ID (" + strings.Join(parts, " ") + ")"
}
