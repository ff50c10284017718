package mime

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// pos is a position in the stored message in all three measures.
type pos struct {
	raw, crlf, idx int64
}

// parser holds the state of one Parse call.
type parser struct {
	sc    *scanner
	parts int
	// hb is the header builder, reused from one entity to the next (a
	// header is used up before the entity's body is parsed) and from
	// one Parse to the next through builders.
	hb *headerBuilder
}

var builders = sync.Pool{New: func() any { return new(headerBuilder) }}

// term describes how an entity's body ended.
type term struct {
	level   int  // index into the boundary stack of the delimiter found; -1 at EOF
	closing bool // "--boundary--"
	at      line // the delimiter line (valid when level >= 0)
	before  line // the line before the delimiter (idx < at.idx when present)
}

func parse(r io.ReaderAt, size int64) (*Part, error) {
	if size < 0 {
		size = 0
	}
	p := &parser{sc: newScanner(r, size), hb: builders.Get().(*headerBuilder)}
	defer p.sc.release()
	defer func() {
		if p.hb.release() {
			builders.Put(p.hb)
		}
	}()
	root, _ := p.entity(nil, 0, false, true)
	if p.sc.err != nil {
		return nil, p.sc.err
	}
	return root, nil
}

// headerInteresting lists the fields Parse keeps.
var headerInteresting = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"content-type", "content-transfer-encoding", "content-id",
		"content-description", "content-disposition", "content-language",
		"content-location", "content-md5",
		"date", "subject", "from", "sender", "reply-to",
		"to", "cc", "bcc", "in-reply-to", "message-id"} {
		m[n] = n
	}
	return m
}()

// matchBoundary reports which boundary (innermost first) the line
// delimits, and whether it is a closing delimiter (RFC 2046 §5.1.1:
// "--" boundary ["--"] followed only by linear white space).
func matchBoundary(data []byte, bounds []string) (int, bool) {
	if len(bounds) == 0 || len(data) < 2 || data[0] != '-' || data[1] != '-' {
		return -1, false
	}
	rest := data[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if len(rest) < len(b) || string(rest[:len(b)]) != b {
			continue
		}
		tail := rest[len(b):]
		closing := false
		if len(tail) >= 2 && tail[0] == '-' && tail[1] == '-' {
			closing = true
			tail = tail[2:]
		}
		if len(bytes.TrimRight(tail, " \t\r")) == 0 {
			return i, closing
		}
	}
	return -1, false
}

func (p *parser) here() pos {
	return pos{p.sc.pos, p.sc.crlf, p.sc.idx}
}

// endAt returns where a body starting at start ends when delimiter line d
// follows: the newline before the delimiter belongs to the delimiter (RFC
// 2046 §5.1.1), so the body ends before it, never before start. It also
// returns the number of lines starting inside the body.
func endAt(start pos, d, before line) (pos, int64) {
	end := pos{d.off, d.crlf, d.idx}
	beforeStart := d.off
	if d.idx > 0 && before.end() == d.off {
		switch before.nl {
		case 1:
			end.raw, end.crlf = d.off-1, d.crlf-2
		case 2:
			end.raw, end.crlf = d.off-2, d.crlf-2
		}
		beforeStart = before.off
	}
	if end.raw <= start.raw {
		return start, 0
	}
	lines := d.idx - start.idx
	if beforeStart == end.raw {
		// The line before the delimiter was empty: it is only the
		// delimiter's newline.
		lines--
	}
	return end, lines
}

// setBody records the body extent of pt.
func setBody(pt *Part, start, end pos, lines int64) {
	pt.BodyStart = start.raw
	pt.BodyEnd = end.raw
	pt.BodySize = end.crlf - start.crlf
	pt.BodyLines = lines
}

// finish ends pt's body at t (a delimiter) or at EOF.
func (p *parser) finish(pt *Part, start pos, t term) {
	if t.level >= 0 {
		end, lines := endAt(start, t.at, t.before)
		setBody(pt, start, end, lines)
		return
	}
	end := p.here()
	setBody(pt, start, end, end.idx-start.idx)
}

