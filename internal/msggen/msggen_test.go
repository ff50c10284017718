package msggen

import (
	"bytes"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

func gen(t *testing.T, seed int64, n int, opt Options) ([]*Message, [][]byte) {
	t.Helper()
	g := New(seed, opt)
	var ms []*Message
	var bs [][]byte
	for i := 0; i < n; i++ {
		m := g.Next()
		var b bytes.Buffer
		if _, err := m.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
		bs = append(bs, b.Bytes())
	}
	return ms, bs
}

func TestDeterministic(t *testing.T) {
	_, a := gen(t, 7, 50, Options{MaxSize: 200 << 10})
	_, b := gen(t, 7, 50, Options{MaxSize: 200 << 10})
	_, c := gen(t, 8, 50, Options{MaxSize: 200 << 10})
	same := true
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("message %d differs between runs with the same seed", i)
		}
		same = same && bytes.Equal(a[i], c[i])
	}
	if same {
		t.Fatal("different seeds gave identical messages")
	}
}

func TestMessagesParseAndSizes(t *testing.T) {
	cases := []struct {
		name     string
		opt      Options
		min, max int
	}{
		{"default-capped", Options{MaxSize: 1 << 20}, 1024, 1 << 20},
		{"tiny", Options{MinSize: 1024, MaxSize: 2048}, 1024, 2048},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, bs := gen(t, 1, 300, tc.opt)
			replies, rare, multipart, nonASCII := 0, 0, 0, 0
			for i, b := range bs {
				if bytes.Contains(b, []byte("\r\n")) {
					t.Fatalf("message %d has CRLF", i)
				}
				for _, line := range strings.Split(string(b), "\n") {
					if len(line) > 998 {
						t.Fatalf("message %d has a %d-octet line", i, len(line))
					}
				}
				// the size is a target: allow slack for headers and MIME framing
				if len(b) < tc.min/2 || len(b) > tc.max+tc.max/4+4096 {
					t.Fatalf("message %d size %d outside [%d,%d]", i, len(b), tc.min, tc.max)
				}
				msg, err := mail.ReadMessage(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if msg.Header.Get("References") != "" {
					replies++
				}
				if _, err := msg.Header.Date(); err != nil {
					t.Fatalf("message %d date: %v", i, err)
				}
				if strings.Contains(msg.Header.Get("From")+msg.Header.Get("Subject"), "=?UTF-8?") {
					nonASCII++
				}
				ent, err := message.Read(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("message %d MIME: %v", i, err)
				}
				if mr := ent.MultipartReader(); mr != nil {
					multipart++
					parts := 0
					for {
						p, err := mr.NextPart()
						if err != nil {
							break
						}
						_ = p
						parts++
					}
					if parts < 2 {
						t.Fatalf("message %d: multipart with %d parts", i, parts)
					}
				}
				if bytes.Contains(b, []byte(RareWord)) != ms[i].Rare {
					t.Fatalf("message %d: rare word presence %v, want %v", i, !ms[i].Rare, ms[i].Rare)
				}
				if ms[i].Rare {
					rare++
				}
			}
			if replies < 60 || multipart == 0 || nonASCII == 0 {
				t.Fatalf("unrealistic mix: replies=%d multipart=%d nonASCII=%d", replies, multipart, nonASCII)
			}
			_ = rare
		})
	}
}

func TestWriteMaildir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	st, err := WriteMaildir(dir, 40, 3, 5, Options{MaxSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 40 {
		t.Fatalf("messages = %d", st.Messages)
	}
	cur, _ := os.ReadDir(filepath.Join(dir, "cur"))
	nw, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(cur) != 37 || len(nw) != 3 {
		t.Fatalf("cur=%d new=%d, want 37 and 3", len(cur), len(nw))
	}
	var total int64
	for _, e := range cur {
		fi, _ := e.Info()
		total += fi.Size()
		if !strings.Contains(e.Name(), ",S=") || !strings.Contains(e.Name(), ":2,") {
			t.Fatalf("bad name %q", e.Name())
		}
		if want := ",S=" + itoa(fi.Size()); !strings.Contains(e.Name(), want) {
			t.Fatalf("name %q lacks %s", e.Name(), want)
		}
	}
	for _, e := range nw {
		fi, _ := e.Info()
		total += fi.Size()
		if strings.Contains(e.Name(), ":2,") {
			t.Fatalf("new/ file with info: %q", e.Name())
		}
	}
	if total != st.Bytes {
		t.Fatalf("bytes %d, stats %d", total, st.Bytes)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzWriteTo(f *testing.F) {
	f.Add(int64(1), 3)
	f.Fuzz(func(t *testing.T, seed int64, n int) {
		if n < 0 || n > 5 {
			return
		}
		g := New(seed, Options{MaxSize: 8 << 10})
		for i := 0; i < n; i++ {
			var b bytes.Buffer
			if _, err := g.Next().WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			if _, err := mail.ReadMessage(&b); err != nil {
				t.Fatal(err)
			}
		}
	})
}
