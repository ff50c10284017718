package mime

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// scanBufSize is the read window. Lines longer than this are still
// measured exactly, but only their first scanBufSize bytes are visible.
const scanBufSize = 64 << 10

// line describes one line of the stored message.
type line struct {
	off    int64  // raw offset of the first byte
	crlf   int64  // CRLF-form offset of the first byte
	idx    int64  // number of lines before this one
	data   []byte // visible prefix, without the newline; valid until the next call
	rawLen int64  // raw length including the newline
	nl     int    // 0: no newline (EOF), 1: bare LF, 2: CRLF
}

// end returns the raw offset just past the line (after its newline).
func (l *line) end() int64 { return l.off + l.rawLen }

// crlfEnd returns the CRLF offset just past the line.
func (l *line) crlfEnd() int64 {
	if l.nl == 1 {
		return l.crlf + l.rawLen + 1
	}
	return l.crlf + l.rawLen
}

// scanner reads lines sequentially from a ReaderAt through one bounded
// buffer, tracking raw offset, CRLF offset and line number.
type scanner struct {
	r      io.ReaderAt
	size   int64
	buf    []byte
	bufOff int64 // file offset of buf[0]
	n      int   // valid bytes in buf
	pos    int64 // raw offset of the next line
	crlf   int64 // CRLF offset of pos
	idx    int64 // line number of pos
	err    error
	tmp    []byte // scratch for measuring long lines
	// prev is the line returned before the most recent one (metadata
	// only), needed to find the newline that precedes a delimiter.
	prev, last line
	pooled     *[]byte
}

// scanBufs recycles scanner windows: FETCH/SEARCH parse one message
// after another, and a fresh 64 KiB per message was most of their
// garbage. Nothing parsed keeps a reference into the window (header
// values are copied to strings).
var scanBufs = sync.Pool{New: func() any { b := make([]byte, scanBufSize); return &b }}

func newScanner(r io.ReaderAt, size int64) *scanner {
	bp := scanBufs.Get().(*[]byte)
	return &scanner{r: r, size: size, buf: *bp, pooled: bp}
}

// release returns the window to the pool; s must not be used after.
func (s *scanner) release() {
	if s.pooled != nil {
		s.buf = nil
		scanBufs.Put(s.pooled)
		s.pooled = nil
	}
}

// fill makes buf start at pos and hold as many bytes as possible.
func (s *scanner) fill() {
	start := int(s.pos - s.bufOff)
	if start > 0 && start <= s.n {
		copy(s.buf, s.buf[start:s.n])
		s.n -= start
	} else if start != 0 {
		s.n = 0
	}
	s.bufOff = s.pos
	for s.n < len(s.buf) && s.bufOff+int64(s.n) < s.size {
		want := len(s.buf) - s.n
		if rem := s.size - s.bufOff - int64(s.n); int64(want) > rem {
			want = int(rem)
		}
		m, err := s.r.ReadAt(s.buf[s.n:s.n+want], s.bufOff+int64(s.n))
		s.n += m
		if err != nil && err != io.EOF {
			s.err = fmt.Errorf("mime: read at %d: %w", s.bufOff+int64(s.n), err)
			return
		}
		if m == 0 {
			// Short file: treat the rest as absent.
			s.size = s.bufOff + int64(s.n)
			return
		}
	}
}

