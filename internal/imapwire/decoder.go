// Package imapwire reads IMAP client commands and writes server responses
// (RFC 3501 §9 grammar, RFC 7888 LITERAL+). It knows nothing of mailboxes.
//
// Invariants:
//   - The Decoder streams: it never holds more than one token in memory,
//     bounded by Limits. Synchronising literals get a continuation only when
//     the caller asks for the literal (so a command that fails to parse never
//     requests one, as Courier does for APPEND, reference §4.4).
//   - Errors are sticky: after the first error every method returns false and
//     Err reports the first error; DiscardLine then skips to the end of the
//     current command line (never further, RFC 3501 §7.1.3 BAD semantics;
//     Courier's swallowing of the next line is deliberately not copied, §13.1).
//   - A bare LF ends a line like CRLF; a CR before LF is accepted (reference §5).
package imapwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bound what one command may make us hold in memory.
type Limits struct {
	MaxToken     int   // atom or quoted string length (Courier: 8192/16384)
	MaxLine      int   // non-literal bytes in one command
	MaxLiteral   int64 // literal held in memory (outside APPEND)
	MaxLiterals  int   // literals per command
	MaxNesting   int   // parenthesis depth
	MaxAppend    int64 // streamed APPEND literal
	MaxSeqRanges int   // ranges in one sequence set
}

// DefaultLimits are generous enough for every client seen in the
// transcripts (a 100,000-byte FETCH line, reference §5) yet bounded.
var DefaultLimits = Limits{
	MaxToken:     16384,
	MaxLine:      1 << 20,
	MaxLiteral:   64 << 10,
	MaxLiterals:  64,
	MaxNesting:   64,
	MaxAppend:    200 << 20,
	MaxSeqRanges: 100000,
}

// Error kinds. ErrFatal errors end the session (the stream is out of sync).
var (
	ErrSyntax  = errors.New("syntax error")
	ErrTooLong = errors.New("IMAP command too long")
	ErrLiteral = errors.New("literal too large")
	ErrEOF     = io.EOF
)

// FatalError wraps errors after which the input can no longer be trusted.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return "fatal: " + e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// LimitError is a fatal limit violation that Courier reports with
// "* BYE [ALERT] Fatal error: <What>: " before closing (reference §5).
type LimitError struct{ What string }

func (e *LimitError) Error() string { return e.What }

// Decoder reads one command at a time from a buffered stream.
type Decoder struct {
	r        *bufio.Reader
	lim      Limits
	cont     func() error // sends "+ OK" before a synchronising literal
	err      error
	eol      bool // the line terminator of the current command has been read
	lineUsed int
	literals int
	depth    int
	// BytesRead counts every byte consumed (for the LOGOUT log line).
	BytesRead int64
}

// NewDecoder makes a decoder; cont is called before a synchronising
// literal is read and must write and flush a continuation request.
func NewDecoder(r *bufio.Reader, lim Limits, cont func() error) *Decoder {
	return &Decoder{r: r, lim: lim, cont: cont}
}

// Limits returns the limits in force.
func (d *Decoder) Limits() Limits { return d.lim }

// SetContinuation replaces the continuation writer.
func (d *Decoder) SetContinuation(f func() error) { d.cont = f }

// Begin starts a new command line.
func (d *Decoder) Begin() {
	d.err = nil
	d.eol = false
	d.lineUsed = 0
	d.literals = 0
	d.depth = 0
}

// Err is the first error since Begin.
func (d *Decoder) Err() error { return d.err }

// Fatal reports whether the error requires closing the connection.
func (d *Decoder) Fatal() bool {
	var fe *FatalError
	return errors.As(d.err, &fe) || errors.Is(d.err, io.EOF) || errors.Is(d.err, io.ErrUnexpectedEOF)
}

// AtEOL reports whether the line terminator was consumed.
func (d *Decoder) AtEOL() bool { return d.eol }

func (d *Decoder) fail(err error) bool {
	if d.err == nil {
		d.err = err
	}
	return false
}

func (d *Decoder) failf(format string, a ...any) bool {
	return d.fail(fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, a...)...))
}

