package imapserver

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocourier/internal/mime"
)

// fetchItem is one requested FETCH data item (RFC 3501 §6.4.5).
type fetchItem struct {
	name    string // FLAGS, UID, ..., BODY[] (sections use name "BODY" or "BINARY")
	peek    bool
	section mime.Section
	secText string // the section as echoed, e.g. `HEADER.FIELDS ("From")`
	bracket bool   // BODY[...] rather than BODY
	partial bool
	start   int64
	count   int64
}

// CRLFSizer is an optional Mailbox interface giving RFC822.SIZE cheaply
// (from a cache) instead of reading the file.
type CRLFSizer interface {
	CRLFSize(uid uint32) (int64, error)
}

// InternalDater is an optional Mailbox interface: a store whose
// Messages leave InternalDate zero (to keep SELECT free of one stat per
// message) gives it here, on demand.
type InternalDater interface {
	InternalDate(uid uint32) (time.Time, error)
}

// msgDate returns view[i]'s INTERNALDATE, fetching it lazily.
func (s *Session) msgDate(i int) time.Time {
	v := &s.view[i]
	if v.date.IsZero() {
		if d, ok := s.mbox.(InternalDater); ok {
			if t, err := d.InternalDate(v.uid); err == nil {
				v.date = t
			}
		}
	}
	return v.date
}

func (s *Session) parseFetchItems() ([]fetchItem, bool) {
	d := s.c.Dec
	var items []fetchItem
	one := func() bool {
		a, ok := d.AtomStop("[<")
		if !ok {
			return false
		}
		a = strings.ToUpper(a)
		switch a {
		case "ALL":
			items = append(items, fetchItem{name: "FLAGS"}, fetchItem{name: "INTERNALDATE"}, fetchItem{name: "RFC822.SIZE"}, fetchItem{name: "ENVELOPE"})
			return true
		case "FAST":
			items = append(items, fetchItem{name: "FLAGS"}, fetchItem{name: "INTERNALDATE"}, fetchItem{name: "RFC822.SIZE"})
			return true
		case "FULL":
			items = append(items, fetchItem{name: "FLAGS"}, fetchItem{name: "INTERNALDATE"}, fetchItem{name: "RFC822.SIZE"}, fetchItem{name: "ENVELOPE"}, fetchItem{name: "BODY"})
			return true
		case "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "ENVELOPE", "BODYSTRUCTURE":
			items = append(items, fetchItem{name: a})
			return true
		case "BODY", "BODY.PEEK":
			if b, ok := d.Peek(); !ok || b != '[' {
				if a == "BODY.PEEK" {
					return d.Fail("BODY.PEEK needs a section")
				}
				items = append(items, fetchItem{name: "BODY"})
				return true
			}
			d.Special('[')
			spec, ok := s.readSection()
			if !ok {
				return false
			}
			sec, err := mime.ParseSection(spec)
			if err != nil {
				return d.Fail("bad section: %v", err)
			}
			it := fetchItem{name: "BODY", peek: a == "BODY.PEEK", section: sec, secText: sec.String(), bracket: true}
			if d.Special('<') {
				st, ok := d.Number64()
				if !ok || !d.ExpectSpecial('.') {
					return false
				}
				cnt, ok := d.Number64()
				if !ok || !d.ExpectSpecial('>') {
					return false
				}
				if cnt == 0 {
					return d.Fail("zero partial count")
				}
				it.partial, it.start, it.count = true, int64(st), int64(cnt)
			}
			items = append(items, it)
			return true
		}
		if a == "MODSEQ" && condstoreOffered(s.cfg.Getenv) { // RFC 7162 §3.1.4
			items = append(items, fetchItem{name: a})
			return true
		}
		// BINARY and unknown items (§4.5).
		return d.Fail("unknown fetch item %s", a)
	}
	if b, ok := d.Peek(); ok && b == '(' {
		if !d.List(one) {
			return nil, false
		}
	} else if !one() {
		return nil, false
	}
	return items, len(items) > 0
}

// readSection reads the text up to the closing ']' (quotes honoured).
func (s *Session) readSection() (string, bool) {
	d := s.c.Dec
	var sb strings.Builder
	inQ := false
	for sb.Len() < 4096 {
		b, ok := d.Peek()
		if !ok || b == '\n' {
			return "", d.Fail("unterminated section")
		}
		if !inQ && b == ']' {
			d.Special(']')
			return sb.String(), true
		}
		if b == '"' {
			q, ok := d.Quoted()
			if !ok {
				return "", false
			}
			sb.WriteString(strconv.Quote(q))
			continue
		}
		if b == '{' {
			lit, ok := d.Literal()
			if !ok {
				return "", false
			}
			sb.WriteString(strconv.Quote(lit))
			continue
		}
		d.Special(b)
		sb.WriteByte(b)
	}
	return "", d.Fail("section too long")
}

