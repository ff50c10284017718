package imapserver

import (
	"errors"
	"strconv"
	"strings"

	"gocourier/internal/sortthread"
)

// sortCacheMax bounds the header text a session keeps for SORT and
// THREAD (about 20,000 typical messages).
const sortCacheMax = 8 << 20

// sortCache keeps, per UID of the selected mailbox, the header fields
// SORT and THREAD read, so that a THREAD after a SORT (or a re-sort, as
// webmail clients do) opens no file. A message's content never changes
// under its UID (RFC 3501 §2.3.1.1; maildir files are immutable), so an
// entry cannot go stale, and UIDs are never reused. Dropped with the
// mailbox (closeMailbox) and bounded by sortCacheMax.
type sortCache struct {
	mbox  Mailbox
	m     map[uint32]sortthread.Message
	bytes int
}

// sortInput builds the RFC 5256 inputs for the matching messages. Only
// the header block of each message is read (SORT and THREAD need no
// body); the size is computed only for a SIZE key.
func (s *Session) sortInput(idx []int, uid, needSize bool) []sortthread.Message {
	if s.sortc == nil || s.sortc.mbox != s.mbox {
		s.sortc = &sortCache{mbox: s.mbox, m: map[uint32]sortthread.Message{}}
	}
	sc := s.sortc
	out := make([]sortthread.Message, 0, len(idx))
	for _, i := range idx {
		v := s.view[i]
		sm, cached := sc.m[v.uid]
		if !cached || (needSize && sm.Size < 0) {
			m := &msgCtx{s: s, uid: v.uid}
			if !cached {
				sm = sortthread.Message{Size: -1}
				h, err := m.header()
				if err == nil {
					sm.Date, sm.Subject, sm.From = h.Get("Date"), h.Get("Subject"), h.Get("From")
					sm.To, sm.Cc = h.Get("To"), h.Get("Cc")
					sm.MessageID, sm.InReplyTo, sm.References = h.Get("Message-ID"), h.Get("In-Reply-To"), h.Get("References")
				}
				// Unreadable files are not cached: they may be back.
				cached = err == nil
			}
			if needSize {
				sm.Size = m.size()
			}
			m.close()
			if n := len(sm.Date) + len(sm.Subject) + len(sm.From) + len(sm.To) + len(sm.Cc) +
				len(sm.MessageID) + len(sm.InReplyTo) + len(sm.References) + 160; cached && sc.bytes+n <= sortCacheMax {
				if _, had := sc.m[v.uid]; !had {
					sc.bytes += n
				}
				sc.m[v.uid] = sm
			}
		}
		if uid {
			sm.ID = v.uid
		} else {
			sm.ID = uint32(i + 1)
		}
		sm.Arrival = s.msgDate(i)
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
	if p.modseq {
		// A MODSEQ search key enables CONDSTORE in SORT and THREAD
		// too (RFC 7162 §3.1: "SEARCH MODSEQ" covers every command
		// with search criteria).
		s.enableCondstore()
	}
	s.syncPassive(uid)
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
	if p.modseq {
		// A MODSEQ search key enables CONDSTORE in SORT and THREAD
		// too (RFC 7162 §3.1: "SEARCH MODSEQ" covers every command
		// with search criteria).
		s.enableCondstore()
	}
	s.syncPassive(uid)
	threads, err := sortthread.Run(strings.ToUpper(alg), s.sortInput(s.runSearch(prog), uid, false))
	if errors.Is(err, sortthread.ErrBadAlgorithm) || err != nil {
		return s.c.GenericNo(tag)
	}
	s.c.W.Untagged(strings.TrimRight("THREAD "+sortthread.Format(threads), " "))
	s.c.OK(tag, "THREAD done.")
	return nil
}
