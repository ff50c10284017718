package mime

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// writeBigMessage writes a multipart message of about size bytes: text
// parts, base64 attachments and a forwarded message/rfc822, LF ends.
func writeBigMessage(t testing.TB, size int) (string, int64) {
	path := filepath.Join(t.TempDir(), "big.eml")
	var b bytes.Buffer
	b.WriteString("From: a@b\nTo: c@d\nSubject: big\nContent-Type: multipart/mixed; boundary=\"=big=\"\n\npreamble\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\n"
	for i := 0; b.Len() < size; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "--=big=\nContent-Type: text/plain; charset=utf-8\n\n")
			for j := 0; j < 200; j++ {
				b.WriteString("Some text of the message body, line by line.\n")
			}
		case 1:
			fmt.Fprintf(&b, "--=big=\nContent-Type: application/octet-stream; name=\"f%d.bin\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"f%d.bin\"\n\n", i, i)
			for j := 0; j < 2000; j++ {
				b.WriteString(line)
			}
		case 2:
			fmt.Fprintf(&b, "--=big=\nContent-Type: message/rfc822\n\nFrom: x@y\nSubject: inner %d\nContent-Type: multipart/alternative; boundary=in%d\n\n--in%d\nContent-Type: text/plain\n\nhello\n--in%d\nContent-Type: text/html\n\n<p>hello</p>\n--in%d--\n", i, i, i, i, i)
		}
	}
	b.WriteString("--=big=--\n")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, int64(b.Len())
}

func TestBigMessageBounded(t *testing.T) {
	path, size := writeBigMessage(t, 10<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	root, err := Parse(f, size)
	if err != nil {
		t.Fatal(err)
	}
	bs := root.AppendBodyStructure(nil, true)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("parse+BODYSTRUCTURE of %d bytes, %d parts: %v, %d bytes allocated, BODYSTRUCTURE %d bytes",
		size, len(root.Children), elapsed, alloc, len(bs))
	if alloc > uint64(size)/4 {
		t.Errorf("allocated %d bytes for a %d byte message: not bounded", alloc, size)
	}
	// The whole-message fetch streams the CRLF form with the announced size.
	r, n, err := FetchSection(f, root, Section{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.Copy(io.Discard, r)
	if err != nil || got != n {
		t.Fatalf("BODY[] produced %d of %d bytes: %v", got, n, err)
	}
	want, _, _ := CRLFSize(io.NewSectionReader(f, 0, size))
	if n != want {
		t.Errorf("BODY[] size %d, CRLF size %d", n, want)
	}
}

func BenchmarkParse10MB(b *testing.B) {
	path, size := writeBigMessage(b, 10<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(size)
	for i := 0; i < b.N; i++ {
		root, err := Parse(f, size)
		if err != nil {
			b.Fatal(err)
		}
		_ = root.AppendBodyStructure(nil, true)
	}
}
