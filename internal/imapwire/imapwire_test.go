package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func dec(s string) (*Decoder, *int) {
	n := 0
	d := NewDecoder(bufio.NewReader(strings.NewReader(s)), DefaultLimits, func() error { n++; return nil })
	d.Begin()
	return d, &n
}

func TestAtomsStringsLiterals(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		conts    int
	}{
		{"atoms", "a b\r\n", []string{"a", "b"}, 0},
		{"quoted escapes", `"x\"y\\z" b` + "\r\n", []string{`x"y\z`, "b"}, 0},
		{"sync literal", "{3}\r\nabc b\r\n", []string{"abc", "b"}, 1},
		{"literal plus", "{3+}\r\nabc b\r\n", []string{"abc", "b"}, 0},
		{"bare LF", "a b\n", []string{"a", "b"}, 0},
		{"empty quoted", `"" x` + "\r\n", []string{"", "x"}, 0},
		{"literal8", "~{2}\r\nab x\r\n", []string{"ab", "x"}, 1},
		// imaptest "atoms": '~' is an ATOM-CHAR unless "~{" starts a literal8.
		{"tilde atom", "~foo x\r\n", []string{"~foo", "x"}, 0},
		{"lone tilde", "~ x\r\n", []string{"~", "x"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, n := dec(tc.in)
			var got []string
			for i := range tc.want {
				if i > 0 && !d.SP() {
					t.Fatalf("SP: %v", d.Err())
				}
				s, ok := d.AString()
				if !ok {
					t.Fatalf("AString: %v", d.Err())
				}
				got = append(got, s)
			}
			if !d.CRLF() {
				t.Fatalf("CRLF: %v", d.Err())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q want %q", got, tc.want)
			}
			if *n != tc.conts {
				t.Errorf("continuations %d want %d", *n, tc.conts)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, in string
		fatal    bool
	}{
		{"unterminated quote", "\"abc\r\n", false},
		{"bad escape", `"a\b"` + "\r\n", false},
		{"non utf8 quoted", "\"\xff\"\r\n", false},
		{"eof", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := dec(tc.in)
			if _, ok := d.AString(); ok {
				t.Fatal("expected failure")
			}
			if d.Fatal() != tc.fatal {
				t.Errorf("fatal=%v want %v (%v)", d.Fatal(), tc.fatal, d.Err())
			}
			// sticky
			if d.SP() {
				t.Error("error not sticky")
			}
		})
	}
}

func TestLiteralTooLargeNoContinuation(t *testing.T) {
	d, n := dec("{999999999}\r\nnext\r\n")
	if _, ok := d.String(); ok {
		t.Fatal("accepted huge literal")
	}
	if !errors.Is(d.Err(), ErrLiteral) || *n != 0 {
		t.Fatalf("err=%v conts=%d", d.Err(), *n)
	}
	if !d.AtEOL() {
		t.Error("sync literal rejection should end the line")
	}
}

func TestNonSyncLiteralRejectedIsDrained(t *testing.T) {
	lim := DefaultLimits
	lim.MaxLiteral = 2
	d := NewDecoder(bufio.NewReader(strings.NewReader("{5+}\r\nhello rest\r\nNEXT\r\n")), lim, nil)
	d.Begin()
	if _, ok := d.String(); ok {
		t.Fatal("accepted")
	}
	if err := d.DiscardLine(); err != nil {
		t.Fatal(err)
	}
	d.Begin()
	a, ok := d.Atom()
	if !ok || a != "NEXT" {
		t.Fatalf("got %q %v", a, d.Err())
	}
}

func TestAtomLimitFatal(t *testing.T) {
	d, _ := dec(strings.Repeat("a", 20000) + "\r\n")
	if _, ok := d.Atom(); ok || !d.Fatal() {
		t.Fatalf("want fatal, got %v", d.Err())
	}
}

func TestSeqSet(t *testing.T) {
	tests := []struct {
		in      string
		max     uint32
		in1     []uint32
		out     []uint32
		wantStr string
	}{
		{"1:3,5", 10, []uint32{1, 2, 3, 5}, []uint32{4, 6}, "1:3,5"},
		{"5:3", 10, []uint32{3, 4, 5}, []uint32{2, 6}, "3:5"},
		{"*", 7, []uint32{7}, []uint32{6}, "*"},
		{"3:*", 4, []uint32{3, 4}, []uint32{2}, "3:*"},
		{"*:3", 4, []uint32{3, 4}, []uint32{2}, "*:3"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, _ := dec(tc.in + "\r\n")
			s, ok := d.SeqSet()
			if !ok {
				t.Fatal(d.Err())
			}
			if s.String() != tc.wantStr {
				t.Errorf("String %q want %q", s.String(), tc.wantStr)
			}
			r := s.Resolve(tc.max)
			for _, n := range tc.in1 {
				if !r.Contains(n) {
					t.Errorf("%d not in set", n)
				}
			}
			for _, n := range tc.out {
				if r.Contains(n) {
					t.Errorf("%d in set", n)
				}
			}
		})
	}
}

