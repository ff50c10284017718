package pop3

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// writeMessage copies a message from r to w as the body of a multi-line
// response (RFC 1939 §3): bare LF becomes CRLF, an existing CRLF is kept,
// a line starting with '.' gets one more '.', and the text always ends in
// CRLF before the caller writes the terminating ".". If bodyLines >= 0
// only the header, the blank separator line and that many body lines are
// sent (TOP, RFC 1939 §7). It returns the bytes written.
//
// For a message stored with LF line ends and a final LF (what delivery
// agents and IMAP APPEND write) the bytes sent before dot-stuffing equal
// Courier's CRLF size (file size + number of LFs, reference §9.10), which
// is what LIST and "+OK n octets" announce. A stored CRLF is sent as one
// CRLF (Courier's size counts it as three bytes) and a missing final LF
// gets a CRLF (Courier's size does not count it): such files are rare and
// clean output matters more there than the announced count.
//
// It works on the reader's buffer a chunk at a time, so memory stays
// bounded by the buffer sizes whatever the message looks like.
func writeMessage(w *bufio.Writer, r io.Reader, bodyLines int) (int64, error) {
	return writeMessageBuf(w, bufio.NewReaderSize(r, 64*1024), r, bodyLines)
}

// writeMessageBuf is writeMessage with a caller-owned read buffer, reset
// onto r, so that a session does not allocate 64 KB per RETR.
func writeMessageBuf(w *bufio.Writer, br *bufio.Reader, r io.Reader, bodyLines int) (int64, error) {
	br.Reset(r)
	defer br.Reset(nil)
	var n int64
	atLineStart := true
	inHeader := true
	lineEmpty := true  // current line has no content yet (for header end)
	pendingCR := false // a CR ended the previous partial chunk
	for {
		if bodyLines >= 0 && !inHeader && atLineStart && bodyLines == 0 {
			return n, nil
		}
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			complete := chunk[len(chunk)-1] == '\n'
			if atLineStart && chunk[0] == '.' {
				w.WriteByte('.')
				n++
			}
			if pendingCR {
				pendingCR = false
				if chunk[0] != '\n' {
					w.WriteByte('\r')
					n++
					lineEmpty = false
				}
			}
			content := chunk
			if !complete && content[len(content)-1] == '\r' {
				content = content[:len(content)-1]
				pendingCR = true
			}
			if complete {
				content = chunk[:len(chunk)-1]
				if len(content) > 0 && content[len(content)-1] == '\r' {
					content = content[:len(content)-1]
				}
			}
			w.Write(content)
			n += int64(len(content))
			if len(content) > 0 {
				lineEmpty = false
			}
			if complete {
				w.WriteString("\r\n")
				n += 2
				if inHeader && lineEmpty {
					inHeader = false
				} else if !inHeader && bodyLines > 0 {
					bodyLines--
				}
				atLineStart = true
				lineEmpty = true
			} else {
				atLineStart = false
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if pendingCR {
				w.WriteByte('\r')
				n++
			}
			if !atLineStart {
				w.WriteString("\r\n")
				n += 2
			}
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("pop3: reading message: %w", err)
		}
	}
}

// crlfSize is the size writeMessage would give for the whole message
// minus dot-stuffing: each bare LF counts two bytes. Only tests and the
// in-memory maildrop use it; real sizes come from the maildrop.
func crlfSize(b []byte) int64 {
	n := int64(len(b)) + int64(bytes.Count(b, []byte{'\n'})) - int64(bytes.Count(b, []byte("\r\n")))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n += 2
	}
	return n
}
