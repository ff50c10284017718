package imapwire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Writer buffers server responses; the session flushes once per response
// burst so that a reply leaves in as few segments as possible (the socket
// has TCP_NODELAY, so an unbuffered writer would send many tiny packets).
type Writer struct {
	w   *bufio.Writer
	cw  *countWriter
	err error
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer {
	cw := &countWriter{w: w}
	return &Writer{w: bufio.NewWriterSize(cw, 16<<10), cw: cw}
}

// BytesSent counts bytes handed to the connection.
func (w *Writer) BytesSent() int64 { return w.cw.n + int64(w.w.Buffered()) }

// Err is the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) rec(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// Flush sends buffered output.
func (w *Writer) Flush() error {
	w.rec(w.w.Flush())
	return w.err
}

// Raw writes s unchanged.
func (w *Writer) Raw(s string) { _, err := w.w.WriteString(s); w.rec(err) }

// RawBytes writes p unchanged.
func (w *Writer) RawBytes(p []byte) { _, err := w.w.Write(p); w.rec(err) }

// Byte writes one byte.
func (w *Writer) Byte(b byte) { w.rec(w.w.WriteByte(b)) }

// Line writes s followed by CRLF.
func (w *Writer) Line(s string) { w.Raw(s); w.Raw("\r\n") }

// Linef writes a formatted line.
func (w *Writer) Linef(format string, a ...any) { w.Line(fmt.Sprintf(format, a...)) }

// Untagged writes "* s".
func (w *Writer) Untagged(s string) { w.Raw("* "); w.Line(s) }

// Tagged writes "<tag> <status> <text>".
func (w *Writer) Tagged(tag, status, text string) {
	w.Raw(tag)
	w.Byte(' ')
	w.Raw(status)
	w.Byte(' ')
	w.Line(text)
}

// Continue writes a continuation request and flushes (the client waits).
func (w *Writer) Continue(text string) error {
	w.Raw("+ ")
	w.Line(text)
	return w.Flush()
}

// Number writes a decimal number.
func (w *Writer) Number(n uint64) { w.Raw(strconv.FormatUint(n, 10)) }

// Quoted writes s as a quoted string, or as a literal when it cannot be
// quoted (CR, LF, NUL or 8-bit when not allowed, or very long).
func (w *Writer) Quoted(s string) { w.Raw(QuoteOrLiteral(s)) }

// NString writes NIL for nil, else a string.
func (w *Writer) NString(s *string) {
	if s == nil {
		w.Raw("NIL")
		return
	}
	w.Quoted(*s)
}

// LiteralHeader writes "{n}\r\n"; the caller writes exactly n bytes.
func (w *Writer) LiteralHeader(n int64) {
	w.Byte('{')
	w.Number(uint64(n))
	w.Raw("}\r\n")
}

// Underlying gives the buffered writer for streaming literal data.
func (w *Writer) Underlying() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		n, err := w.w.Write(p)
		w.rec(err)
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// QuoteOrLiteral renders s as an IMAP string: quoted when possible,
// otherwise as a literal (RFC 3501 §4.3).
func QuoteOrLiteral(s string) string {
	needLit := len(s) > 1024
	for i := 0; i < len(s) && !needLit; i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			needLit = true
		}
	}
	if needLit {
		return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	sb.WriteByte('"')
	return sb.String()
}
