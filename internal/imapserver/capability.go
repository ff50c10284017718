package imapserver

import ()

func (s *Session) cmdCapability(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.c.W.Untagged("CAPABILITY " + Capabilities(s.cfg.Getenv, true))
	s.c.OK(tag, "CAPABILITY completed")
	return nil
}
