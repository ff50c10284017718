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
	fields := strings.Fields(strings.ReplaceAll(s.cfg.Getenv("IMAP_ID_FIELDS"), ",", " "))
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
		s.c.W.Untagged("ID NIL")
	} else {
		s.c.W.Untagged("ID (" + strings.Join(parts, " ") + ")")
	}
	s.c.OK(tag, "ID completed")
	return nil
}
