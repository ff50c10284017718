package msgsearch

import (
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to the canonical member of its Unicode simple case
// folding orbit: the smallest code point, lower-cased when that is ASCII,
// so that 'K', 'k' and KELVIN SIGN all fold alike.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	if 'A' <= m && m <= 'Z' {
		m += 'a' - 'A'
	}
	return m
}

func fold(s string) string {
	return strings.Map(foldRune, s)
}

// matcher is a streaming Knuth-Morris-Pratt matcher over folded runes, so
// a body of any size is matched with memory proportional to the needle.
type matcher struct {
	pat   []rune
	fail  []int
	state int
	// start marks the bytes that can begin a match (those folding to
	// pat[0], and every non-ASCII byte): in state 0 the others are
	// skipped without decoding.
	start [256]bool
}

func newMatcher(needle string) *matcher {
	// CR is ignored on both sides, so that text stored with LF line ends
	// matches a needle written with CRLF.
	pat := []rune(strings.ReplaceAll(fold(needle), "\r", ""))
	fail := make([]int, len(pat))
	k := 0
	for i := 1; i < len(pat); i++ {
		for k > 0 && pat[i] != pat[k] {
			k = fail[k-1]
		}
		if pat[i] == pat[k] {
			k++
		}
		fail[i] = k
	}
	m := &matcher{pat: pat, fail: fail}
	for c := 0; c < 256; c++ {
		m.start[c] = c >= utf8.RuneSelf || len(pat) == 0 || foldRune(rune(c)) == pat[0]
	}
	return m
}

func (m *matcher) reset() { m.state = 0 }

// feed consumes one (unfolded) rune and reports a complete match.
func (m *matcher) feed(r rune) bool {
	if len(m.pat) == 0 {
		return true
	}
	if r == '\r' {
		return false
	}
	r = foldRune(r)
	for m.state > 0 && m.pat[m.state] != r {
		m.state = m.fail[m.state-1]
	}
	if m.pat[m.state] == r {
		m.state++
	}
	if m.state == len(m.pat) {
		m.state = m.fail[m.state-1]
		return true
	}
	return false
}

// matchString reports whether s contains the matcher's needle.
func (m *matcher) matchString(s string) bool {
	m.reset()
	if len(m.pat) == 0 {
		return true
	}
	for _, r := range s {
		if m.feed(r) {
			return true
		}
	}
	return false
}

// readBufs recycles matchReader's window.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// matchReader streams r (UTF-8; invalid bytes read as ISO-8859-1) through
// the matcher. ASCII bytes are fed directly and, while no partial match
// is pending, bytes that cannot start one are skipped; a UTF-8 sequence
// cut by the window end is carried over to the next read.
func (m *matcher) matchReader(r io.Reader) (bool, error) {
	m.reset()
	if len(m.pat) == 0 {
		return true, nil
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	keep := 0
	for {
		n, err := r.Read(buf[keep:])
		b := buf[:keep+n]
		i := 0
		for i < len(b) {
			if m.state == 0 {
				for i < len(b) && !m.start[b[i]] {
					i++
				}
				if i == len(b) {
					break
				}
			}
			c := b[i]
			if c < utf8.RuneSelf {
				i++
				if m.feed(rune(c)) {
					return true, nil
				}
				continue
			}
			if err == nil && !utf8.FullRune(b[i:]) {
				break // completed by the next read
			}
			ru, size := utf8.DecodeRune(b[i:])
			if ru == utf8.RuneError && size == 1 {
				ru = rune(c)
			}
			i += size
			if m.feed(ru) {
				return true, nil
			}
		}
		keep = copy(buf, b[i:])
		if err != nil {
			if err == io.EOF {
				return false, nil
			}
			return false, err
		}
	}
}
