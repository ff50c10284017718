package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSizeAndDate(t *testing.T) {
	big := strings.Repeat("0123456789abcdef\n", 40000) // > one 256 KiB read
	cases := []struct {
		name    string
		body    string
		setup   func(t *testing.T, path string) // replaces the file after the open
		want    int64                           // -1: an error is expected
		renamed bool
	}{
		{name: "small", body: "Subject: a\n\nbody\n", want: 17 + 3},
		{name: "no final LF", body: "Subject: a\n\nbody", want: 16 + 2},
		{name: "bigger than the buffer", body: "Subject: b\n\n" + big, want: int64(12+len(big)) + 2 + 40000},
		{name: "CRLF stored as is", body: "a\r\nb\n", want: 5 + 2},
		{name: "renamed by another process", body: "x\n", want: 3, renamed: true},
		{name: "gone", body: "x\n", want: -1, setup: func(t *testing.T, p string) { os.Remove(p) }},
		{name: "fifo", body: "x\n", want: -1, setup: func(t *testing.T, p string) {
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skip(err)
			}
		}},
		{name: "symlink to a device", body: "x\n", want: -1, setup: func(t *testing.T, p string) {
			os.Remove(p)
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Skip(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			deliver(t, m.Root(), "1500000000.M1P1.host", tc.body)
			f, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			x, _ := f.Message(1)
			cur := filepath.Join(m.Root(), "cur")
			p := filepath.Join(cur, x.Name+":2,")
			mtime := time.Date(2022, 3, 4, 5, 6, 7, 890, time.UTC)
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if tc.renamed {
				if err := os.Rename(p, filepath.Join(cur, x.Name+":2,S")); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(t, p)
			}
			done := make(chan struct{})
			var n int64
			var d time.Time
			go func() {
				n, d, err = f.SizeAndDate(1)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("SizeAndDate hangs")
			}
			if tc.want < 0 {
				if err == nil {
					t.Fatalf("no error, size %d", n)
				}
				return
			}
			if err != nil || n != tc.want || !d.Equal(mtime) {
				t.Fatalf("got %d %v %v, want %d %v", n, d, err, tc.want, mtime)
			}
			// the generic counter agrees
			fh, _, err := f.OpenMessage(1)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if c, _, err := CRLFSize(fh); err != nil || c != n {
				t.Errorf("CRLFSize %d %v, SizeAndDate %d", c, err, n)
			}
			// cached: the file can go now
			os.Remove(filepath.Join(cur, x.Name+":2,S"))
			os.Remove(p)
			if n2, d2, err := f.SizeAndDate(1); err != nil || n2 != n || !d2.Equal(d) {
				t.Errorf("cached %d %v %v", n2, d2, err)
			}
		})
	}
}

func TestOpenRaw(t *testing.T) {
	body := "Subject: raw\n\n" + strings.Repeat("line\n", 10000)
	m := newMaildir(t, Options{UseLocks: true})
	deliver(t, m.Root(), "1500000000.M1P1.host", body)
	deliver(t, m.Root(), "1500000001.M1P1.host", "x\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := f.OpenRaw(1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(body)) {
		t.Errorf("size %d", r.Size())
	}
	cases := []struct {
		off, n  int64
		wantN   int
		wantEOF bool
	}{
		{0, 14, 14, false},
		{14, 5, 5, false},
		{int64(len(body)) - 3, 10, 3, true},
		{int64(len(body)), 1, 0, true},
		{int64(len(body)) + 100, 1, 0, true},
	}
	for _, c := range cases {
		buf := make([]byte, c.n)
		n, err := r.ReadAt(buf, c.off)
		if n != c.wantN || (err != nil) != c.wantEOF || string(buf[:n]) != body[min(int(c.off), len(body)):min(int(c.off)+n, len(body))] {
			t.Errorf("ReadAt(%d, %d) = %d, %v", c.off, c.n, n, err)
		}
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset accepted")
	}
	r.Close()
	r.Close()
	if _, err := r.ReadAt(make([]byte, 1), 0); err == nil {
		t.Error("read after close")
	}
	// renamed by another process, then a FIFO in place of message 2
	x, _ := f.Message(1)
	cur := filepath.Join(m.Root(), "cur")
	if err := os.Rename(filepath.Join(cur, x.Name+":2,"), filepath.Join(cur, x.Name+":2,FS")); err != nil {
		t.Fatal(err)
	}
	if r, err := f.OpenRaw(1); err != nil {
		t.Errorf("renamed: %v", err)
	} else {
		r.Close()
	}
	y, _ := f.Message(2)
	p := filepath.Join(cur, y.Name+":2,")
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip(err)
	}
	if r, err := f.OpenRaw(2); err == nil {
		r.Close()
		t.Error("FIFO opened")
	}
	if _, err := f.OpenRaw(99); err == nil {
		t.Error("unknown UID opened")
	}
}
