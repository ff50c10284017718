package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// imapConn is a minimal raw IMAP client: it writes command lines and reads
// responses up to the tagged completion, skipping literals without keeping
// them. Raw wire access keeps the client cheap so that the figures measure
// the server, not the client library.
type imapConn struct {
	c       net.Conn
	r       *bufio.Reader
	tagN    int
	timeout time.Duration
	// counters of the last command
	untagged   int
	bytesIn    int64
	last       string // last untagged line seen (literals stripped)
	lines      []string
	keep       bool   // keep untagged lines in lines
	lastTagged string // tagged line of the last command
}

var errNo = errors.New("server answered NO/BAD")

func dialIMAP(addr string, timeout time.Duration) (*imapConn, error) {
	return dialIMAPBuf(addr, timeout, bulkBuf)
}

// Read buffer sizes of the harness's connections: bulk for the workloads
// that move message data; small for the connect+LOGIN+LOGOUT loops, whose
// replies are a few short lines. A 64 KiB buffer per login is a new large
// object each time (first-touch page faults, and the GC work that follows)
// paid by the harness on the same cores as the servers it measures; with
// 4 KiB our 1-client login rate measured about a tenth higher.
const (
	bulkBuf  = 64 << 10
	loginBuf = 4 << 10
)

func dialIMAPBuf(addr string, timeout time.Duration, size int) (*imapConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return greet(c, timeout, size)
}

// greet wraps a connected (plain or TLS) socket, with a read buffer of
// size bytes, and reads the greeting.
func greet(c net.Conn, timeout time.Duration, size int) (*imapConn, error) {
	ic := &imapConn{c: c, r: bufio.NewReaderSize(c, size), timeout: timeout}
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := ic.readLine()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "* PREAUTH") {
		c.Close()
		return nil, fmt.Errorf("greeting: %q", line)
	}
	return ic, nil
}

func (ic *imapConn) Close() error { return ic.c.Close() }

// readLine reads one CRLF-terminated line without the line end, and
// reads (and discards) any literal the line announces, returning the line
// with the literal's continuation appended.
func (ic *imapConn) readLine() (string, error) {
	var full strings.Builder
	for {
		b, err := ic.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// over-long line: keep the head, skip the rest
			full.Write(b[:min(len(b), 200)])
			for errors.Is(err, bufio.ErrBufferFull) {
				ic.bytesIn += int64(len(b))
				b, err = ic.r.ReadSlice('\n')
			}
		}
		ic.bytesIn += int64(len(b))
		if err != nil {
			return full.String(), err
		}
		line := strings.TrimRight(string(b), "\r\n")
		if full.Len() < 4096 {
			full.WriteString(line[:min(len(line), 4096)])
		}
		// literal {n} or {n+} at the end of the line
		if n, ok := literalLen(line); ok {
			m, err := io.CopyN(io.Discard, ic.r, n)
			ic.bytesIn += m
			if err != nil {
				return full.String(), err
			}
			continue
		}
		return full.String(), nil
	}
}