func (s *Session) cmdFetch(tag string, uid bool) error {
	d := s.c.Dec
	if !d.SP() {
		return s.bad(tag)
	}
	set, ok := d.SeqSet()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	items, ok := s.parseFetchItems()
	if !ok {
		return s.bad(tag)
	}
	fm, ok := s.parseFetchModifiers(uid)
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	items = s.fetchModSeqItems(items, fm)
	if uid || s.qresync { // RFC 7162 §3.2.4: UID in every FETCH with QRESYNC
		has := false
		for _, it := range items {
			has = has || it.name == "UID"
		}
		if !has {
			items = append([]fetchItem{{name: "UID"}}, items...)
		}
	}
	// A FETCH that sets \Seen through a FlagChanger adds it to the
	// message's flags in storage; without one it writes the view's flags
	// plus \Seen, so the view must be current (another session's change
	// would be undone). Otherwise it may look less often (passiveSyncGap).
	if _, fc := s.mbox.(FlagChanger); !fc && s.fetchSetsSeen(items) {
		s.sync(uid)
	} else {
		s.syncPassive(uid)
	}
	idx, invalid := s.seqIndexes(set, uid)
	s.reportInvalid(invalid)
	if fm.vanished {
		s.fetchVanished(set, fm.changedSince)
	}
	for _, i := range idx {
		if fm.changedSince != 0 && s.modseqOf(i) <= fm.changedSince {
			continue // RFC 7162 §3.1.4.1
		}
		if err := s.fetchOne(i, items, uid); err != nil {
			if s.c.W.Err() != nil {
				return s.c.W.Err()
			}
			s.c.W.Untagged("NO Cannot read message " + strconv.Itoa(i+1))
		}
	}
	s.c.OK(tag, "FETCH completed.")
	return nil
}

// msgCtx lazily opens and parses one message.
type msgCtx struct {
	s    *Session
	uid  uint32
	r    MessageReader
	root *mime.Part
}

func (m *msgCtx) open() error {
	if m.r != nil {
		return nil
	}
	r, err := m.s.mbox.OpenMessage(m.uid)
	if err != nil {
		return err
	}
	m.r = r
	return nil
}

func (m *msgCtx) tree() (*mime.Part, error) {
	if m.root != nil {
		return m.root, nil
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	root, err := mime.Parse(m.r, m.r.Size())
	if err != nil {
		return nil, err
	}
	m.root = root
	return root, nil
}

// header reads only the message's top-level header block (a few small
// reads), not the whole file as tree() does.
func (m *msgCtx) header() (mime.Header, error) {
	if m.root != nil {
		return m.root.Header(m.r)
	}
	if err := m.open(); err != nil {
		return mime.Header{}, err
	}
	// The header block ends at its blank line or at EOF; no size
	// needed (the reader may stat lazily).
	br := headerReaders.Get().(*bufio.Reader)
	br.Reset(io.NewSectionReader(m.r, 0, 1<<62))
	h, err := mime.ReadHeader(br)
	br.Reset(nil)
	headerReaders.Put(br)
	return h, err
}

// headerReaders recycles the read buffers of msgCtx.header (SORT,
// THREAD and header SEARCH read one header after another).
var headerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// size is RFC822.SIZE: from the store's cache when it has one, else
// from the parsed message; -1 when unreadable.
func (m *msgCtx) size() int64 {
	if sz, ok := m.s.mbox.(CRLFSizer); ok {
		if n, err := sz.CRLFSize(m.uid); err == nil {
			return n
		}
	}
	root, err := m.tree()
	if err != nil {
		return -1
	}
	return root.Size()
}

// itemBufs recycles the buffers ENVELOPE and BODYSTRUCTURE are
// rendered into (one per item per message before; FETCH 1:n
// (ENVELOPE BODYSTRUCTURE) made two fresh buffers per message).
var itemBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// rawItem writes label and the bytes render appends, through a pooled
// buffer (render may grow it; a buffer grown past 64 KiB by a huge
// structure is not kept).
func (m *msgCtx) rawItem(label string, render func([]byte) []byte) {
	bp := itemBufs.Get().(*[]byte)
	b := append((*bp)[:0], label...)
	b = render(b)
	m.s.c.W.RawBytes(b)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		itemBufs.Put(bp)
	}
}

func (m *msgCtx) close() {
	if m.r != nil {
		m.r.Close()
	}
}

// fetchSetsSeen reports whether items set \Seen on the messages they
// read (RFC 3501 §6.4.5: BODY[...] without .PEEK, RFC822, RFC822.TEXT;
// never in a read-only mailbox).
func (s *Session) fetchSetsSeen(items []fetchItem) bool {
	if s.readOnly {
		return false
	}
	for _, it := range items {
		if (it.name == "BODY" && it.bracket && !it.peek) || it.name == "RFC822" || it.name == "RFC822.TEXT" {
			return true
		}
	}
	return false
}

