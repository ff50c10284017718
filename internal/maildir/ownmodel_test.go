package maildir

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// ownWatchMaildir is the model tests' maildir: an INBOX of 40 messages,
// with keywords, and ownWatchMin lowered so that it keeps an own-change
// watch. The tests are skipped in -short mode.
func ownWatchMaildir(t *testing.T) *Maildir {
	t.Helper()
	if testing.Short() {
		t.Skip("slow")
	}
	old := ownWatchMin
	ownWatchMin = 20
	t.Cleanup(func() { ownWatchMin = old })
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	appendN(t, m, "INBOX", 40)
	return m
}

// TestOwnWatchModel drives three sessions on one folder big enough to keep
// an own-change watch (own.go) with random STOREs, keyword changes,
// EXPUNGEs, APPENDs and deliveries, and after every step checks that each
// session, once rescanned, sees exactly what a fresh open of the folder
// sees: same UIDs, flags and keywords. A change that a session wrongly
// took for its own (or missed) shows up as a difference.
func TestOwnWatchModel(t *testing.T) {
	m := ownWatchMaildir(t)
	var ss []*Folder
	for range 3 {
		f, err := m.OpenFolder("INBOX", false)
		if err != nil {
			t.Fatal(err)
		}
		if f.own == nil {
			t.Skip("no inotify watch on this filesystem")
		}
		ss = append(ss, f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	kws := [][]string{nil, {"$Label1"}, {"Junk"}, {"$Label1", "NonJunk"}}
	flagSets := []Flags{0, FlagSeen, FlagSeen | FlagFlagged, FlagAnswered, FlagDraft}
	delivered := 0
	pick := func(f *Folder) (uint32, bool) {
		if f.Len() == 0 {
			return 0, false
		}
		return f.msgs[rng.IntN(f.Len())].uid, true
	}
	for step := range 300 {
		f := ss[rng.IntN(len(ss))]
		var what string
		switch op := rng.IntN(10); {
		case op < 4:
			if uid, ok := pick(f); ok {
				fl := flagSets[rng.IntN(len(flagSets))]
				what = fmt.Sprintf("STORE %d %v", uid, fl)
				if err := f.SetFlags(uid, fl, f.msgsKW(uid)); err != nil && !strings.Contains(err.Error(), "no such") {
					t.Fatalf("step %d %s: %v", step, what, err)
				}
			}
		case op < 6:
			if uid, ok := pick(f); ok {
				k := kws[rng.IntN(len(kws))]
				x, _ := f.Message(uid)
				what = fmt.Sprintf("KEYWORDS %d %v", uid, k)
				if err := f.SetFlags(uid, x.Flags, k); err != nil && !strings.Contains(err.Error(), "no such") {
					t.Fatalf("step %d %s: %v", step, what, err)
				}
			}
		case op < 7:
			if uid, ok := pick(f); ok {
				what = fmt.Sprintf("EXPUNGE %d", uid)
				if _, err := f.Expunge([]uint32{uid}); err != nil {
					t.Fatalf("step %d %s: %v", step, what, err)
				}
			}
		case op < 9:
			what = "APPEND"
			if _, _, _, err := f.AppendSelf(strings.NewReader("Subject: a\r\n\r\nx\r\n"), 0, nil, time.Time{}); err != nil {
				t.Fatalf("step %d %s: %v", step, what, err)
			}
		default:
			delivered++
			what = "DELIVERY"
			deliver(t, m.Root(), fmt.Sprintf("%d.M%dP1.test.host", 1100000000+delivered, delivered), "Subject: d\n\nx\n")
		}
		// Every session catches up; then all must agree with a fresh open.
		for _, s := range ss {
			if _, err := s.Rescan(); err != nil {
				t.Fatalf("step %d (%s): rescan: %v", step, what, err)
			}
		}
		ref, err := m.OpenFolder("INBOX", true)
		if err != nil {
			t.Fatal(err)
		}
		want := stateOf(ref)
		ref.Close()
		for i, s := range ss {
			if got := stateOf(s); got != want {
				t.Fatalf("step %d (%s by a session): session %d differs from a fresh open\n got %s\nwant %s", step, what, i, got, want)
			}
		}
	}
}

// msgsKW returns the keywords the folder has for uid.
func (f *Folder) msgsKW(uid uint32) []string {
	x, _ := f.Message(uid)
	return x.Keywords
}

// stateOf renders UIDs, flags and keywords.
func stateOf(f *Folder) string {
	var b strings.Builder
	for _, x := range f.Messages() {
		fmt.Fprintf(&b, "%d:%s:%v:%s ", x.UID, x.Name, x.Flags&IMAPFlags, strings.Join(x.Keywords, ","))
	}
	return b.String()
}