func (d *Decoder) readByte() (byte, bool) {
	b, err := d.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, d.fail(io.EOF)
		}
		return 0, d.fail(&FatalError{err})
	}
	d.BytesRead++
	d.lineUsed++
	if d.lineUsed > d.lim.MaxLine {
		return 0, d.fail(&FatalError{&LimitError{"IMAP command too long"}})
	}
	return b, true
}

func (d *Decoder) unread() {
	_ = d.r.UnreadByte()
	d.BytesRead--
	d.lineUsed--
}

// peek returns the next byte without consuming it, skipping a CR that is
// followed by LF so callers see CRLF and LF alike.
func (d *Decoder) peek() (byte, bool) {
	if d.err != nil || d.eol {
		return 0, false
	}
	buf, err := d.r.Peek(1)
	if err != nil {
		if err == io.EOF {
			return 0, d.fail(io.EOF)
		}
		return 0, d.fail(&FatalError{err})
	}
	if buf[0] == '\r' {
		if b2, err := d.r.Peek(2); err == nil && b2[1] == '\n' {
			return '\n', true
		}
	}
	return buf[0], true
}

// Peek exposes the next byte (LF for end of line) for grammar decisions.
func (d *Decoder) Peek() (byte, bool) { return d.peek() }

// Special consumes b if it is next.
func (d *Decoder) Special(b byte) bool {
	c, ok := d.peek()
	if !ok || c != b {
		return false
	}
	if c == '\n' {
		return d.CRLF()
	}
	d.readByte()
	return true
}

// ExpectSpecial consumes b or fails.
func (d *Decoder) ExpectSpecial(b byte) bool {
	if d.err != nil {
		return false
	}
	if !d.Special(b) {
		return d.failf("expected %q", b)
	}
	return true
}

// SP consumes one space.
func (d *Decoder) SP() bool { return d.ExpectSpecial(' ') }

// CRLF consumes the line terminator (CRLF or bare LF).
func (d *Decoder) CRLF() bool {
	if d.err != nil {
		return false
	}
	if d.eol {
		return d.failf("line already ended")
	}
	b, ok := d.readByte()
	if !ok {
		return false
	}
	if b == '\r' {
		b, ok = d.readByte()
		if !ok {
			return false
		}
	}
	if b != '\n' {
		d.unread()
		return d.failf("expected end of line")
	}
	d.eol = true
	return true
}

// DiscardLine skips the rest of the current line. A synchronising literal
// announced at the end of the skipped text is not requested (no
// continuation), so its bytes are read as further lines; RFC 3501 §7.5
// leaves the client to notice the tagged reply.
func (d *Decoder) DiscardLine() error {
	if d.eol {
		return nil
	}
	if d.Fatal() {
		return d.err
	}
	for n := 0; ; n++ {
		b, err := d.r.ReadByte()
		if err != nil {
			return err
		}
		d.BytesRead++
		if b == '\n' {
			d.eol = true
			return nil
		}
	}
}

func isAtomChar(b byte) bool {
	switch b {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return b > 0x20 && b < 0x7f
}

// readWhile reads bytes satisfying f (at least one).
func (d *Decoder) readWhile(f func(byte) bool, what string) (string, bool) {
	var sb strings.Builder
	for {
		c, ok := d.peek()
		if !ok {
			if d.err != nil {
				return "", false
			}
			break
		}
		if !f(c) || c == '\n' || c == '\r' {
			break
		}
		d.readByte()
		if sb.Len() >= d.lim.MaxToken {
			return "", d.fail(&FatalError{&LimitError{"max " + what + " size too small"}})
		}
		sb.WriteByte(c)
	}
	if sb.Len() == 0 {
		return "", d.failf("expected %s", what)
	}
	return sb.String(), true
}

// Atom reads an atom (RFC 3501 §9 atom: ATOM-CHAR+). ']' is allowed
// (resp-specials are ok in atoms except inside section specs).
func (d *Decoder) Atom() (string, bool) {
	return d.readWhile(isAtomChar, "atom")
}

// AtomBracket reads an atom that may contain ']' and '[' (tags, fetch items
// are read with FetchAtt instead).
func (d *Decoder) AtomBracket() (string, bool) {
	return d.readWhile(func(b byte) bool { return isAtomChar(b) || b == ']' }, "atom")
}

// Tag reads a command tag. Courier accepts any atom, including '+' and
// '*' (reference §5); '*' is not an ATOM-CHAR so it is allowed here
// explicitly.
func (d *Decoder) Tag() (string, bool) {
	return d.readWhile(func(b byte) bool { return isAtomChar(b) || b == '*' || b == ']' }, "tag")
}

// Number reads a number (RFC 3501 number: 32-bit unsigned).
func (d *Decoder) Number() (uint32, bool) {
	s, ok := d.readWhile(func(b byte) bool { return b >= '0' && b <= '9' }, "number")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, d.failf("number out of range")
	}
	return uint32(n), true
}

