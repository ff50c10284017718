package mime

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"gocourier/internal/msggen"
)

// describe renders everything Parse computes about every part.
func describe(root *Part) string {
	var sb strings.Builder
	root.Walk(func(p *Part) bool {
		fmt.Fprintf(&sb, "%d %d %d %d %d %d|", p.HeaderStart, p.BodyStart, p.BodyEnd, p.HeaderSize, p.BodySize, p.BodyLines)
		return true
	})
	sb.Write(root.AppendBodyStructure(nil, true))
	return sb.String()
}

func parseBoth(t *testing.T, name string, msg []byte) {
	t.Helper()
	defer func() { fastSkip = true }()
	fastSkip = false
	slow, err1 := Parse(bytes.NewReader(msg), int64(len(msg)))
	fastSkip = true
	fast, err2 := Parse(bytes.NewReader(msg), int64(len(msg)))
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("%s: errors differ: %v / %v", name, err1, err2)
	}
	if err1 != nil {
		return
	}
	if a, b := describe(slow), describe(fast); a != b {
		t.Errorf("%s: line-by-line and skipping parses differ:\n%s\n%s", name, a, b)
	}
}

// TestSkipPlainSameParse checks that skipping body lines in bulk gives
// exactly the parse of the line-by-line scan: generated messages (LF
// and CRLF, multipart with attachments), hand-made edge cases, and
// random line soups with dashes, CRs and missing final newlines.
func TestSkipPlainSameParse(t *testing.T) {
	g := msggen.New(7, msggen.Options{MaxSize: 300 << 10})
	for i := 0; i < 150; i++ {
		var b bytes.Buffer
		g.Next().WriteTo(&b)
		parseBoth(t, fmt.Sprintf("gen %d", i), b.Bytes())
		parseBoth(t, fmt.Sprintf("gen %d crlf", i), bytes.ReplaceAll(b.Bytes(), []byte("\n"), []byte("\r\n")))
	}
	cases := map[string]string{
		"plain":           "Subject: x\n\na\nb\nc\n",
		"no final lf":     "Subject: x\n\na\nb\nc",
		"delimiter early": "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
		"dash lines":      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n-x\n--\n---b\n--bb\n--b\n\ny\r\n\r\n--b--\nepi\n",
		"nested":          "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\n1\n2\n3\n--o\n\nz\n--o--\n",
		"cr soup":         "Content-Type: multipart/mixed; boundary=b\n\n--b\n\r\n\r\r\n\ra\n\n--b\r\n\r\nq\r\n--b--",
	}
	for name, m := range cases {
		parseBoth(t, name, []byte(m))
	}
	r := rand.New(rand.NewSource(1))
	pieces := []string{"\n", "\r\n", "-", "--b", "--b--", "x", "\r", "Content-Type: multipart/mixed; boundary=b\n", "\n\n", strings.Repeat("y", 70000)}
	for i := 0; i < 400; i++ {
		var sb strings.Builder
		sb.WriteString("Content-Type: multipart/mixed; boundary=b\n\n")
		for k := r.Intn(60); k > 0; k-- {
			sb.WriteString(pieces[r.Intn(len(pieces))])
		}
		parseBoth(t, fmt.Sprintf("soup %d", i), []byte(sb.String()))
	}
}

// TestDashLine checks dashLine against the plain search it replaces.
func TestDashLine(t *testing.T) {
	ref := func(win []byte) int {
		if j := bytes.Index(win, []byte("\n-")); j >= 0 {
			return j + 1
		}
		return -1
	}
	cases := []string{"a", "a\n", "a\n-", "a-b\n-c", "a-b", "a-\n", "a\n\n-", "x---\n--\n", "a-b-c\nd-e\n-f", "\n-", "a\r\n-b"}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 2000; i++ {
		b := make([]byte, 1+rng.Intn(40))
		for j := range b {
			b[j] = "ab-\n\r"[rng.Intn(5)]
		}
		if b[0] == '-' {
			b[0] = 'a'
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := dashLine([]byte(c)), ref([]byte(c)); got != want {
			t.Errorf("dashLine(%q) = %d, want %d", c, got, want)
		}
	}
}