// entity parses one header + body, stopping at a delimiter of bounds or
// EOF. digest selects the multipart/digest default type.
func (p *parser) entity(bounds []string, depth int, digest, isMsg bool) (*Part, term) {
	p.parts++
	hs := p.here()
	pt := &Part{HeaderStart: hs.raw}
	hb := p.hb
	hb.reset()
	t := term{level: -1}
	headerDone := false
	for !headerDone {
		l, ok := p.sc.next()
		if !ok {
			break
		}
		if lv, cl := matchBoundary(l.data, bounds); lv >= 0 {
			t = term{level: lv, closing: cl, at: l, before: p.sc.prev}
			break
		}
		if len(l.data) == 0 && l.nl > 0 {
			headerDone = true
			break
		}
		hb.add(l.data)
	}
	hdr := hb.header()
	pt.fill(hdr, digest)
	if isMsg {
		pt.Envelope = envelopeFromHeader(hdr)
	}
	if t.level >= 0 {
		// Header cut short by a delimiter: no body.
		end, hl := endAt(hs, t.at, t.before)
		pt.HeaderSize = end.crlf - hs.crlf
		pt.headerLines = hl
		setBody(pt, end, end, 0)
		p.fixMultipart(pt)
		return pt, t
	}
	bs := p.here()
	pt.HeaderSize = bs.crlf - hs.crlf
	canNest := depth < MaxDepth && p.parts < MaxParts
	boundary := ""
	if pt.Type == "multipart" {
		boundary = paramValue(pt.Params, "boundary")
	}
	switch {
	case pt.Type == "multipart" && boundary != "" && canNest:
		t = p.multipart(pt, bounds, boundary, depth, bs)
	case pt.Type == "message" && pt.Subtype == "rfc822" && canNest && identityEncoding(pt.Encoding):
		msg, mt := p.entity(bounds, depth+1, false, true)
		pt.Message = msg
		t = mt
		end := pos{msg.BodyEnd, bs.crlf + msg.HeaderSize + msg.BodySize, 0}
		setBody(pt, bs, end, msg.headerLines+msg.BodyLines)
	default:
		t = p.leaf(bounds)
		p.finish(pt, bs, t)
	}
	pt.headerLines = bs.idx - hs.idx
	p.fixMultipart(pt)
	return pt, t
}

// fastSkip enables scanner.skipPlain in leaf (tests compare both ways).
var fastSkip = true

// leaf skips a body up to a delimiter of bounds or EOF.
func (p *parser) leaf(bounds []string) term {
	for {
		if fastSkip {
			p.sc.skipPlain(len(bounds) > 0)
		}
		l, ok := p.sc.next()
		if !ok {
			return term{level: -1}
		}
		if lv, cl := matchBoundary(l.data, bounds); lv >= 0 {
			return term{level: lv, closing: cl, at: l, before: p.sc.prev}
		}
	}
}

// multipart parses the body of a multipart part (RFC 2046 §5.1): a
// preamble, body parts separated by delimiters, and an epilogue.
func (p *parser) multipart(pt *Part, bounds []string, boundary string, depth int, bs pos) term {
	nb := append(bounds[:len(bounds):len(bounds)], boundary)
	my := len(nb) - 1
	digest := pt.Subtype == "digest"
	// Preamble.
	for {
		l, ok := p.sc.next()
		if !ok {
			t := term{level: -1}
			p.finish(pt, bs, t)
			return t
		}
		lv, cl := matchBoundary(l.data, nb)
		if lv < 0 {
			continue
		}
		if lv < my {
			t := term{level: lv, closing: cl, at: l, before: p.sc.prev}
			p.finish(pt, bs, t)
			return t
		}
		if cl {
			return p.epilogue(pt, bounds, bs)
		}
		break
	}
	for {
		if p.parts >= MaxParts {
			// Too many parts: the rest of the body is opaque.
			t := p.leaf(bounds)
			p.finish(pt, bs, t)
			return t
		}
		child, ct := p.entity(nb, depth+1, digest, false)
		pt.Children = append(pt.Children, child)
		if ct.level == my {
			if ct.closing {
				return p.epilogue(pt, bounds, bs)
			}
			continue
		}
		p.finish(pt, bs, ct)
		return ct
	}
}