// Number64 reads a number64.
func (d *Decoder) Number64() (uint64, bool) {
	s, ok := d.readWhile(func(b byte) bool { return b >= '0' && b <= '9' }, "number")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, d.failf("number out of range")
	}
	return n, true
}

// Quoted reads a quoted string. CR/LF inside is an error; 8-bit content
// must be UTF-8 (RFC 6855 / Courier 11-G).
func (d *Decoder) Quoted() (string, bool) {
	if !d.ExpectSpecial('"') {
		return "", false
	}
	var sb strings.Builder
	for {
		b, ok := d.readByte()
		if !ok {
			return "", false
		}
		switch b {
		case '"':
			s := sb.String()
			if !utf8.ValidString(s) {
				return "", d.failf("quoted string is not UTF-8")
			}
			return s, true
		case '\\':
			b, ok = d.readByte()
			if !ok {
				return "", false
			}
			if b != '"' && b != '\\' {
				return "", d.failf("bad quoted escape")
			}
		case '\r', '\n':
			d.unread()
			return "", d.failf("end of line in quoted string")
		}
		if sb.Len() >= d.lim.MaxToken {
			return "", d.fail(ErrTooLong)
		}
		sb.WriteByte(b)
	}
}

// LiteralHeader reads `{n}`, `{n+}` or `~{n}` and the following line end,
// returning the size and whether the client waits for a continuation.
// The caller must then read exactly n bytes (ReadLiteral / LiteralReader).
func (d *Decoder) LiteralHeader() (n int64, sync bool, ok bool) {
	d.Special('~') // literal8 (RFC 3516) parsed like a literal
	if !d.ExpectSpecial('{') {
		return 0, false, false
	}
	v, ok := d.Number64()
	if !ok {
		return 0, false, false
	}
	sync = !d.Special('+')
	if !d.ExpectSpecial('}') {
		return 0, false, false
	}
	// The CRLF after the literal header belongs to the literal syntax,
	// not to the end of the command.
	b, ok := d.readByte()
	if ok && b == '\r' {
		b, ok = d.readByte()
	}
	if !ok {
		return 0, false, false
	}
	if b != '\n' {
		d.unread()
		return 0, false, d.failf("literal header not followed by CRLF")
	}
	d.lineUsed = 0 // the line limit applies per physical line
	d.literals++
	if d.literals > d.lim.MaxLiterals {
		return 0, false, d.fail(&FatalError{&LimitError{"too many literals"}})
	}
	return int64(v), sync, true
}

// LiteralBody returns a reader for a literal whose header has been read;
// it sends the continuation first for a synchronising literal. The caller
// must consume it fully (Drain does).
func (d *Decoder) LiteralBody(n int64, sync bool) (io.Reader, bool) {
	if d.err != nil {
		return nil, false
	}
	if sync && d.cont != nil {
		if err := d.cont(); err != nil {
			return nil, d.fail(&FatalError{err})
		}
	}
	return &countReader{d: d, r: io.LimitReader(d.r, n)}, true
}

type countReader struct {
	d *Decoder
	r io.Reader
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.d.BytesRead += int64(n)
	return n, err
}

// RejectLiteral handles a literal we will not accept. For a synchronising
// literal no continuation is sent, so the client never sends the data
// (RFC 3501 §7.5); for a non-synchronising one (RFC 7888 §4) the data is
// already on its way and must be read and thrown away.
func (d *Decoder) RejectLiteral(n int64, sync bool, err error) bool {
	if !sync {
		if _, e := io.CopyN(io.Discard, d.r, n); e != nil {
			return d.fail(&FatalError{e})
		}
		d.BytesRead += n
	}
	if sync {
		d.eol = true // the client waits for our reply; the line is over
	}
	return d.fail(err)
}