func (s *Session) fetchOne(i int, items []fetchItem, uidCmd bool) error {
	v := &s.view[i]
	m := &msgCtx{s: s, uid: v.uid}
	defer m.close()
	setSeen := s.fetchSetsSeen(items)
	size := int64(-1)
	// Resolve everything that can fail before writing, so that a
	// vanished file does not leave a half-written response.
	for _, it := range items {
		switch it.name {
		case "RFC822.SIZE":
			if sz, ok := s.mbox.(CRLFSizer); ok {
				if n, err := sz.CRLFSize(v.uid); err == nil {
					size = n
					continue
				}
			}
			root, err := m.tree()
			if err != nil {
				return err
			}
			size = root.Size()
		case "INTERNALDATE":
			// Unknown only for a file expunged elsewhere before its
			// date was read: left out like an unreadable body.
			if s.msgDate(i).IsZero() {
				return ErrNoSuchMessage
			}
		case "ENVELOPE", "BODYSTRUCTURE", "RFC822", "RFC822.HEADER", "RFC822.TEXT":
			if _, err := m.tree(); err != nil {
				return err
			}
		case "BODY":
			if _, err := m.tree(); err != nil {
				return err
			}
		}
	}
	w := s.c.W
	w.Raw("* " + strconv.Itoa(i+1) + " FETCH (")
	for k, it := range items {
		if k > 0 {
			w.Byte(' ')
		}
		switch it.name {
		case "FLAGS":
			w.Raw("FLAGS " + formatFlags(v.flags, v.recent))
		case "UID":
			w.Raw("UID " + strconv.FormatUint(uint64(v.uid), 10))
		case "MODSEQ":
			w.Raw("MODSEQ (" + strconv.FormatUint(s.sentModSeq(i), 10) + ")")
		case "INTERNALDATE":
			w.Raw(`INTERNALDATE "` + s.msgDate(i).Format("02-Jan-2006 15:04:05 -0700") + `"`)
		case "RFC822.SIZE":
			w.Raw("RFC822.SIZE " + strconv.FormatInt(size, 10))
		case "ENVELOPE":
			env := m.root.Envelope
			if env == nil {
				env = &mime.Envelope{}
			}
			m.rawItem("ENVELOPE ", env.AppendIMAP)
		case "BODYSTRUCTURE":
			m.rawItem("BODYSTRUCTURE ", func(b []byte) []byte { return m.root.AppendBodyStructure(b, true) })
		case "BODY":
			if !isBodySection(it) {
				m.rawItem("BODY ", func(b []byte) []byte { return m.root.AppendBodyStructure(b, false) })
				continue
			}
			label := "BODY[" + it.secText + "]"
			if it.partial {
				label += "<" + strconv.FormatInt(it.start, 10) + ">"
			}
			if err := s.writeSection(m, label, it.section, it); err != nil {
				return err
			}
		case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
			sec := mime.Section{}
			switch it.name {
			case "RFC822.HEADER":
				sec.Specifier = "HEADER"
			case "RFC822.TEXT":
				sec.Specifier = "TEXT"
			}
			if err := s.writeSection(m, it.name, sec, fetchItem{}); err != nil {
				return err
			}
		}
	}
	w.Raw(")\r\n")
	// Courier announces the \Seen change in a separate FETCH after the
	// data (§4.5); RFC 3501 §6.4.5 allows it.
	if setSeen && !hasFlag(v.flags, `\Seen`) {
		nf := append(append([]string(nil), v.flags...), `\Seen`)
		if nf, err := s.changeFlags(v.uid, v.flags, nf); err == nil {
			v.flags = nf
			line := "* " + strconv.Itoa(i+1) + " FETCH ("
			if uidCmd || s.qresync {
				line += "UID " + strconv.FormatUint(uint64(v.uid), 10) + " "
			}
			w.Raw(line + "FLAGS " + formatFlags(v.flags, v.recent) + s.modseqItem(i) + ")\r\n")
		}
	}
	return nil
}

func isBodySection(it fetchItem) bool { return it.name == "BODY" && it.bracket }

// writeSection streams a section as a literal, with a partial range.
func (s *Session) writeSection(m *msgCtx, label string, sec mime.Section, it fetchItem) error {
	// The response line is already started: from here on errors must
	// not break the syntax, so an unreadable section is sent as {0}.
	r, size, err := mime.FetchSection(m.r, m.root, sec)
	if err != nil {
		r, size = strings.NewReader(""), 0
	}
	start, count := int64(0), size
	if it.partial {
		start = it.start
		if start > size {
			start = size
		}
		count = size - start
		if it.count < count {
			count = it.count
		}
		if _, err := io.CopyN(io.Discard, r, start); err != nil {
			r, count = strings.NewReader(""), 0
		}
	}
	w := s.c.W
	w.Raw(label + " ")
	w.LiteralHeader(count)
	n, err := io.CopyN(w.Underlying(), r, count)
	if sec.Specifier == "HEADER" || sec.Specifier == "HEADER.FIELDS" || sec.Specifier == "HEADER.FIELDS.NOT" || sec.Specifier == "MIME" {
		s.headersSent += n
	} else {
		s.bodySent += n
	}
	if err != nil {
		// The literal length is promised: pad so the stream stays in sync.
		for ; n < count; n++ {
			w.Byte(' ')
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
	return nil
}
