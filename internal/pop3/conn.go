// Package pop3 implements the POP3 protocol (RFC 1939, RFC 2449 CAPA and
// response codes, RFC 5034 AUTH, RFC 6856 UTF8) as Courier's pop3login and
// pop3d speak it (reference §6), without touching any file: the maildrop is
// reached through the small Maildrop interface, and authentication through
// a callback.
//
// Invariants:
//   - Input lines are capped at MaxLine bytes. A longer line is read to its
//     end and discarded and gets "-ERR", the session goes on; memory stays
//     bounded whatever the client sends.
//   - Every reply is written whole into a buffered writer and flushed when
//     the client has no further pipelined command waiting (RFC 2449 §6.6
//     PIPELINING), so a burst of replies leaves in few segments and no
//     reply waits on a delayed ACK.
//   - Message text is streamed from the maildrop: bare LF becomes CRLF,
//     lines starting with "." are dot-stuffed (RFC 1939 §3), and the
//     message never sits whole in memory.
//   - Deletions are only requested from the maildrop after QUIT in the
//     TRANSACTION state (RFC 1939 §6, UPDATE state). A session that ends in
//     any other way deletes nothing.
//   - Reply codes and formats that clients parse are Courier's; the free
//     text after +OK/-ERR is ours where Courier's was odd (reference §13.13).
package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gocourier/internal/exactread"
)

// MaxLine is the longest command line accepted, CRLF included. RFC 2449 §4
// allows 255 octets, but Courier accepts a 2000-byte USER (transcript 20 G)
// and SASL initial responses can be long.
const MaxLine = 8192

// ErrLineTooLong is returned by ReadLine for a line longer than MaxLine.
// The whole line has been consumed.
var ErrLineTooLong = errors.New("pop3: command line too long")

// deadliner is the part of net.Conn (and *os.File) used for timeouts.
type deadliner interface {
	SetReadDeadline(t time.Time) error
}

// Conn is one client connection: a capped line reader, a buffered writer,
// and byte counters for the LOGOUT log line (reference §1.4 rcvd=, sent=).
type Conn struct {
	rd  *bufio.Reader
	raw io.Reader
	w   *bufio.Writer
	cw  *countWriter
	dl  deadliner

	Rcvd int64 // bytes of command lines read
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

// NewConn wraps r and w. If exact is true, the reader never consumes input
// beyond the line it returns (for a process that will exec another one on
// the same socket). If r implements SetReadDeadline, timeouts are applied.
func NewConn(r io.Reader, w io.Writer, exact bool) *Conn {
	c := &Conn{raw: r}
	src := r
	if exact {
		// The login stage: whatever the client pipelined after PASS
		// must still be in the socket when pop3d is exec'd.
		src = exactread.New(r)
	}
	c.rd = bufio.NewReaderSize(src, MaxLine)
	c.cw = &countWriter{w: w}
	c.w = bufio.NewWriterSize(c.cw, 64*1024)
	if d, ok := r.(deadliner); ok {
		c.dl = d
	}
	return c
}

// Sent is the number of bytes written to the client so far, buffered ones
// included.
func (c *Conn) Sent() int64 { return c.cw.n + int64(c.w.Buffered()) }

// SetTimeout arms a read deadline d from now; d <= 0 removes it.
func (c *Conn) SetTimeout(d time.Duration) {
	if c.dl == nil {
		return
	}
	if d <= 0 {
		_ = c.dl.SetReadDeadline(time.Time{})
		return
	}
	_ = c.dl.SetReadDeadline(time.Now().Add(d))
}

// ReadLine returns the next line without its CRLF (or bare LF). Over-long
// lines are consumed entirely and reported as ErrLineTooLong. Before it
// blocks on the network it flushes pending replies.
func (c *Conn) ReadLine() (string, error) {
	if c.rd.Buffered() == 0 || !bytes.Contains(peekAll(c.rd), []byte{'\n'}) {
		if err := c.Flush(); err != nil {
			return "", err
		}
	}
	tooLong := false
	for {
		b, err := c.rd.ReadSlice('\n')
		c.Rcvd += int64(len(b))
		if err == bufio.ErrBufferFull {
			tooLong = true
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 && !tooLong {
				// A last line without LF still counts as a command.
				return string(trimEOL(b)), nil
			}
			return "", err
		}
		if tooLong {
			return "", ErrLineTooLong
		}
		return string(trimEOL(b)), nil
	}
}

func peekAll(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return b
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// Flush sends buffered replies.
func (c *Conn) Flush() error {
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("pop3: write: %w", err)
	}
	return nil
}

// OK writes "+OK text".
func (c *Conn) OK(text string) {
	if text == "" {
		c.w.WriteString("+OK\r\n")
		return
	}
	c.w.WriteString("+OK ")
	c.w.WriteString(text)
	c.w.WriteString("\r\n")
}

// Err writes "-ERR text". text may start with an RFC 2449 response code
// such as "[IN-USE] ".
func (c *Conn) Err(text string) {
	c.w.WriteString("-ERR ")
	c.w.WriteString(text)
	c.w.WriteString("\r\n")
}

// Line writes one raw line of a multi-line response; the caller makes
// sure it does not start with '.'.
func (c *Conn) Line(s string) {
	c.w.WriteString(s)
	c.w.WriteString("\r\n")
}

// End terminates a multi-line response.
func (c *Conn) End() { c.w.WriteString(".\r\n") }

// Writer exposes the buffered writer for streamed multi-line data.
func (c *Conn) Writer() *bufio.Writer { return c.w }
