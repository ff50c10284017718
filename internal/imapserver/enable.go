package imapserver

import (
	"strings"
)

func (s *Session) cmdEnable(tag string, _ bool) error {
	d := s.c.Dec
	csAsked, csNamed := false, false
	if !d.SP() {
		return s.bad(tag)
	}
	for {
		a, ok := d.Atom()
		if !ok {
			return s.bad(tag)
		}
		if strings.EqualFold(a, "UTF8=ACCEPT") {
			s.utf8 = true
		}
		// RFC 7162 §3.1, §3.2.3: QRESYNC implies CONDSTORE.
		if condstoreOffered(s.cfg.Getenv) {
			switch strings.ToUpper(a) {
			case "CONDSTORE":
				csAsked, csNamed = true, true
			case "QRESYNC":
				csAsked, s.qresync = true, true
			}
		}
		if !d.Special(' ') {
			break
		}
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	if csAsked {
		s.enableCondstore()
	}
	// Courier re-prints the enabled list whatever was asked (§4.12).
	line := "ENABLED"
	if s.utf8 {
		line += " UTF8=ACCEPT"
	}
	if csNamed {
		line += " CONDSTORE"
	}
	if s.qresync {
		line += " QRESYNC"
	}
	s.c.W.Untagged(line)
	s.c.OK(tag, "Options enabled")
	return nil
}
