package imapserver

import (
	"errors"
	"strconv"
	"strings"

	"gocourier/internal/sortthread"
)

// sortInput builds the RFC 5256 inputs for the matching messages. Only
// the header block of each message is read (SORT and THREAD need no
// body); the size is computed only for a SIZE key.
func (s *Session) sortInput(idx []int, uid, needSize bool) []sortthread.Message {
	out := make([]sortthread.Message, 0, len(idx))
	for _, i := range idx {
		v := s.view[i]
		m := &msgCtx{s: s, uid: v.uid}
		sm := sortthread.Message{}
		if uid {
			sm.ID = v.uid
		} else {
			sm.ID = uint32(i + 1)
		}
		if h, err := m.header(); err == nil {
			sm.Date, sm.Subject, sm.From = h.Get("Date"), h.Get("Subject"), h.Get("From")
			sm.To, sm.Cc = h.Get("To"), h.Get("Cc")
			sm.MessageID, sm.InReplyTo, sm.References = h.Get("Message-ID"), h.Get("In-Reply-To"), h.Get("References")
		}
		if needSize {
			sm.Size = m.size()
		}
		sm.Arrival = s.msgDate(i)
		m.close()
		out = append(out, sm)
	}
	return out
}

// cmdSort: SORT (keys) charset criteria (RFC 5256 §3).
func (s *Session) cmdSort(tag string, uid bool) error {
	d := s.c.Dec
	if !d.SP() {
		return s.bad(tag)
	}
	var words []string
	if !d.List(func() bool {
		a, ok := d.Atom()
		words = append(words, a)
		return ok
	}) || !d.SP() {
		return s.bad(tag)
	}
	keys, err := sortthread.ParseKeys(words)
	if err != nil {
		if err2 := d.DiscardLine(); err2 != nil {
			return err2
		}
		s.c.W.Tagged(tag, "BAD", textError)
		return s.c.countError()
	}
	cs, ok := d.AString()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	p := &searchParser{s: s, charset: cs}
	s.checkCharset(p)
	prog, ok := p.keys()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	if p.err != nil || (s.utf8 && !strings.EqualFold(cs, "UTF-8")) {
		s.charsetError(tag, p)
		return nil
	}
	s.sync(uid)
	needSize := false
	for _, k := range keys {
		needSize = needSize || k.Kind == sortthread.Size
	}
	ids := sortthread.Sort(s.sortInput(s.runSearch(prog), uid, needSize), keys)
	var sb strings.Builder
	sb.WriteString("* SORT")
	for _, id := range ids {
		sb.WriteString(" " + strconv.FormatUint(uint64(id), 10))
	}
	sb.WriteString("\r\n")
	s.c.W.Raw(sb.String())
	s.c.OK(tag, "SORT done.")
	return nil
}

func (s *Session) checkCharset(p *searchParser) {
	cs := p.charset
	if !strings.EqualFold(cs, "UTF-8") && !strings.EqualFold(cs, "US-ASCII") {
		if _, err := msgsearchToUTF8(cs); err != nil {
			p.err = errBadCharset
		}
	}
}

// cmdThread: THREAD algorithm charset criteria (RFC 5256 §4).
func (s *Session) cmdThread(tag string, uid bool) error {
	d := s.c.Dec
	if !d.SP() {
		return s.bad(tag)
	}
	alg, ok := d.Atom()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	cs, ok := d.AString()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	p := &searchParser{s: s, charset: cs}
	s.checkCharset(p)
	prog, ok := p.keys()
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	if p.err != nil || (s.utf8 && !strings.EqualFold(cs, "UTF-8")) {
		s.charsetError(tag, p)
		return nil
	}
	s.sync(uid)
	threads, err := sortthread.Run(strings.ToUpper(alg), s.sortInput(s.runSearch(prog), uid, false))
	if errors.Is(err, sortthread.ErrBadAlgorithm) || err != nil {
		return s.c.GenericNo(tag)
	}
	s.c.W.Untagged(strings.TrimRight("THREAD "+sortthread.Format(threads), " "))
	s.c.OK(tag, "THREAD done.")
	return nil
}
