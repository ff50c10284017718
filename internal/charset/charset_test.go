package charset

import (
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/htmlindex"
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

// Every WHATWG label resolves as x/text's htmlindex resolves it (htmlindex
// is linked into this test only), in any letter case and with blanks
// around it; names htmlindex does not know are unknown to us too.
func TestLabelsMatchHTMLIndex(t *testing.T) {
	labels := strings.Fields(whatwgLabels)
	if len(labels) < 200 {
		t.Fatalf("only %d labels", len(labels))
	}
	for _, l := range labels {
		want, err := htmlindex.Get(l)
		if err != nil {
			t.Errorf("htmlindex does not know %q: %v", l, err)
			continue
		}
		for _, variant := range []string{l, strings.ToUpper(l), " " + l + "\t"} {
			got := lookup(strings.ToLower(strings.TrimSpace(variant)))
			if got != want {
				t.Errorf("lookup(%q) = %v, htmlindex %v", variant, got, want)
			}
		}
	}
	for _, bad := range []string{"", "utf-7", "iso-8859-12", "latin0", "x-unknown", "gb2312 x", "koi8-r\x00"} {
		if lookup(bad) != nil {
			t.Errorf("lookup(%q) known", bad)
		}
		if _, err := htmlindex.Get(bad); err == nil {
			t.Errorf("htmlindex knows %q: the test list is wrong", bad)
		}
	}
}

// The labels of the WHATWG Encoding Standard, §4.2.
const whatwgLabels = `
unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8
866 cp866 csibm866 ibm866
csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2
csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3
csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4
csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 iso_8859-5:1988
arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987
csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek
csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual
csiso88598i iso-8859-8-i logical
csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6
iso-8859-13 iso8859-13 iso885913
iso-8859-14 iso8859-14 iso885914
csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9
iso-8859-16
cskoi8r koi koi8 koi8-r koi8_r
koi8-ru koi8-u
csmacintosh mac macintosh x-mac-roman
dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874
cp1250 windows-1250 x-cp1250
cp1251 windows-1251 x-cp1251
ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252
cp1253 windows-1253 x-cp1253
cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254
cp1255 windows-1255 x-cp1255
cp1256 windows-1256 x-cp1256
cp1257 windows-1257 x-cp1257
cp1258 windows-1258 x-cp1258
x-mac-cyrillic x-mac-ukrainian
chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk
gb18030
big5 big5-hkscs cn-big5 csbig5 x-x-big5
cseucpkdfmtjapanese euc-jp x-euc-jp
csiso2022jp iso-2022-jp
csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis
cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 windows-949
csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement
unicodefffe utf-16be
csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le
x-user-defined
`

// Any name resolves as htmlindex resolves it (same trimming and case
// folding: both trim Unicode spaces and lower-case with strings.ToLower).
func FuzzLookupMatchesHTMLIndex(f *testing.F) {
	for _, l := range strings.Fields(whatwgLabels)[:20] {
		f.Add(l)
	}
	f.Add(" Shift_JIS\n")
	f.Add("ISO-8859-1\u00a0")
	f.Fuzz(func(t *testing.T, name string) {
		got := lookup(strings.ToLower(strings.TrimSpace(name)))
		want, err := htmlindex.Get(name)
		if err != nil {
			want = nil
		}
		if got != want {
			t.Fatalf("lookup(%q) = %v, htmlindex %v", name, got, want)
		}
	})
}
