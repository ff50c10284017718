package mime

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"gocourier/internal/msggen"
)

// The golden file pins what Parse, ENVELOPE and BODYSTRUCTURE produce for
// a varied corpus, so that speed work on the scanner, the header builder
// and the address parser cannot change a byte a client sees. Regenerate
// (only for an intended change of output) with
//
//	go test ./internal/mime -run TestGoldenStructure -update-golden
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/structure.golden")

const goldenPath = "testdata/structure.golden"

// goldenAddrs are address fields with the RFC 5322 corners: groups,
// routes, comments, quoted strings, domain literals, missing parts.
var goldenAddrs = []string{
	"a@b", "A <a@b>, g: c@d;", "<@r:x@y>", `"q\"x" <a@b>`, "(c) a@[1.2]",
	"user@example.com (Real Name)", "user @ example . com", "Name (c1) <u (c2) @ d (c3)> (c4)",
	"undisclosed-recipients:;", "g1: a@b, c@d; g2:; e@f", `"a, b" <x@y>, plain@z`,
	"=?UTF-8?B?w4lsw6hndmU=?= <e@x>", "Mr. J. Doe <jd@x>", "<a@b>, <c@d>,, ,e@f",
	"@a,@b:c@d", "<@a,@b:c@d>", "name <local>", "bare", `"" <a@b>`, "a@b (unterminated",
	`"unterminated <a@b>`, "[lit] <a@b>", "a.b.c@d.e.f", "a..b@c", "(only comment)", "",
	"a@b;", ">a@b<", "\\x <a@b>", "Name <a@b> (after), Other <c@d>", "a\n b@c\n .d",
	"\"q\\\n x\" <a@b>", "(nested (comment) here) a@b", "a@b (x) (y)", "x:y:z@w;", "<>",
}

func goldenCorpus() []string {
	var c []string
	c = append(c, msgM2, msgM4, msgM5, "", "\n", "\r\n", "Subject: x", "Subject: x\n",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\n--a--",
		"Content-Type: message/rfc822\n\nContent-Type: multipart/x; boundary=q\n\n--q\r\n\r\nx\r\n--q--\r\n")
	for _, a := range goldenAddrs {
		c = append(c, "From: "+a+"\nTo: "+a+"\nCc: "+a+", x@y\nSender: "+a+"\nReply-To: "+a+"\nBcc: "+a+"\nSubject: s\n\nbody\n")
	}
	// Generated mail of the benchmark's kind, LF and CRLF.
	g := msggen.New(7, msggen.Options{MaxSize: 700 << 10})
	var gen []string
	for i := 0; i < 120; i++ {
		var b bytes.Buffer
		if _, err := g.Next().WriteTo(&b); err != nil {
			panic(err)
		}
		gen = append(gen, b.String())
	}
	for _, m := range gen {
		c = append(c, m, strings.ReplaceAll(m, "\n", "\r\n"))
	}
	// Damaged copies: cut at random points (mid-line, mid-boundary,
	// across the scanner window), dashes and blank lines planted.
	rng := rand.New(rand.NewSource(11))
	for _, m := range gen[:60] {
		for k := 0; k < 3; k++ {
			c = append(c, m[:rng.Intn(len(m)+1)])
		}
		b := []byte(m)
		for k := 0; k < 8; k++ {
			i := rng.Intn(len(b))
			switch k % 4 {
			case 0:
				b[i] = '-'
			case 1:
				b[i] = '\n'
			case 2:
				b[i] = '\r'
			default:
				b = append(b[:i], append([]byte("\n--\n-"), b[i:]...)...)
			}
		}
		c = append(c, string(b))
	}
	// Long lines around the 64 KiB window, boundaries straddling it.
	for _, n := range []int{scanBufSize - 3, scanBufSize - 1, scanBufSize, scanBufSize + 1, 3*scanBufSize + 5} {
		long := strings.Repeat("x", n)
		c = append(c, "Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\n"+long+"\n--zz\n\nshort\n--zz--\n",
			"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\n"+strings.Repeat("ab\n", n/3)+"--zz\n\n"+long+"\r\n--zz--",
			"Subject: "+long+"\nTo: a@b\n\n"+long)
	}
	return c
}