// epilogue skips the text after a closing delimiter.
func (p *parser) epilogue(pt *Part, bounds []string, bs pos) term {
	t := p.leaf(bounds)
	p.finish(pt, bs, t)
	return t
}

// fixMultipart gives a multipart without body parts one empty text/plain
// part, since BODYSTRUCTURE cannot express zero parts (RFC 3501 §9
// body-type-mpart).
func (p *parser) fixMultipart(pt *Part) {
	if pt.Type != "multipart" || len(pt.Children) > 0 {
		return
	}
	c := &Part{HeaderStart: pt.BodyEnd, BodyStart: pt.BodyEnd, BodyEnd: pt.BodyEnd}
	c.fill(Header{}, false)
	pt.Children = []*Part{c}
}

func identityEncoding(enc string) bool {
	switch strings.ToLower(enc) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

func paramValue(ps []Param, name string) string {
	for _, p := range ps {
		if equalFold(p.Name, name) {
			return p.Value
		}
	}
	return ""
}

// headerBuilder collects the interesting fields of a header block from
// its lines, bounded by MaxHeaderBytes. The values are gathered in one
// buffer and become substrings of one string (one allocation per header
// block instead of one per field); names are the canonical lower-case
// names of headerInteresting (no copy per field). A Part keeps
// substrings of that string (FETCH and SEARCH keep a tree for one
// message only).
type headerBuilder struct {
	fields []Field
	vals   [][2]int // value extents in buf, per field
	buf    []byte
	keep   bool // the current field is kept (continuations append)
	total  int
}

func (hb *headerBuilder) reset() {
	clear(hb.fields)
	hb.fields, hb.vals, hb.buf = hb.fields[:0], hb.vals[:0], hb.buf[:0]
	hb.keep, hb.total = false, 0
}

// release clears hb for the pool; false when it grew too big to keep.
func (hb *headerBuilder) release() bool {
	hb.reset()
	return cap(hb.buf) <= 64<<10 && cap(hb.fields) <= 256
}

// interestingName returns the canonical name when a field name is in
// headerInteresting, case-insensitively, without allocating: most
// fields of a header (Received, X-*, DKIM-*) are not, and lower-casing
// a copy of each name cost one allocation per header line.
func interestingName(name []byte) (string, bool) {
	const longest = len("content-transfer-encoding")
	if len(name) < 2 || len(name) > longest {
		return "", false
	}
	var lb [longest]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lb[i] = c
	}
	n, ok := headerInteresting[string(lb[:len(name)])]
	return n, ok
}

func (hb *headerBuilder) add(data []byte) {
	if hb.total+len(data) > MaxHeaderBytes {
		hb.keep = false
		return
	}
	if len(data) > 0 && (data[0] == ' ' || data[0] == '\t') {
		if hb.keep {
			hb.buf = append(hb.buf, '\n')
			hb.buf = append(hb.buf, data...)
			hb.vals[len(hb.vals)-1][1] = len(hb.buf)
			hb.total += len(data)
		}
		return
	}
	hb.keep = false
	i := bytes.IndexByte(data, ':')
	if i <= 0 {
		return
	}
	name, ok := interestingName(bytes.TrimRight(data[:i], " \t"))
	if !ok {
		return
	}
	start := len(hb.buf)
	hb.buf = append(hb.buf, data[i+1:]...)
	hb.fields = append(hb.fields, Field{Name: name})
	hb.vals = append(hb.vals, [2]int{start, len(hb.buf)})
	hb.keep = true
	hb.total += len(data)
}

// header returns the block's fields; they stay valid until the next
// reset (the values are strings of their own).
func (hb *headerBuilder) header() Header {
	all := string(hb.buf)
	for i, v := range hb.vals {
		hb.fields[i].Value = all[v[0]:v[1]]
	}
	return Header{Fields: hb.fields}
}
