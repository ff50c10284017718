package msgsearch

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gocourier/internal/mime"
)

// Messages of transcript 08 (reference §4.8), LF line ends as stored.
var (
	msgBareLF = "Subject: bare LF message\nFrom: a@b\n\nbody with LF only\n"
	msgM1     = "Date: Mon, 3 Mar 2025 10:00:00 +0000\nFrom: Bob Example <bob@example.com>\nTo: Alice Example <alice@example.com>\nSubject: Hello Alice\nMessage-ID: <m1@example.com>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHi Alice,\n\nThis is the first test message.\n-- \nBob\n"
	msgM2     = strings.Join([]string{
		"Date: Tue, 4 Mar 2025 11:30:00 +0100",
		`From: "Carol C." <carol@example.org>`,
		"To: alice@example.com, bob@example.com",
		"Subject: Quarterly report",
		"Message-ID: <m2@example.org>",
		`Content-Type: multipart/mixed; boundary="outer"`,
		"",
		"--outer",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"Please find the report attached. Caf=C3=A9.",
		"",
		"--outer",
		`Content-Type: application/pdf; name="report.pdf"`,
		"Content-Transfer-Encoding: base64",
		"",
		"JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK",
		"",
		"--outer--",
		"",
	}, "\n")
	msgM4  = "From: =?UTF-8?Q?Andr=C3=A9_M=C3=BCller?= <andre@example.de>\nSubject: =?UTF-8?B?w4lsw6hndmUgcsOpdW5pb24=?= [list]\nContent-Type: text/plain; charset=\"iso-8859-1\"; format=flowed\nContent-Transfer-Encoding: 8bit\n\nCaf\xe9 au lait.\nSecond line.\n"
	msgM5  = "From: Bob Example <bob@example.com>\nSubject: Fwd: Hello Alice\nContent-Type: multipart/mixed; boundary=\"fwd\"\n\n--fwd\nContent-Type: text/plain; charset=us-ascii\n\nForwarding the original.\n\n--fwd\nContent-Type: message/rfc822\n\nSubject: Hello Alice\nFrom: Bob Example <bob@example.com>\n\nHi Alice,\nThis is the first test message.\n\n--fwd--\n"
	msgB64 = "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: base64\n\n8NLJ18XU\nIM3J0g==\n"
)

var corpus = []string{msgBareLF, msgM1, msgM2, msgM4, msgM5, msgB64}

func hits(t *testing.T, f func(msg string, root *mime.Part) bool) []int {
	var out []int
	for i, m := range corpus {
		root, err := mime.Parse(strings.NewReader(m), int64(len(m)))
		if err != nil {
			t.Fatal(err)
		}
		if f(m, root) {
			out = append(out, i+1)
		}
	}
	return out
}

