package maildir

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOwnWatchConcurrent is TestOwnWatchModel with the sessions working at
// the same time (each with its own Maildir handle, as separate imapd
// processes): every round they do random STOREs, keyword changes,
// EXPUNGEs and APPENDs, each followed by a Rescan, concurrently; then
// they stop, rescan once more, and each must see exactly what a fresh
// open sees, and the changes each Rescan reported (what a session turns
// into EXISTS and EXPUNGE) must add up to the list it has. The windows a
// sequential model cannot reach (a commit's file in cur/ before its uiddb
// line, renames racing a scan and find()) are covered here.
func TestOwnWatchConcurrent(t *testing.T) {
	m := ownWatchMaildir(t)
	const nsess = 6
	var ss []*Folder
	for range nsess {
		h, err := Open(m.Root(), m.Options())
		if err != nil {
			t.Fatal(err)
		}
		f, err := h.OpenFolder("INBOX", false)
		if err != nil {
			t.Fatal(err)
		}
		if f.own == nil {
			t.Skip("no inotify watch on this filesystem")
		}
		ss = append(ss, f)
	}
	kws := [][]string{nil, {"$Label1"}, {"Junk"}, {"$Label1", "NonJunk"}}
	flagSets := []Flags{0, FlagSeen, FlagSeen | FlagFlagged, FlagAnswered, FlagDraft}
	// Each session's list as its Changes tell it (what an IMAP session
	// reports as EXISTS and EXPUNGE), next to its own changes.
	seen := make([]map[uint32]bool, nsess)
	for i, f := range ss {
		seen[i] = map[uint32]bool{}
		for _, x := range f.Messages() {
			seen[i][x.UID] = true
		}
	}
	for round := range 12 {
		var wg sync.WaitGroup
		errs := make(chan error, nsess)
		for i, f := range ss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(i)))
				for range 15 {
					var uid uint32
					if n := f.Len(); n > 0 {
						uid = f.msgs[rng.IntN(n)].uid
					}
					var err error
					switch op := rng.IntN(10); {
					case op < 4 && uid != 0:
						err = f.SetFlags(uid, flagSets[rng.IntN(len(flagSets))], f.msgsKW(uid))
					case op < 6 && uid != 0:
						x, _ := f.Message(uid)
						err = f.SetFlags(uid, x.Flags, kws[rng.IntN(len(kws))])
					case op < 7 && uid != 0:
						var done []uint32
						done, err = f.Expunge([]uint32{uid})
						for _, u := range done {
							delete(seen[i], u)
						}
					case op < 8 && uid != 0:
						var r *os.File
						if r, _, err = f.OpenMessage(uid); err == nil {
							r.Close()
						}
					default:
						var got uint32
						var known bool
						_, got, known, err = f.AppendSelf(strings.NewReader("Subject: c\r\n\r\nx\r\n"), 0, nil, time.Time{})
						if known {
							seen[i][got] = true
						}
					}
					if err != nil && !strings.Contains(err.Error(), "no such") {
						errs <- fmt.Errorf("session %d: %v", i, err)
						return
					}
					ch, err := f.Rescan()
					if err != nil {
						errs <- fmt.Errorf("session %d: rescan: %v", i, err)
						return
					}
					for _, x := range ch.New {
						seen[i][x.UID] = true
					}
					for _, u := range ch.Vanished {
						delete(seen[i], u)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, s := range ss {
			ch, err := s.Rescan()
			if err != nil {
				t.Fatalf("round %d: rescan: %v", round, err)
			}
			for _, x := range ch.New {
				seen[i][x.UID] = true
			}
			for _, u := range ch.Vanished {
				delete(seen[i], u)
			}
			if len(seen[i]) != s.Len() {
				t.Fatalf("round %d: session %d reported %d messages, has %d", round, i, len(seen[i]), s.Len())
			}
			for _, x := range s.Messages() {
				if !seen[i][x.UID] {
					t.Fatalf("round %d: session %d has UID %d that its changes never reported", round, i, x.UID)
				}
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
				t.Fatalf("round %d: session %d differs from a fresh open\n got %s\nwant %s", round, i, got, want)
			}
		}
	}
}
