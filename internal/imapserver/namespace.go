package imapserver

import ()

func (s *Session) cmdNamespace(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	s.c.W.Untagged(`NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")("shared." "."))`)
	s.c.OK(tag, "NAMESPACE completed.")
	return nil
}
