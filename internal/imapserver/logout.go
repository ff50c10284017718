package imapserver

import ()

func (s *Session) cmdLogout(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.c.W.Untagged("BYE " + TextShutdown)
	s.c.OK(tag, "LOGOUT completed")
	return errLogout
}
