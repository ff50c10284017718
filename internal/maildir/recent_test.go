package maildir

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func recentUIDs(f *Folder) []uint32 {
	var out []uint32
	for _, m := range f.Messages() {
		if m.Recent {
			out = append(out, m.UID)
		}
	}
	return out
}

func appendN(t *testing.T, m *Maildir, folder string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := m.Append(folder, strings.NewReader("Subject: r\r\n\r\nx\r\n"), 0, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

func sameUIDs(a, b []uint32) bool {
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

// TestRecentAppendCopy: APPENDed and COPYed messages are \Recent in the
// first read-write session that sees them (RFC 3501 §2.3.2, §6.4.7),
// EXAMINE and STATUS do not take it away, and a second SELECT has none.
func TestRecentAppendCopy(t *testing.T) {
	for _, locks := range []bool{true, false} {
		m := newMaildir(t, Options{UseLocks: locks})
		if err := m.CreateFolder("INBOX.r"); err != nil {
			t.Fatal(err)
		}
		appendN(t, m, "INBOX.r", 2)
		st, err := m.Status("INBOX.r")
		if err != nil || st.Recent != 2 || st.Messages != 2 || st.UIDNext != 3 {
			t.Fatalf("locks=%v status before select: %+v %v", locks, st, err)
		}
		ro, err := m.OpenFolder("INBOX.r", true)
		if err != nil {
			t.Fatal(err)
		}
		if got := recentUIDs(ro); !sameUIDs(got, []uint32{1, 2}) {
			t.Errorf("locks=%v examine recent %v", locks, got)
		}
		rw, err := m.OpenFolder("INBOX.r", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := recentUIDs(rw); !sameUIDs(got, []uint32{1, 2}) {
			t.Errorf("locks=%v select recent %v", locks, got)
		}
		if st, _ := m.Status("INBOX.r"); st.Recent != 0 {
			t.Errorf("locks=%v status after select: recent %d", locks, st.Recent)
		}
		again, err := m.OpenFolder("INBOX.r", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := recentUIDs(again); len(got) != 0 {
			t.Errorf("locks=%v second select recent %v", locks, got)
		}
		// An append while both are open: exactly one rescan claims it.
		appendN(t, m, "INBOX.r", 1)
		if _, err := again.Rescan(); err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Rescan(); err != nil {
			t.Fatal(err)
		}
		if a, b := recentUIDs(again), recentUIDs(rw); !sameUIDs(a, []uint32{3}) || !sameUIDs(b, []uint32{1, 2}) {
			t.Errorf("locks=%v after append: first %v second %v", locks, a, b)
		}
		// COPY into a folder that is open read-write elsewhere.
		if err := m.CreateFolder("INBOX.dst"); err != nil {
			t.Fatal(err)
		}
		dst, err := m.OpenFolder("INBOX.dst", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := rw.CopyTo("INBOX.dst", []uint32{1, 3}); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Rescan(); err != nil {
			t.Fatal(err)
		}
		if got := recentUIDs(dst); !sameUIDs(got, []uint32{1, 2}) {
			t.Errorf("locks=%v copy recent %v", locks, got)
		}
	}
}

// TestRecentConcurrentClaims: sessions rescanning while others append
// never see one message as \Recent twice, and every message is \Recent
// somewhere (imaptest's checkpoint rule).
func TestRecentConcurrentClaims(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	const sessions, appends = 4, 30
	fs := make([]*Folder, sessions)
	for i := range fs {
		f, err := m.OpenFolder("INBOX", false)
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = f
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, f := range fs {
		wg.Add(1)
		go func(f *Folder) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.Rescan(); err != nil {
					t.Error(err)
					return
				}
			}
		}(f)
	}
	appendN(t, m, "INBOX", appends)
	close(stop)
	wg.Wait()
	count := map[uint32]int{}
	for _, f := range fs {
		if _, err := f.Rescan(); err != nil {
			t.Fatal(err)
		}
		for _, u := range recentUIDs(f) {
			count[u]++
		}
	}
	for u := uint32(1); u <= appends; u++ {
		if count[u] != 1 {
			t.Errorf("uid %d recent in %d sessions", u, count[u])
		}
	}
}

// TestRecentFileHostile: a boundary file that is garbage, for another
// UIDVALIDITY or beyond the next UID grants nothing and breaks nothing.
func TestRecentFileHostile(t *testing.T) {
	cases := []struct {
		name string
		data func(uidv uint32) string
	}{
		{"garbage", func(uint32) string { return "not numbers\n" }},
		{"empty", func(uint32) string { return "" }},
		{"other uidvalidity", func(v uint32) string { return "1 1\n" }},
		{"zero", func(v uint32) string { return itoa(v) + " 0\n" }},
		{"huge", func(v uint32) string { return itoa(v) + " 99999999999\n" }},
		{"beyond next", func(v uint32) string { return itoa(v) + " 1000\n" }},
		{"long", func(uint32) string { return strings.Repeat("9", 1<<16) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			f, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			deliver(t, f.Dir(), "1.a.host", "Subject: a\n\nx\n")
			if _, err := f.Rescan(); err != nil {
				t.Fatal(err)
			}
			if got := recentUIDs(f); !sameUIDs(got, []uint32{1}) {
				t.Fatalf("delivered recent %v", got)
			}
			if err := os.WriteFile(filepath.Join(f.Dir(), recentFile), []byte(c.data(f.UIDValidity())), 0o644); err != nil {
				t.Fatal(err)
			}
			g, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			if got := recentUIDs(g); len(got) != 0 {
				t.Errorf("recent %v from a bad boundary", got)
			}
			if st, err := m.Status("INBOX"); err != nil || st.Recent != 0 || st.UIDNext != 2 {
				t.Errorf("status %+v %v", st, err)
			}
			// An APPEND repairs the file: its message is recent.
			appendN(t, m, "INBOX", 1)
			h, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			if got := recentUIDs(h); !sameUIDs(got, []uint32{2}) {
				t.Errorf("after append recent %v", got)
			}
		})
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// FuzzParseRecent: the boundary file is hostile input; whatever it holds,
// parsing never panics, and a result is only given for the right
// UIDVALIDITY and a non-zero UID that round-trips.
func FuzzParseRecent(f *testing.F) {
	for _, s := range []string{"795687205 7\n", "1 1", "", "x y", "795687205 0", "-1 5", "795687205 4294967296", " 795687205\t9 "} {
		f.Add([]byte(s), uint32(795687205))
	}
	f.Fuzz(func(t *testing.T, data []byte, uidv uint32) {
		first, ok := parseRecent(data, uidv)
		if !ok {
			return
		}
		if first == 0 {
			t.Fatalf("zero boundary accepted from %q", data)
		}
		if again, ok2 := parseRecent([]byte(itoa(uidv)+" "+itoa(first)+"\n"), uidv); !ok2 || again != first {
			t.Fatalf("round trip of %d: %d %v", first, again, ok2)
		}
	})
}
