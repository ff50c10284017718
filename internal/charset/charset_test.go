package charset

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name, charset, in, want string
	}{
		{"utf8 passthrough", "UTF-8", "Caf\xc3\xa9", "Café"},
		{"empty means ascii", "", "plain", "plain"},
		{"latin1", "ISO-8859-1", "Caf\xe9", "Café"},
		{"latin1 alias", "latin1", "Caf\xe9", "Café"},
		{"windows-1252 quotes", "windows-1252", "\x93hi\x94", "\u201chi\u201d"},
		{"koi8-r", "KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"shift_jis", "Shift_JIS", "\x93\xfa\x96\x7b", "日本"},
		{"iso-2022-jp", "ISO-2022-JP", "\x1b$BF|K\\\x1b(B", "日本"},
		{"gb2312 as gbk", "gb2312", "\xd6\xd0\xce\xc4", "中文"},
		{"big5", "big5", "\xa4\xa4\xa4\xe5", "中文"},
		{"euc-kr", "EUC-KR", "\xc7\xd1\xb1\xdb", "한글"},
		{"spaces around", " iso-8859-15 ", "\xa4", "€"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Reader(tc.charset, strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got %q, want %q", b, tc.want)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	if _, err := Reader("BOGUS-CS", strings.NewReader("x")); !errors.Is(err, ErrUnknown) {
		t.Fatalf("got %v, want ErrUnknown", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("shift_jis", []byte("\x93\xfa\x96\x7b"))
	f.Add("iso-2022-jp", []byte("\x1b$B\x1b(B\x1b"))
	f.Fuzz(func(t *testing.T, cs string, in []byte) {
		r, err := Reader(cs, strings.NewReader(string(in)))
		if err != nil {
			return
		}
		if _, err := io.ReadAll(io.LimitReader(r, 1<<20)); err != nil {
			t.Skip() // a decoder may report an error; it must not panic
		}
	})
}