func literalLen(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	s := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func (ic *imapConn) nextTag() string {
	ic.tagN++
	return "b" + strconv.Itoa(ic.tagN)
}

// cmd sends one command and reads to its tagged answer. It returns the
// tagged line; a NO or BAD answer is an error wrapping errNo.
func (ic *imapConn) cmd(format string, args ...any) (string, error) {
	tag := ic.nextTag()
	_ = ic.c.SetDeadline(time.Now().Add(ic.timeout))
	if _, err := fmt.Fprintf(ic.c, "%s "+format+"\r\n", append([]any{tag}, args...)...); err != nil {
		return "", err
	}
	return ic.readTagged(tag)
}

func (ic *imapConn) readTagged(tag string) (string, error) {
	ic.untagged, ic.bytesIn, ic.lines = 0, 0, ic.lines[:0]
	for {
		line, err := ic.readLine()
		if err != nil {
			return "", fmt.Errorf("waiting for %s: %w", tag, err)
		}
		if strings.HasPrefix(line, tag+" ") {
			ic.lastTagged = line
			rest := line[len(tag)+1:]
			if strings.HasPrefix(rest, "OK") {
				return line, nil
			}
			return line, fmt.Errorf("%s: %w", line, errNo)
		}
		if strings.HasPrefix(line, "* ") {
			ic.untagged++
			ic.last = line
			if ic.keep {
				ic.lines = append(ic.lines, line)
			}
		}
	}
}

func (ic *imapConn) login(user, pass string) error {
	_, err := ic.cmd("LOGIN %s %s", quote(user), quote(pass))
	return err
}

// logout sends LOGOUT and waits for the tagged OK (or EOF: some servers
// close right after BYE).
func (ic *imapConn) logout() error {
	_, err := ic.cmd("LOGOUT")
	if err != nil && errors.Is(err, io.EOF) {
		err = nil
	}
	ic.c.Close()
	return err
}

// appendMsg appends msg with a synchronising literal (Courier 5.0.13 has
// no LITERAL+, reference §4.4), waiting for the continuation.
func (ic *imapConn) appendMsg(mbox string, msg []byte) error {
	tag := ic.nextTag()
	_ = ic.c.SetDeadline(time.Now().Add(ic.timeout))
	// Maildir data uses LF; the wire wants CRLF.
	wire := bytes.ReplaceAll(msg, []byte("\n"), []byte("\r\n"))
	if _, err := fmt.Fprintf(ic.c, "%s APPEND %s {%d}\r\n", tag, mbox, len(wire)); err != nil {
		return err
	}
	line, err := ic.readLine()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+") {
		return fmt.Errorf("APPEND: no continuation: %q", line)
	}
	if _, err := ic.c.Write(append(wire, '\r', '\n')); err != nil {
		return err
	}
	_, err = ic.readTagged(tag)
	return err
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// pop3Conn is a minimal raw POP3 client (RFC 1939).
type pop3Conn struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
	bytesIn int64
}

func dialPOP3(addr string, timeout time.Duration) (*pop3Conn, error) {
	return dialPOP3Buf(addr, timeout, bulkBuf)
}

func dialPOP3Buf(addr string, timeout time.Duration, size int) (*pop3Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	pc := &pop3Conn{c: c, r: bufio.NewReaderSize(c, size), timeout: timeout}
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := pc.line()
	if err != nil || !strings.HasPrefix(line, "+OK") {
		c.Close()
		return nil, fmt.Errorf("POP3 greeting %q: %v", line, err)
	}
	return pc, nil
}

func (pc *pop3Conn) line() (string, error) {
	b, err := pc.r.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		pc.bytesIn += int64(len(b))
		b, err = pc.r.ReadSlice('\n')
	}
	pc.bytesIn += int64(len(b))
	return strings.TrimRight(string(b), "\r\n"), err
}

// cmd sends a command and reads its status line; with multi it also reads
// the multi-line body up to the lone "." and returns its line count.
func (pc *pop3Conn) cmd(multi bool, format string, args ...any) (string, int, error) {
	_ = pc.c.SetDeadline(time.Now().Add(pc.timeout))
	if _, err := fmt.Fprintf(pc.c, format+"\r\n", args...); err != nil {
		return "", 0, err
	}
	st, err := pc.line()
	if err != nil {
		return st, 0, err
	}
	if !strings.HasPrefix(st, "+OK") {
		return st, 0, fmt.Errorf("%q: %w", st, errNo)
	}
	if !multi {
		return st, 0, nil
	}
	n := 0
	for {
		l, err := pc.line()
		if err != nil {
			return st, n, err
		}
		if l == "." {
			return st, n, nil
		}
		n++
	}
}

func (pc *pop3Conn) login(user, pass string) error {
	if _, _, err := pc.cmd(false, "USER %s", user); err != nil {
		return err
	}
	_, _, err := pc.cmd(false, "PASS %s", pass)
	return err
}

func (pc *pop3Conn) quit() error {
	_, _, err := pc.cmd(false, "QUIT")
	pc.c.Close()
	return err
}
