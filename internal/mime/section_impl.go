package mime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrBadSection is returned by ParseSection and ParsePartial for syntax
// errors.
var ErrBadSection = errors.New("mime: bad section specification")

// maxSectionPart bounds one part number.
const maxSectionPart = 1 << 20

func parseSection(spec string) (Section, error) {
	var s Section
	rest := spec
	// Part numbers.
	for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 1 || n > maxSectionPart || len(s.Part) >= MaxDepth*2 {
			return Section{}, fmt.Errorf("%w: part number %q", ErrBadSection, rest[:i])
		}
		s.Part = append(s.Part, n)
		rest = rest[i:]
		if rest == "" {
			return s, nil
		}
		if rest[0] != '.' {
			return Section{}, fmt.Errorf("%w: %q", ErrBadSection, spec)
		}
		rest = rest[1:]
		if rest == "" {
			return Section{}, fmt.Errorf("%w: trailing dot", ErrBadSection)
		}
	}
	if rest == "" {
		return s, nil
	}
	word := rest
	if i := strings.IndexAny(rest, " ("); i >= 0 {
		word = rest[:i]
		rest = rest[i:]
	} else {
		rest = ""
	}
	switch strings.ToUpper(word) {
	case "HEADER", "TEXT":
		s.Specifier = strings.ToUpper(word)
	case "MIME":
		if len(s.Part) == 0 {
			return Section{}, fmt.Errorf("%w: MIME needs a part number", ErrBadSection)
		}
		s.Specifier = "MIME"
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		s.Specifier = strings.ToUpper(word)
		fields, err := parseFieldList(rest)
		if err != nil {
			return Section{}, err
		}
		s.Fields = fields
		return s, nil
	default:
		return Section{}, fmt.Errorf("%w: unknown specifier %q", ErrBadSection, word)
	}
	if rest != "" {
		return Section{}, fmt.Errorf("%w: junk after %s", ErrBadSection, word)
	}
	return s, nil
}

// parseFieldList parses ` (name "name" ...)`.
func parseFieldList(s string) ([]string, error) {
	s = strings.TrimLeft(s, " ")
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, fmt.Errorf("%w: field list %q", ErrBadSection, s)
	}
	s = s[1 : len(s)-1]
	var out []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				// A field name is printable US-ASCII (RFC 5322
				// §3.6.8); NUL, CR, LF and 8-bit bytes cannot be in a
				// quoted string either (RFC 3501 §9), and String()
				// would have to send them as a literal.
				if c := s[i]; c == 0 || c == '\r' || c == '\n' || c >= 0x80 {
					return nil, fmt.Errorf("%w: byte %#x in field name", ErrBadSection, c)
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("%w: unterminated quoted field name", ErrBadSection)
			}
			out = append(out, b.String())
			s = s[i+1:]
			continue
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		name := s[:i]
		for j := 0; j < len(name); j++ {
			if c := name[j]; c <= ' ' || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == '"' {
				return nil, fmt.Errorf("%w: field name %q", ErrBadSection, name)
			}
		}
		out = append(out, name)
		s = s[i:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty field list", ErrBadSection)
	}
	return out, nil
}

func parsePartial(s string) (int64, int64, error) {
	if len(s) < 5 || s[0] != '<' || s[len(s)-1] != '>' {
		return 0, 0, fmt.Errorf("%w: partial %q", ErrBadSection, s)
	}
	a, b, ok := strings.Cut(s[1:len(s)-1], ".")
	if !ok {
		return 0, 0, fmt.Errorf("%w: partial %q", ErrBadSection, s)
	}
	start, err1 := strconv.ParseUint(a, 10, 32)
	count, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil || count == 0 {
		return 0, 0, fmt.Errorf("%w: partial %q", ErrBadSection, s)
	}
	return int64(start), int64(count), nil
}