// next returns the next line, or false at EOF or on a read error.
func (s *scanner) next() (line, bool) {
	if s.pos >= s.size || s.err != nil {
		return line{}, false
	}
	start := int(s.pos - s.bufOff)
	if start < 0 || start >= s.n || s.n-start < len(s.buf) && s.bufOff+int64(s.n) < s.size &&
		bytes.IndexByte(s.buf[start:s.n], '\n') < 0 {
		s.fill()
		if s.err != nil {
			return line{}, false
		}
		start = 0
		if s.n == 0 {
			return line{}, false
		}
	}
	l := line{off: s.pos, crlf: s.crlf, idx: s.idx}
	win := s.buf[start:s.n]
	if i := bytes.IndexByte(win, '\n'); i >= 0 {
		l.rawLen = int64(i + 1)
		l.data = win[:i]
		l.nl = 1
		if i > 0 && win[i-1] == '\r' {
			l.nl = 2
			l.data = win[:i-1]
		}
	} else if s.bufOff+int64(s.n) >= s.size {
		l.rawLen = int64(len(win))
		l.data = win
	} else {
		// A line longer than the window: its prefix stays visible (the
		// buffer is not refilled until the next call) and the rest is
		// measured through a scratch buffer.
		l.data = win
		off := s.pos + int64(len(win))
		var last byte = win[len(win)-1]
		if s.tmp == nil {
			s.tmp = make([]byte, 32<<10)
		}
		tmp := s.tmp
		for off < s.size {
			want := int64(len(tmp))
			if rem := s.size - off; rem < want {
				want = rem
			}
			m, err := s.r.ReadAt(tmp[:want], off)
			if m == 0 {
				if err != nil && err != io.EOF {
					s.err = fmt.Errorf("mime: read at %d: %w", off, err)
					return line{}, false
				}
				s.size = off
				break
			}
			if i := bytes.IndexByte(tmp[:m], '\n'); i >= 0 {
				l.nl = 1
				if i > 0 && tmp[i-1] == '\r' || i == 0 && last == '\r' {
					l.nl = 2
				}
				off += int64(i + 1)
				break
			}
			last = tmp[m-1]
			off += int64(m)
		}
		l.rawLen = off - s.pos
		s.n = 0
		s.bufOff = off
	}
	s.pos += l.rawLen
	s.crlf = l.crlfEnd()
	s.idx++
	s.prev = s.last
	s.last = l
	s.last.data = nil
	return l, true
}

// skipPlain advances over the complete lines in the window that cannot
// be delimiters (with dashOnly, lines not starting with '-'; else all),
// leaving pos, crlf, idx, prev and last exactly as the same number of
// next calls would. Bodies (attachments) are then skipped with a few
// vectorised searches instead of one call per line.
func (s *scanner) skipPlain(dashOnly bool) {
	if s.err != nil || s.pos >= s.size {
		return
	}
	start := int(s.pos - s.bufOff)
	if start < 0 || start >= s.n {
		return
	}
	win := s.buf[start:s.n]
	if dashOnly && win[0] == '-' {
		return
	}
	end := -1
	if dashOnly {
		end = dashLine(win)
	}
	if end < 0 {
		end = bytes.LastIndexByte(win, '\n') + 1
	}
	chunk := win[:end]
	lines := bytes.Count(chunk, []byte{'\n'})
	if lines < 2 {
		return
	}
	crs := bytes.Count(chunk, []byte("\r\n"))
	lastStart := bytes.LastIndexByte(chunk[:end-1], '\n') + 1
	prevStart := bytes.LastIndexByte(chunk[:lastStart-1], '\n') + 1
	nlOf := func(a, b int) int {
		if b-a >= 2 && chunk[b-2] == '\r' {
			return 2
		}
		return 1
	}
	lastNL, prevNL := nlOf(lastStart, end), nlOf(prevStart, lastStart)
	mk := func(a, b, nl, lfBefore, crlfBefore int) line {
		return line{off: s.pos + int64(a), crlf: s.crlf + int64(a+lfBefore-crlfBefore), idx: s.idx + int64(lfBefore), rawLen: int64(b - a), nl: nl}
	}
	crLast := crs
	if lastNL == 2 {
		crLast--
	}
	crPrev := crLast
	if prevNL == 2 {
		crPrev--
	}
	s.prev = mk(prevStart, lastStart, prevNL, lines-2, crPrev)
	s.last = mk(lastStart, end, lastNL, lines-1, crLast)
	s.pos += int64(end)
	s.crlf += int64(end + lines - crs)
	s.idx += int64(lines)
}

// dashLine returns the offset of the first line of win after its first
// that starts with '-', or -1. It looks for the dash rather than for
// "\n-": a newline is in every line, so a search for it stops on each
// one, while a dash is rare in text and absent from base64 and
// quoted-printable bodies. A line with a dash inside is passed over
// with one more search for its end.
func dashLine(win []byte) int {
	off := 1 // win[0] is not a dash (the caller checked)
	for off < len(win) {
		j := bytes.IndexByte(win[off:], '-')
		if j < 0 {
			return -1
		}
		j += off
		if win[j-1] == '\n' {
			return j
		}
		k := bytes.IndexByte(win[j+1:], '\n')
		if k < 0 {
			return -1
		}
		off = j + 1 + k + 1
	}
	return -1
}
