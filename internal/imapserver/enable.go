package imapserver

import (
	"strings"
)

func (s *Session) cmdEnable(tag string, _ bool) error {
	d := s.c.Dec
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
		if !d.Special(' ') {
			break
		}
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	// Courier re-prints the enabled list whatever was asked (§4.12).
	if s.utf8 {
		s.c.W.Untagged("ENABLED UTF8=ACCEPT")
	} else {
		s.c.W.Untagged("ENABLED")
	}
	s.c.OK(tag, "Options enabled")
	return nil
}
