package imapserver

import ()

func (s *Session) cmdNoop(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.sync(true)
	s.c.OK(tag, "NOOP completed")
	return nil
}

func (s *Session) cmdCheck(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.sync(true)
	s.c.OK(tag, "CHECK completed")
	return nil
}
