package mime

import (
	"io"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{msgM2, msgM4, msgM5, "", "\n", "Content-Type: multipart/mixed; boundary=a\n\n--a\n--a--",
		"Content-Type: message/rfc822\n\nContent-Type: multipart/x; boundary=q\n\n--q\r\n\r\nx\r\n--q--\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		p, err := Parse(strings.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		_ = p.AppendBodyStructure(nil, true)
		_ = p.AppendBodyStructure(nil, false)
		if want, _, _ := CRLFSize(strings.NewReader(msg)); p.Size() != want {
			t.Fatalf("Size %d, CRLF size %d", p.Size(), want)
		}
		// Every section of every part must produce the announced size.
		var paths [][]int
		var walk func(q *Part, path []int)
		walk = func(q *Part, path []int) {
			if len(paths) > 50 {
				return
			}
			paths = append(paths, path)
			if !q.IsMultipart() {
				// BODYSTRUCTURE line counts must match the data sent.
				_, lines, _ := CRLFSize(q.Body(strings.NewReader(msg)))
				if lines != q.BodyLines {
					t.Fatalf("part %v: BodyLines %d, body has %d lines", path, q.BodyLines, lines)
				}
			}
			if q.Message != nil {
				q = q.Message
			}
			for i, c := range q.Children {
				walk(c, append(append([]int(nil), path...), i+1))
			}
		}
		walk(p, nil)
		for _, path := range paths {
			for _, spec := range []string{"", "HEADER", "TEXT", "MIME", "HEADER.FIELDS"} {
				s := Section{Part: path, Specifier: spec}
				if spec == "HEADER.FIELDS" {
					s.Fields = []string{"Subject"}
				}
				if spec == "MIME" && len(path) == 0 {
					continue
				}
				r, n, err := FetchSection(strings.NewReader(msg), p, s)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r)
				if int64(len(b)) != n {
					t.Fatalf("section %v: announced %d, got %d", s, n, len(b))
				}
				if strings.Contains(strings.ReplaceAll(string(b), "\r\n", ""), "\n") {
					t.Fatalf("section %v: bare LF in output", s)
				}
			}
		}
	})
}

func FuzzAddressList(f *testing.F) {
	for _, s := range []string{"a@b", "A <a@b>, g: c@d;", "<@r:x@y>", `"q\"x" <a@b>`, "(c) a@[1.2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := ParseAddressList(s)
		depth := 0
		for _, a := range l {
			if a.GroupStart {
				depth++
			}
			if a.GroupEnd {
				depth--
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("unbalanced groups in %q", s)
			}
			if !a.GroupStart && !a.GroupEnd && a.Mailbox == "" && a.Host == "" {
				t.Fatalf("empty address from %q", s)
			}
		}
		if depth != 0 {
			t.Fatalf("unclosed group from %q", s)
		}
		_ = appendAddressList(nil, l)
	})
}

func FuzzSection(f *testing.F) {
	for _, s := range []string{"", "1.2", "HEADER.FIELDS (a \"b\")", "1.MIME", "TEXT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sec, err := ParseSection(s)
		if err != nil {
			return
		}
		again, err := ParseSection(sec.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", sec.String(), s, err)
		}
		if again.String() != sec.String() {
			t.Fatalf("round trip %q -> %q", sec.String(), again.String())
		}
		p := mustParse(t, msgM5)
		r, n, err := FetchSection(strings.NewReader(msgM5), p, sec)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		if int64(len(b)) != n {
			t.Fatalf("announced %d got %d", n, len(b))
		}
	})
}

func FuzzHeader(f *testing.F) {
	f.Add("Subject: a\n b\n\nbody")
	f.Add("=?utf-8?q?x?=")
	f.Fuzz(func(t *testing.T, s string) {
		h, _ := ReadHeader(strings.NewReader(s))
		for _, fl := range h.Fields {
			_ = DecodeWords(fl.Value)
		}
	})
}