// Literal reads a small literal into memory.
func (d *Decoder) Literal() (string, bool) {
	n, sync, ok := d.LiteralHeader()
	if !ok {
		return "", false
	}
	if n > d.lim.MaxLiteral {
		return "", d.RejectLiteral(n, sync, ErrLiteral)
	}
	r, ok := d.LiteralBody(n, sync)
	if !ok {
		return "", false
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", d.fail(&FatalError{err})
	}
	return string(buf), true
}

// String reads a quoted string or a literal (RFC 3501 string).
func (d *Decoder) String() (string, bool) {
	c, ok := d.peek()
	if !ok {
		return "", d.failf("expected string")
	}
	switch {
	case c == '"':
		return d.Quoted()
	case c == '{' || d.literal8Next():
		return d.Literal()
	}
	return "", d.failf("expected string")
}

// literal8Next reports whether "~{" (an RFC 3516 literal8) comes next. A
// '~' alone is an ordinary ATOM-CHAR (RFC 3501 §9): `SELECT ~foo` names
// a mailbox (imaptest "atoms").
func (d *Decoder) literal8Next() bool {
	if d.err != nil || d.eol {
		return false
	}
	b, err := d.r.Peek(2)
	return err == nil && b[0] == '~' && b[1] == '{'
}

// AString reads an astring (atom with ']' allowed, or a string).
func (d *Decoder) AString() (string, bool) {
	c, ok := d.peek()
	if !ok {
		return "", d.failf("expected astring")
	}
	if c == '"' || c == '{' || d.literal8Next() {
		return d.String()
	}
	return d.AtomBracket()
}

// NString reads a string or NIL; nil reports NIL.
func (d *Decoder) NString() (s string, isNil bool, ok bool) {
	c, ok := d.peek()
	if !ok {
		return "", false, d.failf("expected nstring")
	}
	if c == '"' || c == '{' || d.literal8Next() {
		s, ok = d.String()
		return s, false, ok
	}
	a, ok := d.Atom()
	if ok && strings.EqualFold(a, "NIL") {
		return "", true, true
	}
	return "", false, d.failf("expected nstring")
}

// ListMailbox reads a list-mailbox (RFC 3501: atom chars plus % and *).
func (d *Decoder) ListMailbox() (string, bool) {
	c, ok := d.peek()
	if !ok {
		return "", d.failf("expected list-mailbox")
	}
	if c == '"' || c == '{' || d.literal8Next() {
		return d.String()
	}
	return d.readWhile(func(b byte) bool { return isAtomChar(b) || b == '%' || b == '*' || b == ']' }, "list-mailbox")
}

// List parses "(" [item *(SP item)] ")", calling item for each element.
func (d *Decoder) List(item func() bool) bool {
	if !d.ExpectSpecial('(') {
		return false
	}
	return d.ListRest(item)
}

// ListRest parses the remainder of a list after "(".
func (d *Decoder) ListRest(item func() bool) bool {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > d.lim.MaxNesting {
		return d.fail(ErrTooLong)
	}
	if d.Special(')') {
		return true
	}
	for {
		if !item() {
			return d.failf("bad list item")
		}
		if d.Special(')') {
			return true
		}
		if !d.SP() {
			return false
		}
	}
}

// Nest counts a nesting level for recursive grammars (SEARCH keys).
func (d *Decoder) Nest() bool {
	d.depth++
	if d.depth > d.lim.MaxNesting {
		return d.fail(ErrTooLong)
	}
	return true
}

// Unnest undoes Nest.
func (d *Decoder) Unnest() { d.depth-- }

// Fail records a grammar error found by a caller.
func (d *Decoder) Fail(format string, a ...any) bool { return d.failf(format, a...) }

// AtomStop reads an atom that ends before any byte in stop (FETCH
// attributes stop at '[' and '<', RFC 3501 §9 fetch-att).
func (d *Decoder) AtomStop(stop string) (string, bool) {
	return d.readWhile(func(b byte) bool { return isAtomChar(b) && strings.IndexByte(stop, b) < 0 }, "atom")
}
