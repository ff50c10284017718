package msgsearch

import (
	"bufio"
	"io"
	"strings"
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
	return &matcher{pat: pat, fail: fail}
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

// matchReader streams r (UTF-8; invalid bytes read as ISO-8859-1) through
// the matcher.
func (m *matcher) matchReader(r io.Reader) (bool, error) {
	m.reset()
	if len(m.pat) == 0 {
		return true, nil
	}
	br := bufio.NewReaderSize(r, 32<<10)
	for {
		c, size, err := br.ReadRune()
		if err != nil {
			if err == io.EOF {
				return false, nil
			}
			return false, err
		}
		if c == utf8.RuneError && size == 1 {
			_ = br.UnreadRune()
			b, _ := br.ReadByte()
			c = rune(b)
		}
		if m.feed(c) {
			return true, nil
		}
	}
}
