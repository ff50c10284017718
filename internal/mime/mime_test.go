package mime

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func mustParse(t testing.TB, msg string) *Part {
	t.Helper()
	p, err := Parse(strings.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestBodyStructureTranscript(t *testing.T) {
	env1 := `("Mon, 3 Mar 2025 10:00:00 +0000" "Hello Alice" (("Bob Example" NIL "bob" "example.com")) (("Bob Example" NIL "bob" "example.com")) (("Bob Example" NIL "bob" "example.com")) (("Alice Example" NIL "alice" "example.com")) NIL NIL NIL "<m1@example.com>")`
	tests := []struct {
		name, msg, body, bs string
	}{
		{
			// Courier says "8bit" 45 for the inner text and 213 for the
			// rfc822 part (lone CR bug, reference §4.5); RFC: 7BIT, 44, 212.
			name: "m5 forwarded message/rfc822",
			msg:  msgM5,
			bs: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 26 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7BIT" 212 ` + env1 +
				` ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 44 2 NIL NIL NIL NIL) 8 NIL NIL NIL NIL) "mixed" ("boundary" "fwd") NIL NIL NIL)`,
			body: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 26 1)("message" "rfc822" NIL NIL NIL "7BIT" 212 ` + env1 +
				` ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 44 2) 8) "mixed")`,
		},
		{
			name: "m2 nested multipart with attachment",
			msg:  msgM2,
			bs:   `((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 45 1 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 78 1 NIL NIL NIL NIL) "alternative" ("boundary" "inner-boundary") NIL NIL NIL)("application" "pdf" ("name" "report.pdf") NIL "Q1 report" "base64" 108 NIL ("attachment" ("filename" "report.pdf")) NIL NIL) "mixed" ("boundary" "outer-boundary") NIL NIL NIL)`,
			body: `((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 45 1)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 78 1) "alternative")("application" "pdf" ("name" "report.pdf") NIL "Q1 report" "base64" 108) "mixed")`,
		},
		{
			name: "m4 8bit latin1",
			msg:  msgM4,
			bs:   `("text" "plain" ("charset" "iso-8859-1" "format" "flowed") NIL NIL "8bit" 29 2 NIL NIL NIL NIL)`,
		},
		{
			name: "no content-type",
			msg:  "Subject: x\n\nhello\n",
			bs:   `("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 7 1 NIL NIL NIL NIL)`,
		},
		{
			name: "empty message",
			msg:  "",
			bs:   `("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)`,
		},
		{
			name: "header only no blank line",
			msg:  "Subject: x\n",
			bs:   `("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)`,
		},
		{
			name: "body without final newline",
			msg:  "Subject: x\n\na\nb",
			bs:   `("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 4 2 NIL NIL NIL NIL)`,
		},
		{
			name: "crlf stored message",
			msg:  "Subject: x\r\n\r\na\r\nb\r\n",
			bs:   `("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 6 2 NIL NIL NIL NIL)`,
		},
		{
			name: "multipart without boundary gets an empty part",
			msg:  "Content-Type: multipart/mixed\n\nfoo\n",
			bs:   `(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)`,
		},
		{
			name: "unterminated multipart",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b\n\ny\n",
			bs:   `(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 1 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 3 1 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)`,
		},
		{
			name: "digest default type",
			msg:  "Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: s\n\nbody\n--b--\n",
			bs:   `(("message" "rfc822" NIL NIL NIL "7BIT" 18 ("NIL" "s" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 4 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "digest" ("boundary" "b") NIL NIL NIL)`,
		},
		{
			name: "disposition language location",
			msg:  "Content-Type: image/png\nContent-Disposition: inline\nContent-Language: en, de\nContent-Location: http://x/y\nContent-ID: <c@x>\nContent-MD5: abc\n\nxx\n",
			bs:   `("image" "png" NIL "<c@x>" NIL "7BIT" 4 "abc" ("inline" NIL) ("en" "de") "http://x/y")`,
		},
		{
			name: "base64 message/rfc822 is not descended",
			msg:  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n",
			bs:   `("message" "rfc822" NIL NIL NIL "base64" 22 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0) 1 NIL NIL NIL NIL)`,
		},
		{
			name: "boundary prefix is not a delimiter",
			msg:  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n--b--\n",
			bs:   `(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 4 1 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.msg)
			got := string(p.AppendBodyStructure(nil, true))
			want := strings.ReplaceAll(tc.bs, `"NIL"`, "NIL")
			if got != want {
				t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, want)
			}
			if tc.body != "" {
				if got := string(p.AppendBodyStructure(nil, false)); got != tc.body {
					t.Errorf("BODY\n got %s\nwant %s", got, tc.body)
				}
			}
			if want := int64(len(crlf(strings.ReplaceAll(tc.msg, "\r\n", "\n")))); p.Size() != want {
				t.Errorf("Size = %d, want %d", p.Size(), want)
			}
		})
	}
}

func TestEnvelopeTranscript(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"m4 group and quoted name", msgM4, `("Wed, 5 Mar 2025 08:15:30 -0500" "=?UTF-8?B?w4lsw6hndmUgcsOpdW5pb24=?= [list]" (("=?UTF-8?Q?Andr=C3=A9_M=C3=BCller?=" NIL "andre" "example.de")) ((NIL NIL "list-bounces" "lists.example.com")) ((NIL NIL "list" "lists.example.com")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) (("Quoted, Name" NIL "q" "example.com")(NIL NIL "plain" "example.com")) NIL "<m2@example.org>" "<m4@example.de>")`},
		{"m2", msgM2, `("Tue, 4 Mar 2025 11:30:00 +0100" "Quarterly report" (("Carol C." NIL "carol" "example.org")) (("Carol C." NIL "carol" "example.org")) (("Carol C." NIL "carol" "example.org")) ((NIL NIL "alice" "example.com")(NIL NIL "bob" "example.com")) (("Dave" NIL "dave" "example.net")) NIL NIL "<m2@example.org>")`},
		{"empty", "\n", `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"8bit subject literal", "Subject: Caf\xc3\xa9\n\n", "(NIL {5}\r\nCaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)"},
		{"folded subject", "Subject: a\n b\n\n", `(NIL "a b" NIL NIL NIL NIL NIL NIL NIL NIL)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.msg)
			if got := string(p.Envelope.AppendIMAP(nil)); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func fetch(t *testing.T, msg string, spec string, partial ...int64) string {
	t.Helper()
	p := mustParse(t, msg)
	s, err := ParseSection(spec)
	if err != nil {
		t.Fatalf("ParseSection(%q): %v", spec, err)
	}
	if len(partial) == 2 {
		s.Partial, s.Start, s.Count = true, partial[0], partial[1]
	}
	r, n, err := FetchSection(strings.NewReader(msg), p, s)
	if err != nil {
		t.Fatalf("FetchSection(%q): %v", spec, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != n {
		t.Errorf("section %q: announced %d bytes, produced %d", spec, n, len(b))
	}
	return string(b)
}

const (
	topInnerHdr    = "From: sub@domain.org\nDate: Sun, 12 Aug 2012 12:34:56 +0300\nSubject: submsg\n\n"
	topInner       = topInnerHdr + "Hello world\n"
	msgTopRFC822   = "From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\nContent-Type: message/rfc822\n\n" + topInner
	msgTopRFC822x2 = "From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\nContent-Type: message/rfc822\n\n" +
		"From: user2@domain.org\nDate: Fri, 23 Mar 2007 11:22:33 +0200\nMime-Version: 1.0\nContent-Type: message/rfc822\n\n" + topInner
)

func TestFetchSectionTranscript(t *testing.T) {
	m5inner := "Date: Mon, 3 Mar 2025 10:00:00 +0000\nFrom: Bob Example <bob@example.com>\nTo: Alice Example <alice@example.com>\nSubject: Hello Alice\nMessage-ID: <m1@example.com>\n\n"
	tests := []struct {
		name, msg, spec string
		partial         []int64
		want            string
	}{
		{"header fields", msgM2, "HEADER.FIELDS (From To Subject Date)", nil,
			"Date: Tue, 4 Mar 2025 11:30:00 +0100\nFrom: \"Carol C.\" <carol@example.org>\nTo: alice@example.com, bob@example.com\nSubject: Quarterly report\n\n"},
		{"header fields not", msgM2, "HEADER.FIELDS.NOT (From To Subject Date Message-ID)", nil,
			"Cc: Dave <dave@example.net>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer-boundary\"\n\n"},
		{"part 1 is nested multipart body", msgM2, "1", nil,
			"--inner-boundary\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nPlease find the report attached. Caf=C3=A9.\n\n--inner-boundary\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<html><body><p>Please find the report attached. Caf=C3=A9.</p></body></html>\n\n--inner-boundary--\n"},
		{"1.1", msgM2, "1.1", nil, "Please find the report attached. Caf=C3=A9.\n"},
		{"1.2.MIME", msgM2, "1.2.MIME", nil, "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"},
		{"2 base64", msgM2, "2", nil, "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8\nPC9Sb290IDEgMCBSPj4KJSVFT0YK\n"},
		{"TEXT partial", msgM2, "TEXT", []int64{0, 40}, "This is a multi-part message in MIME for"},
		{"rfc822 part", msgM5, "2", nil, m5inner + "Hi Alice,\nThis is the first test message.\n"},
		{"rfc822 HEADER", msgM5, "2.HEADER", nil, m5inner},
		{"rfc822 TEXT", msgM5, "2.TEXT", nil, "Hi Alice,\nThis is the first test message.\n"},
		{"rfc822 2.1", msgM5, "2.1", nil, "Hi Alice,\nThis is the first test message.\n"},
		{"rfc822 2.1.MIME is embedded header", msgM5, "2.1.MIME", nil, m5inner},
		{"missing part", msgM4, "3", nil, ""},
		{"1 of single part", msgM4, "1", nil, "Caf\xe9 au lait.\nSecond line.\n"},
		{"1.1 of single part", msgM4, "1.1", nil, ""},
		{"HEADER of non-message part", msgM5, "1.HEADER", nil, ""},
		{"partial past end", msgM4, "TEXT", []int64{100, 10}, ""},
		{"partial middle", msgM4, "", []int64{10, 20}, " 5 Mar 2025 08:15:30"},
		{"whole", msgM5, "", nil, msgM5},
		// A top-level message/rfc822 (imaptest fetch-body-message-rfc822).
		{"top rfc822 1", msgTopRFC822, "1", nil, topInner},
		{"top rfc822 1.1", msgTopRFC822, "1.1", nil, "Hello world\n"},
		{"top rfc822 1.HEADER", msgTopRFC822, "1.HEADER", nil, topInnerHdr},
		{"top rfc822 1.TEXT", msgTopRFC822, "1.TEXT", nil, "Hello world\n"},
		{"top rfc822 1.HEADER.FIELDS", msgTopRFC822, "1.HEADER.FIELDS (from subject X-foo)", nil, "From: sub@domain.org\nSubject: submsg\n\n"},
		{"top rfc822 1.1.1 missing", msgTopRFC822, "1.1.1", nil, ""},
		{"two levels 1.1", msgTopRFC822x2, "1.1", nil, topInner},
		{"two levels 1.1.1", msgTopRFC822x2, "1.1.1", nil, "Hello world\n"},
		{"two levels 1.1.HEADER", msgTopRFC822x2, "1.1.HEADER", nil, topInnerHdr},
		{"case insensitive fields", msgM4, `HEADER.FIELDS ("message-id" X-PRIORITY)`, nil, "Message-ID: <m4@example.de>\nX-Priority: 1\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fetch(t, tc.msg, tc.spec, tc.partial...)
			want := tc.want
			if tc.partial == nil {
				want = crlf(want)
			}
			if got != want {
				t.Errorf("BODY[%s]\n got %q\nwant %q", tc.spec, got, want)
			}
		})
	}
}

func TestSectionParse(t *testing.T) {
	tests := []struct {
		in, out string
		bad     bool
	}{
		{"", "", false},
		{"1.2", "1.2", false},
		{"header", "HEADER", false},
		{"1.HEADER.FIELDS (From \"To\")", `1.HEADER.FIELDS ("From" "To")`, false},
		{"1.2.mime", "1.2.MIME", false},
		{"MIME", "", true},
		{"0", "", true},
		{"1.", "", true},
		{"HEADER.FIELDS ()", "", true},
		{"HEADER.FIELDS", "", true},
		{"TEXT x", "", true},
		{"FOO", "", true},
		{"1..2", "", true},
	}
	for _, tc := range tests {
		s, err := ParseSection(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseSection(%q) err = %v, bad %v", tc.in, err, tc.bad)
			continue
		}
		if err == nil && s.String() != tc.out {
			t.Errorf("ParseSection(%q).String() = %q, want %q", tc.in, s.String(), tc.out)
		}
	}
	if a, b, err := ParsePartial("<10.20>"); err != nil || a != 10 || b != 20 {
		t.Errorf("ParsePartial = %d %d %v", a, b, err)
	}
	for _, bad := range []string{"<1>", "<a.b>", "10.20", "<1.0>", "<-1.2>"} {
		if _, _, err := ParsePartial(bad); err == nil {
			t.Errorf("ParsePartial(%q) accepted", bad)
		}
	}
}

func TestCRLF(t *testing.T) {
	tests := []struct{ in, out string }{
		{"", ""},
		{"a\nb", "a\r\nb"},
		{"a\r\nb\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\rb\n", "a\rb\r\n"},
		{"x\r", "x\r"},
	}
	for _, tc := range tests {
		b, _ := io.ReadAll(CRLFReader(strings.NewReader(tc.in)))
		if string(b) != tc.out {
			t.Errorf("CRLFReader(%q) = %q, want %q", tc.in, b, tc.out)
		}
		// One byte at a time exercises the CR/LF split across reads.
		b, _ = io.ReadAll(CRLFReader(io.LimitReader(&oneByte{strings.NewReader(tc.in)}, 1<<20)))
		if string(b) != tc.out {
			t.Errorf("CRLFReader(1-byte %q) = %q, want %q", tc.in, b, tc.out)
		}
		n, _, _ := CRLFSize(strings.NewReader(tc.in))
		if n != int64(len(tc.out)) {
			t.Errorf("CRLFSize(%q) = %d, want %d", tc.in, n, len(tc.out))
		}
	}
}

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 200000)
	msg := "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + long + "\n--b\n\nshort\n--b--\n"
	p := mustParse(t, msg)
	if len(p.Children) != 2 || p.Children[0].BodySize != 200000 || p.Children[1].BodySize != 5 {
		t.Fatalf("long line: %s", p.AppendBodyStructure(nil, false))
	}
	if got := fetch(t, msg, "1"); got != long {
		t.Errorf("BODY[1] len %d", len(got))
	}
}

func TestHeader(t *testing.T) {
	h, err := ReadHeader(strings.NewReader("Subject: a\n\tb\nX: 1\r\nbad line\nsubject: second\n\nbody: no\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("SUBJECT"); got != "a\tb" {
		t.Errorf("Get = %q", got)
	}
	if got := h.Values("subject"); len(got) != 2 || got[1] != "second" {
		t.Errorf("Values = %q", got)
	}
	if h.Has("body") {
		t.Error("read past header end")
	}
	big := "X: " + strings.Repeat("y", MaxHeaderBytes) + "\n\n"
	if _, err := ReadHeader(strings.NewReader(big)); err != ErrHeaderTooLarge {
		t.Errorf("big header err = %v", err)
	}
}

func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, out string }{
		{"=?UTF-8?B?w4lsw6hndmUgcsOpdW5pb24=?= [list]", "Élègve réunion [list]"},
		{"=?iso-8859-1?q?caf=E9?= =?iso-8859-1?q?_x?=", "café x"},
		{"plain", "plain"},
		{"=?bogus-cs?q?x?= y", "=?bogus-cs?q?x?= y"},
		{"Caf\xe9", "Café"},
		{"=?windows-1252?Q?=80?=", "€"},
		{"=?KOI8-R?B?8NLJ18XU?=", "Привет"},
	}
	for _, tc := range tests {
		if got := DecodeWords(tc.in); got != tc.out {
			t.Errorf("DecodeWords(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestAddressList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a@b", `((NIL NIL "a" "b"))`},
		{"A <a@b>, \"C, D\" <c@d>", `(("A" NIL "a" "b")("C, D" NIL "c" "d"))`},
		{"<@r1,@r2:a@b>", `((NIL "@r1,@r2" "a" "b"))`},
		{"nodomain", `((NIL NIL "nodomain" ".MISSING-HOST-NAME."))`},
		{"g: a@b, c@d;, e@f", `((NIL NIL "g" NIL)(NIL NIL "a" "b")(NIL NIL "c" "d")(NIL NIL NIL NIL)(NIL NIL "e" "f"))`},
		{"g:;", `((NIL NIL "g" NIL)(NIL NIL NIL NIL))`},
		{"a@b (Comment)", `(("Comment" NIL "a" "b"))`},
		{"John Q. Public <jqp@x.y>", `(("John Q. Public" NIL "jqp" "x.y"))`},
		{"first.last@[1.2.3.4]", `((NIL NIL "first.last" "[1.2.3.4]"))`},
		{"<>", `NIL`},
		{"", `NIL`},
		{",,,", `NIL`},
		{"unterminated: a@b", `((NIL NIL "unterminated" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL))`},
	}
	for _, tc := range tests {
		got := string(appendAddressList(nil, ParseAddressList(tc.in)))
		if got != tc.want {
			t.Errorf("ParseAddressList(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, out string }{
		{"", `""`},
		{`a"b\c`, `"a\"b\\c"`},
		{"a\nb", "{3}\r\na\nb"},
		{"é", "{2}\r\né"},
		{strings.Repeat("a", 2000), "{2000}\r\n" + strings.Repeat("a", 2000)},
	}
	for _, tc := range tests {
		if got := string(AppendString(nil, tc.in)); got != tc.out {
			t.Errorf("AppendString(%.20q) = %.40q", tc.in, got)
		}
	}
	if got := string(AppendNString(nil, "")); got != "NIL" {
		t.Errorf("AppendNString empty = %q", got)
	}
}

func TestDepthAndPartLimits(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 200; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('A'+i%26)) + strings.Repeat("x", i) + "\n\n--b" + string(rune('A'+i%26)) + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("\ninner\n")
	msg := b.String()
	p := mustParse(t, msg)
	depth := 0
	for c := p; len(c.Children) > 0; c = c.Children[0] {
		depth++
	}
	if depth > MaxDepth+1 || depth < MaxDepth-1 {
		t.Errorf("depth %d, limit %d", depth, MaxDepth)
	}
	bs := string(p.AppendBodyStructure(nil, true))
	if strings.Count(bs, "(") != strings.Count(bs, ")") {
		t.Error("unbalanced BODYSTRUCTURE")
	}
}

func TestPartLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\n\n")
	for i := 0; i < MaxParts+500; i++ {
		b.WriteString("--b\n\nx\n")
	}
	b.WriteString("--b--\n")
	msg := b.String()
	p := mustParse(t, msg)
	if len(p.Children) >= MaxParts {
		t.Errorf("%d parts, limit %d", len(p.Children), MaxParts)
	}
	if p.Size() != int64(len(crlf(msg))) {
		t.Errorf("size %d, want %d", p.Size(), len(crlf(msg)))
	}
	bs := string(p.AppendBodyStructure(nil, true))
	if strings.Count(bs, "(") != strings.Count(bs, ")") {
		t.Error("unbalanced BODYSTRUCTURE")
	}
}

// TestCourierSizes checks the literal sizes Courier announced in
// transcript 06 (reference §4.5), except where Courier is one byte off.
func TestCourierSizes(t *testing.T) {
	tests := []struct {
		msg, spec string
		size      int
	}{
		{msgM2, "", 1096},
		{msgM4, "", 563},
		{msgM5, "", 582},
		{msgM2, "HEADER.FIELDS (From To Subject Date)", 145},
		{msgM2, "HEADER.FIELDS.NOT (From To Subject Date Message-ID)", 108},
		{msgM2, "1", 358},
		{msgM2, "1.1", 45},
		{msgM2, "1.2.MIME", 87},
		{msgM2, "2", 108},
		{msgM5, "2.HEADER", 168},
		{msgM5, "2", 212},     // Courier: 213, with a trailing lone CR
		{msgM5, "2.TEXT", 44}, // Courier: 45
		{msgM4, "TEXT", 29},
		{msgM4, "1", 29},
	}
	for _, tc := range tests {
		if got := len(fetch(t, tc.msg, tc.spec)); got != tc.size {
			t.Errorf("BODY[%s] of a %d-byte message: %d bytes, want %d", tc.spec, len(tc.msg), got, tc.size)
		}
	}
}

// TestAddressCommentName: only a comment after a bare addr-spec names the
// address (RFC 822's "user@domain (Real Name)", shown by Courier); a
// comment elsewhere, or one next to a display name, does not.
func TestAddressCommentName(t *testing.T) {
	tests := []struct{ in, name string }{
		{"user@example.com (Real Name)", "Real Name"},
		{"user@example.com (Real \\(x\\)  Name)", "Real (x) Name"},
		{"Display <user@example.com> (ignored)", "Display"},
		{"(leading) user@example.com", ""},
		{"user(inner)@example.com", ""},
	}
	for _, tc := range tests {
		as := ParseAddressList(tc.in)
		if len(as) != 1 || as[0].Name != tc.name {
			t.Errorf("ParseAddressList(%q) = %+v, want name %q", tc.in, as, tc.name)
		}
	}
}
