package imapserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gocourier/internal/imapwire"
)

// Courier's fixed texts (reference §3-§5).
const (
	textError   = "Error in IMAP command received by server."
	textTooMany = "[ALERT] Fatal error: TOO MANY CONSECUTIVE PROTOCOL VIOLATIONS: "
	// TextShutdown is the text of LOGOUT's untagged BYE, before and
	// after login alike (exported for internal/imappreauth).
	TextShutdown   = "Courier-IMAP server shutting down"
	textInactive   = "Disconnected for inactivity."
	maxErrorsInRow = 10
)

// Deadliner is implemented by connections that support read deadlines.
type Deadliner interface {
	SetReadDeadline(t time.Time) error
}

// Conn is the wire side shared by the pre-auth and post-auth stages.
type Conn struct {
	br        *bufio.Reader
	Dec       *imapwire.Decoder
	W         *imapwire.Writer
	errsInRow int
	timer     *time.Timer
	out       io.Writer
}

// NewConn wraps a connection (r and w may be the same object).
func NewConn(r io.Reader, w io.Writer, lim imapwire.Limits) *Conn {
	// 4 KiB of read buffer is plenty: the decoder peeks at most 2 bytes,
	// line reads (IDLE, AUTHENTICATE) go by fragments, and literals larger
	// than the buffer are read straight into the caller's buffer. Every
	// idle session keeps it (bench/session).
	c := &Conn{br: bufio.NewReaderSize(r, 4<<10), W: imapwire.NewWriter(w), out: w}
	c.Dec = imapwire.NewDecoder(c.br, lim, func() error { return c.W.Continue("OK") })
	return c
}

// SetTimeout arms an inactivity timeout before reading a command. If the
// input supports deadlines they are used, otherwise onExpire is called by
// a timer (it must close the input so the read fails).
func (c *Conn) SetTimeout(r io.Reader, d time.Duration, onExpire func()) {
	if dl, ok := r.(Deadliner); ok {
		if dl.SetReadDeadline(time.Now().Add(d)) == nil {
			return
		}
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if onExpire != nil {
		c.timer = time.AfterFunc(d, onExpire)
	}
}

// StopTimer cancels a timer armed by SetTimeout.
func (c *Conn) StopTimer() {
	if c.timer != nil {
		c.timer.Stop()
	}
}

// Command is a parsed command head.
type Command struct {
	Tag  string
	Name string // uppercased
}

// ReadCommand reads a tag and command name. ok=false with a nil fatal
// error means a syntax error was answered and the caller should loop.
func (c *Conn) ReadCommand() (cmd Command, ok bool, fatal error) {
	d := c.Dec
	d.Begin()
	// An empty line: Courier answers "* NO Error..." (reference §5).
	if b, okp := d.Peek(); okp && b == '\n' {
		d.CRLF()
		c.W.Untagged("NO " + textError)
		return cmd, false, c.countError()
	}
	if d.Err() != nil {
		return cmd, false, d.Err()
	}
	tag, okt := d.Tag()
	if !okt {
		if d.Fatal() {
			return cmd, false, d.Err()
		}
		_ = d.DiscardLine()
		c.W.Untagged("BAD " + textError)
		return cmd, false, c.countError()
	}
	cmd.Tag = tag
	if !d.SP() {
		return cmd, false, c.SyntaxError(cmd.Tag)
	}
	name, okn := d.Atom()
	if !okn {
		return cmd, false, c.SyntaxError(cmd.Tag)
	}
	cmd.Name = strings.ToUpper(name)
	return cmd, true, nil
}

// SyntaxError answers a parse error: the rest of the line is discarded
// and "<tag> BAD Error..." is sent. It returns a fatal error if the
// connection must close.
func (c *Conn) SyntaxError(tag string) error {
	d := c.Dec
	if d.Fatal() {
		return d.Err()
	}
	if errors.Is(d.Err(), imapwire.ErrTooLong) || errors.Is(d.Err(), imapwire.ErrLiteral) {
		c.W.Untagged("NO [ALERT] IMAP command too long.")
	}
	if err := d.DiscardLine(); err != nil {
		return err
	}
	if tag == "" {
		tag = "*"
	}
	c.W.Tagged(tag, "BAD", badText(d.Err()))
	return c.countError()
}

// badText is Courier's generic text plus the reason (DESIGN.md §5: a
// BAD says what was wrong).
func badText(err error) string {
	if err == nil {
		return textError
	}
	why := strings.TrimPrefix(err.Error(), imapwire.ErrSyntax.Error()+": ")
	why = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, why)
	if len(why) > 200 {
		why = why[:200]
	}
	return strings.TrimSuffix(textError, ".") + ": " + why
}

// No answers a command failure with NO (not counted as a protocol error).
func (c *Conn) No(tag, text string) {
	c.W.Tagged(tag, "NO", text)
}

// OK answers success and resets the error count.
func (c *Conn) OK(tag, text string) {
	c.errsInRow = 0
	c.W.Tagged(tag, "OK", text)
}

// GenericNo answers Courier's generic NO and counts it.
func (c *Conn) GenericNo(tag string) error {
	c.W.Tagged(tag, "NO", textError)
	return c.countError()
}

// GenericBad answers an unknown command (the rest of its line already
// discarded) with Courier's generic text as BAD (RFC 3501 §7.1.5) and
// counts it.
func (c *Conn) GenericBad(tag string) error {
	c.W.Tagged(tag, "BAD", textError)
	return c.countError()
}

// ResetErrors is called on any successful command.
func (c *Conn) ResetErrors() { c.errsInRow = 0 }

// ErrTooManyViolations ends a connection after maxErrorsInRow protocol
// errors in a row; the "* BYE" has been sent already, so callers do not
// log it as a plain disconnect.
var ErrTooManyViolations = errors.New("too many consecutive protocol violations")

func (c *Conn) countError() error {
	c.errsInRow++
	if c.errsInRow >= maxErrorsInRow {
		c.W.Untagged("BYE " + textTooMany)
		c.W.Flush()
		return ErrTooManyViolations
	}
	return nil
}

// EndOfCommand checks for CRLF; on failure it answers BAD.
func (c *Conn) EndOfCommand(tag string) (bool, error) {
	if c.Dec.CRLF() {
		return true, nil
	}
	return false, c.SyntaxError(tag)
}

// FatalBye tells the client why the session ends when the input broke a
// hard limit (Courier's "Fatal error" BYE, reference §5).
func (c *Conn) FatalBye(err error) {
	var le *imapwire.LimitError
	if errors.As(err, &le) {
		c.W.Untagged("BYE [ALERT] Fatal error: " + le.What + ": ")
		c.W.Flush()
	}
}

// WriteTimeout bounds each flush when the output supports deadlines, so a
// client that stops reading cannot pin the session forever.
var WriteTimeout = 10 * time.Minute

// Flush sends the buffered responses.
func (c *Conn) Flush() error {
	if wd, ok := c.out.(interface{ SetWriteDeadline(time.Time) error }); ok {
		wd.SetWriteDeadline(time.Now().Add(WriteTimeout))
	}
	if err := c.W.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// ReadLine reads one raw line of at most max bytes from the buffered
// input, without its CRLF, outside the command decoder: the responses to
// AUTHENTICATE's challenges and IDLE's DONE. The caller counts the bytes
// in Dec.BytesRead.
func (c *Conn) ReadLine(max int) (string, error) {
	var buf []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > max {
			return "", fmt.Errorf("line too long")
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return "", err
	}
	s := strings.TrimRight(string(buf), "\r\n")
	return s, nil
}