func eq(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSearchTranscript(t *testing.T) {
	body := func(needle string) func(string, *mime.Part) bool {
		return func(m string, root *mime.Part) bool {
			ok, err := BodyContains(strings.NewReader(m), int64(len(m)), root, needle)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
	}
	text := func(needle string) func(string, *mime.Part) bool {
		return func(m string, root *mime.Part) bool {
			ok, err := TextContains(strings.NewReader(m), int64(len(m)), root, needle)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
	}
	header := func(field, needle string) func(string, *mime.Part) bool {
		return func(m string, root *mime.Part) bool {
			h, err := root.Header(strings.NewReader(m))
			if err != nil {
				t.Fatal(err)
			}
			return HeaderContains(h, field, needle)
		}
	}
	tests := []struct {
		name string
		f    func(string, *mime.Part) bool
		want []int
	}{
		{"FROM bob", header("From", "bob"), []int{2, 5}},
		{"SUBJECT hello (case-insensitive)", header("subject", "HELLO"), []int{2, 5}},
		{"SUBJECT decoded Élèg", header("Subject", "élèg"), []int{4}},
		{"FROM decoded müller", header("From", "MÜLLER"), []int{4}},
		{"SUBJECT caf", header("Subject", "caf"), nil},
		{"HEADER empty matches presence", header("Date", ""), []int{2, 3}},
		{"BODY report", body("report"), []int{3}},
		{"BODY Café qp utf-8 and latin1 8bit", body("Café"), []int{3, 4}},
		{"BODY base64 koi8-r", body("привет мир"), []int{6}},
		{"BODY not in base64 attachment", body("PDF-1.4"), nil},
		{"BODY embedded message", body("first test"), []int{2, 5}},
		{"TEXT first test", text("first test"), []int{2, 5}},
		{"TEXT header only", text("Quarterly"), []int{3}},
		{"BODY does not see header", body("Quarterly"), nil},
		{"BODY across lines", body("lait.\nsecond"), []int{4}},
		{"BODY CRLF needle on LF text", body("lait.\r\nsecond"), []int{4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hits(t, tc.f); !eq(got, tc.want) {
				t.Errorf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestToUTF8(t *testing.T) {
	tests := []struct {
		cs, in, out string
		bad         bool
	}{
		{"UTF-8", "Élèg", "Élèg", false},
		{"US-ASCII", "foo", "foo", false},
		{"ISO-8859-1", "caf\xe9", "café", false},
		{"iso-8859-15", "\xa4", "€", false},
		{"windows-1252", "\x80", "€", false},
		{"KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет", false},
		{"BOGUS-CS", "foo", "", true},
	}
	for _, tc := range tests {
		got, err := ToUTF8(tc.cs, []byte(tc.in))
		if tc.bad {
			if !errors.Is(err, ErrBadCharset) {
				t.Errorf("ToUTF8(%s) err = %v, want ErrBadCharset", tc.cs, err)
			}
			continue
		}
		if err != nil || got != tc.out {
			t.Errorf("ToUTF8(%s, %q) = %q, %v; want %q", tc.cs, tc.in, got, err, tc.out)
		}
	}
}

func TestFold(t *testing.T) {
	for _, p := range [][2]string{{"ÉLÈVE", "élève"}, {"\u212a", "k"}, {"ΣΑΣ", "σας"}} {
		if Fold(p[0]) != Fold(p[1]) {
			t.Errorf("Fold(%q)=%q != Fold(%q)=%q", p[0], Fold(p[0]), p[1], Fold(p[1]))
		}
	}
	if Fold("a") == Fold("b") {
		t.Error("fold merges distinct letters")
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC, "" for an error
	}{
		{"Mon, 3 Mar 2025 10:00:00 +0000", "2025-03-03T10:00:00Z"},
		{"Tue, 4 Mar 2025 11:30:00 +0100", "2025-03-04T10:30:00Z"},
		{"Wed, 5 Mar 2025 08:15:30 -0500", "2025-03-05T13:15:30Z"},
		{"5 Mar 2025 08:15 EST", "2025-03-05T13:15:00Z"},
		{"Thu, 06 Mar 25 09:00:00 GMT", "2025-03-06T09:00:00Z"},
		{"6 Mar 99 09:00:00 +0000", "1999-03-06T09:00:00Z"},
		{"6 Mar 105 09:00:00 +0000", "2005-03-06T09:00:00Z"},
		{"Thu (comment), 6 Mar 2025 09:00:00 +0000 (UTC)", "2025-03-06T09:00:00Z"},
		{"6 March 2025 09:00:00 Z", "2025-03-06T09:00:00Z"},
		{"6 Mar 2025 09:00:00 A", "2025-03-06T09:00:00Z"},
		{"Mar 6 2025 09:00:00 +0000", "2025-03-06T09:00:00Z"},
		{"6 Mar 2025", "2025-03-06T00:00:00Z"},
		{"31 Feb 2025 10:00:00 +0000", ""},
		{"6 Mar 2025 25:00:00 +0000", ""},
		{"garbage", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, err := ParseDate(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseDate(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tc.in, err)
			continue
		}
		if s := got.UTC().Format(time.RFC3339); s != tc.want {
			t.Errorf("ParseDate(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
	// The calendar date stays the one written (SENTON ignores the zone).
	d, _ := ParseDate("Tue, 4 Mar 2025 00:30:00 +0100")
	if d.Day() != 4 {
		t.Errorf("calendar day = %d, want 4", d.Day())
	}
}

func FuzzParseDate(f *testing.F) {
	f.Add("Mon, 3 Mar 2025 10:00:00 +0000")
	f.Add("3 Mar 99 10:00 EST")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDate(s); err == nil && d.Year() > 10000 {
			t.Fatalf("absurd year from %q", s)
		}
	})
}

func FuzzBodyContains(f *testing.F) {
	f.Add(msgM2, "café")
	f.Add(msgB64, "x")
	f.Fuzz(func(t *testing.T, msg, needle string) {
		root, err := mime.Parse(strings.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := TextContains(strings.NewReader(msg), int64(len(msg)), root, needle); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHeaderContainsAddresses: FROM/TO/CC/BCC match the address as the
// envelope has it (RFC 3501 §6.4.4), so comments and quoting inside an
// address do not hide it; plain substrings of the raw text still match.
func TestHeaderContainsAddresses(t *testing.T) {
	tests := []struct {
		name, field, value, needle string
		want                       bool
	}{
		{"comments inside addr-spec", "From", "<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", true},
		{"trailing comment name", "From", "user@domain.org (Real Name)", "real name", true},
		{"quoted display name", "To", `"Real To" <u@d.org>`, "real to <u@d.org>", true},
		{"group member", "Cc", "grp: a (x) @ b.org;", "a@b.org", true},
		{"raw text still matches", "From", "<user-from (comment)@ (comment) domain.org>", "(comment)", true},
		{"other address", "From", "<user-from (c)@ domain.org>", "user-to@domain.org", false},
		{"not an address field", "Subject", "<a (c)@ b.org>", "a@b.org", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mime.Header{Fields: []mime.Field{{Name: tc.field, Value: tc.value}}}
			if got := HeaderContains(h, tc.field, tc.needle); got != tc.want {
				t.Errorf("HeaderContains(%s: %s, %q) = %v", tc.field, tc.value, tc.needle, got)
			}
		})
	}
}