func sectionString(s Section) string {
	var b strings.Builder
	for i, n := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.Write(AppendString(nil, f))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func resolve(root *Part, path []int) *Part {
	cur := root
	msgCtx := true // cur is a message whose body may be addressed as part 1
	for _, n := range path {
		// A message/rfc822 *part* numbers the parts of its embedded
		// message. A message that is itself message/rfc822 (the root, or
		// an embedded one) first has its body as part 1 (RFC 3501
		// §6.4.5): BODY[1] of a top-level message/rfc822 is the whole
		// embedded message, BODY[1.1] its body (imaptest
		// fetch-body-message-rfc822).
		if cur.Message != nil && !msgCtx {
			cur, msgCtx = cur.Message, true
		}
		switch {
		case cur.Type == "multipart":
			if n < 1 || n > len(cur.Children) {
				return nil
			}
			cur, msgCtx = cur.Children[n-1], false
		case msgCtx && n == 1:
			msgCtx = false
		default:
			return nil
		}
	}
	return cur
}

func fetchSection(r io.ReaderAt, root *Part, s Section) (io.Reader, int64, error) {
	if root == nil {
		return bytes.NewReader(nil), 0, nil
	}
	var (
		start, end int64
		size       int64
		fields     bool
		target     *Part
	)
	var msg *Part // the message whose HEADER/TEXT is addressed
	if len(s.Part) == 0 {
		msg = root
	} else {
		target = resolve(root, s.Part)
		if target == nil {
			return bytes.NewReader(nil), 0, nil
		}
		msg = target.Message
	}
	switch s.Specifier {
	case "":
		if len(s.Part) == 0 {
			start, end, size = root.HeaderStart, root.BodyEnd, root.Size()
		} else {
			start, end, size = target.BodyStart, target.BodyEnd, target.BodySize
		}
	case "MIME":
		start, end, size = target.HeaderStart, target.BodyStart, target.HeaderSize
	case "HEADER":
		if msg == nil {
			return bytes.NewReader(nil), 0, nil
		}
		start, end, size = msg.HeaderStart, msg.BodyStart, msg.HeaderSize
	case "TEXT":
		if msg == nil {
			return bytes.NewReader(nil), 0, nil
		}
		start, end, size = msg.BodyStart, msg.BodyEnd, msg.BodySize
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if msg == nil {
			return bytes.NewReader(nil), 0, nil
		}
		fields = true
	default:
		return nil, 0, fmt.Errorf("%w: specifier %q", ErrBadSection, s.Specifier)
	}
	var rd io.Reader
	if fields {
		h, err := ReadHeader(io.NewSectionReader(r, msg.HeaderStart, msg.BodyStart-msg.HeaderStart))
		if err != nil && !errors.Is(err, ErrHeaderTooLarge) {
			return nil, 0, fmt.Errorf("mime: fetch %s: %w", s.String(), err)
		}
		buf := filterFields(h, s.Fields, s.Specifier == "HEADER.FIELDS.NOT")
		rd, size = bytes.NewReader(buf), int64(len(buf))
	} else {
		rd = newCRLFReader(io.NewSectionReader(r, start, end-start))
	}
	rd = &exactReader{r: rd, n: size}
	if s.Partial {
		if s.Start >= size {
			return bytes.NewReader(nil), 0, nil
		}
		n := size - s.Start
		if s.Count < n {
			n = s.Count
		}
		return &skipReader{r: rd, skip: s.Start, n: n}, n, nil
	}
	return rd, size, nil
}

// filterFields renders the header fields named (or not named, when not)
// in names, in header order, with CRLF line ends and the final blank
// line (RFC 3501 §6.4.5).
func filterFields(h Header, names []string, not bool) []byte {
	var b []byte
	for _, f := range h.Fields {
		found := false
		for _, n := range names {
			if equalFold(f.Name, n) {
				found = true
				break
			}
		}
		if found == not {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ':')
		b = append(b, strings.ReplaceAll(f.Value, "\n", "\r\n")...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// exactReader yields exactly n bytes: it truncates a longer source and
// pads a shorter one with spaces, so an announced literal size always
// holds even if the file changed under us.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	m, err := 0, error(nil)
	if e.r != nil {
		m, err = e.r.Read(p)
		if err == io.EOF {
			e.r = nil
			err = nil
		} else if err != nil {
			return m, err
		}
	}
	if m == 0 && e.r == nil {
		for i := range p {
			p[i] = ' '
		}
		m = len(p)
	}
	e.n -= int64(m)
	return m, err
}

// skipReader discards skip bytes first, then yields n bytes.
type skipReader struct {
	r    io.Reader
	skip int64
	n    int64
}

func (s *skipReader) Read(p []byte) (int, error) {
	if s.skip > 0 {
		if _, err := io.CopyN(io.Discard, s.r, s.skip); err != nil {
			return 0, fmt.Errorf("mime: partial skip: %w", err)
		}
		s.skip = 0
	}
	if s.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	m, err := s.r.Read(p)
	s.n -= int64(m)
	return m, err
}
