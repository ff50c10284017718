package msgsearch

import (
	"strings"
	"testing"
	"testing/iotest"
)

// TestMatchReaderChunks checks the streaming matcher against matchString
// for inputs read one byte at a time (every UTF-8 sequence split across
// reads), whole, and in half-reads.
func TestMatchReaderChunks(t *testing.T) {
	tests := []struct {
		name, text, needle string
		want               bool
		readerOnly         bool // invalid UTF-8 reads as ISO-8859-1 only in streams
	}{
		{"ascii", "hello quixotically world", "QUIXOTIC", true, false},
		{"absent", "hello world", "quixotic", false, false},
		{"kmp overlap", "aaab", "aab", true, false},
		{"utf8 needle", "Grüße aus Köln", "KÖLN", true, false},
		{"kelvin sign", "273 \u212aelvin", "kelvin", true, false},
		{"latin1 byte", "caf\xe9 noir", "CAFÉ", true, true},
		{"invalid then match", "\xff\xfeabc", "abc", true, false},
		{"truncated utf8 at end", "abc\xc3", "abcÃ", true, true},
		{"crlf ignored", "line\r\nnext", "line\nnext", true, false},
		{"empty needle", "x", "", true, false},
		{"non-ascii start", "ßtraße", "STRASSE", false, false},
		{"euro", "price 5 €", "€", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := newMatcher(tc.needle).matchString(tc.text); got != tc.want && !tc.readerOnly {
				t.Fatalf("matchString = %v, want %v", got, tc.want)
			}
			for _, r := range []struct {
				name string
				rd   func() interface{ Read([]byte) (int, error) }
			}{
				{"whole", func() interface{ Read([]byte) (int, error) } { return strings.NewReader(tc.text) }},
				{"bytes", func() interface{ Read([]byte) (int, error) } { return iotest.OneByteReader(strings.NewReader(tc.text)) }},
				{"half", func() interface{ Read([]byte) (int, error) } { return iotest.HalfReader(strings.NewReader(tc.text)) }},
				{"dataerr", func() interface{ Read([]byte) (int, error) } { return iotest.DataErrReader(strings.NewReader(tc.text)) }},
			} {
				got, err := newMatcher(tc.needle).matchReader(r.rd())
				if err != nil || got != tc.want {
					t.Errorf("%s: matchReader = %v, %v; want %v", r.name, got, err, tc.want)
				}
			}
		})
	}
}