func TestCompressUIDs(t *testing.T) {
	if got := CompressUIDs([]uint32{1, 2, 3, 7, 9, 10}); got != "1:3,7,9:10" {
		t.Errorf("got %q", got)
	}
}

func TestMUTF7(t *testing.T) {
	tests := []struct{ utf8, m string }{
		{"INBOX", "INBOX"},
		{"Été", "&AMk-t&AOk-"},
		{"a&b", "a&-b"},
		{"日本語", "&ZeVnLIqe-"},
		{"😀", "&2D3eAA-"},
	}
	for _, tc := range tests {
		if got := EncodeMUTF7(tc.utf8); got != tc.m {
			t.Errorf("Encode(%q)=%q want %q", tc.utf8, got, tc.m)
		}
		if got, err := DecodeMUTF7(tc.m); err != nil || got != tc.utf8 {
			t.Errorf("Decode(%q)=%q,%v", tc.m, got, err)
		}
	}
	for _, bad := range []string{"&", "&AGE-", "&AMk-&AOk-", "\xc3\xa9", "&Zm9v"} {
		if _, err := DecodeMUTF7(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func TestWriterQuoting(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Quoted(`a"b`)
	w.Byte(' ')
	w.Quoted("x\ny")
	w.Flush()
	if got := b.String(); got != `"a\"b" {3}`+"\r\nx\ny" {
		t.Errorf("got %q", got)
	}
	if w.BytesSent() != int64(b.Len()) {
		t.Error("byte count")
	}
}

func FuzzDecoder(f *testing.F) {
	for _, s := range []string{"a1 LOGIN {3}\r\nabc \"x\"\r\n", "t FETCH 1:*,5:3 (BODY[1.HEADER] UID)\r\n", "{5+}\r\nhello\r\n", "(a (b \"c\") NIL)\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		lim := DefaultLimits
		lim.MaxLine = 4096
		d := NewDecoder(bufio.NewReader(bytes.NewReader(in)), lim, func() error { return nil })
		for i := 0; i < 50; i++ {
			d.Begin()
			var item func() bool
			item = func() bool {
				b, ok := d.Peek()
				if !ok {
					return false
				}
				switch b {
				case '(':
					return d.List(item)
				case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*':
					_, ok := d.SeqSet()
					return ok
				}
				_, ok = d.AString()
				return ok
			}
			for item() && d.Special(' ') {
			}
			d.CRLF()
			if d.Err() != nil {
				if d.Fatal() || d.DiscardLine() != nil {
					return
				}
			}
		}
		_, _ = io.Copy(io.Discard, strings.NewReader(""))
	})
}

func FuzzMUTF7(f *testing.F) {
	f.Add("&AMk-t&AOk-")
	f.Add("a&-b")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeMUTF7(s)
		if err != nil {
			return
		}
		if EncodeMUTF7(dec) != s {
			t.Errorf("round trip %q -> %q -> %q", s, dec, EncodeMUTF7(dec))
		}
	})
}