// goldenOf is everything of a parse a client can see: ENVELOPE, BODY,
// BODYSTRUCTURE and the offsets behind BODY[section].
func goldenOf(msg string) string {
	p, err := Parse(strings.NewReader(msg), int64(len(msg)))
	if err != nil {
		return "error " + err.Error()
	}
	var b []byte
	b = p.Envelope.AppendIMAP(b)
	b = append(b, '\n')
	b = p.AppendBodyStructure(b, true)
	b = append(b, '\n')
	b = p.AppendBodyStructure(b, false)
	p.Walk(func(q *Part) bool {
		b = fmt.Appendf(b, "\n%d %d %d %d %d %d %d", q.HeaderStart, q.BodyStart, q.BodyEnd, q.HeaderSize, q.BodySize, q.BodyLines, q.headerLines)
		return true
	})
	return string(b)
}

func TestGoldenStructure(t *testing.T) {
	corpus := goldenCorpus()
	var got []string
	for i, m := range corpus {
		// Each line carries the input's hash too, so that a change of
		// msggen's output reads as a changed corpus, not as a changed
		// parse.
		in := sha256.Sum256([]byte(m))
		sum := sha256.Sum256([]byte(goldenOf(m)))
		got = append(got, strconv.Itoa(i)+" "+hex.EncodeToString(in[:8])+" "+hex.EncodeToString(sum[:16]))
	}
	for i, a := range goldenAddrs {
		sum := sha256.Sum256(appendAddressList(nil, ParseAddressList(a)))
		got = append(got, "addr"+strconv.Itoa(i)+" "+hex.EncodeToString(sum[:16]))
	}
	if *updateGolden {
		if err := os.WriteFile(goldenPath, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want = append(want, sc.Text())
	}
	if len(want) != len(got) {
		t.Fatalf("golden has %d entries, corpus %d", len(want), len(got))
	}
	bad := 0
	for i := range got {
		if got[i] == want[i] || bad >= 10 {
			continue
		}
		bad++
		g, w := strings.Fields(got[i]), strings.Fields(want[i])
		if len(g) == 3 && len(w) == 3 && g[1] != w[1] {
			t.Errorf("entry %s: the corpus message itself changed (msggen?); check the parse against the old code before -update-golden", g[0])
			continue
		}
		t.Errorf("entry %s changed (was %s)", got[i], want[i])
	}
}

// TestAddressStrayBracket: a ']' outside a domain literal is atom text;
// it used to stall the tokenizer until its token limit (100,000 empty
// atoms, a quarter second per field) and lose the addresses after it.
func TestAddressStrayBracket(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Name ] <a@b>", `(("Name ]" NIL "a" "b"))`},
		{"a]b@c", `((NIL NIL "a]b" "c"))`},
		{"x ] y, z@w", `((NIL NIL "x]y" ".MISSING-HOST-NAME.")(NIL NIL "z" "w"))`},
		{"]", `((NIL NIL "]" ".MISSING-HOST-NAME."))`},
	} {
		if got := string(appendAddressList(nil, ParseAddressList(c.in))); got != c.want {
			t.Errorf("%q: got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"abc"`, "abc"}, {`""`, ""}, {`"`, ""}, {`"abc`, "abc"}, {`"a\"b"`, `a"b`},
		{`"a\\b"`, `a\b`}, {"\"a\nb\"", "ab"}, {"\"a\r\n b\"", "a b"}, {`"a"b"`, "a"},
		{`plain`, "plain"}, {`"a\`, `a\`}, {`"x" tail`, "x"},
	} {
		if got := unquote(c.in); got != c.want {
			t.Errorf("unquote(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
