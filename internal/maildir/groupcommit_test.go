package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocourier/internal/maildir/uiddb"
)

// TestGroupCommit: sessions appending to one folder at once (each its own
// Maildir, as separate processes would be) get distinct UIDs, each the one
// the uiddb gives its message, with nothing lost or left staged, and some
// messages are delivered by the session ahead in the queue.
func TestGroupCommit(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := Make(root); err != nil {
		t.Fatal(err)
	}
	const sessions, each = 8, 40
	before := servedTotal.Load()
	type result struct {
		uid     uint32
		subject string
	}
	results := make(chan result, sessions*each)
	var wg sync.WaitGroup
	for s := 0; s < sessions; s++ {
		m, err := Open(root, Options{UseLocks: true, Hostname: "test.host"})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				subj := fmt.Sprintf("s%d-%d", s, i)
				res, err := m.Append("INBOX", strings.NewReader("Subject: "+subj+"\r\n\r\nx\r\n"), FlagSeen, nil, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				results <- result{res.UID, subj}
			}
		}(s)
	}
	wg.Wait()
	close(results)
	data, err := os.ReadFile(filepath.Join(root, uiddbFile))
	if err != nil {
		t.Fatal(err)
	}
	db := uiddb.Parse(data)
	byUID := map[uint32]string{}
	for _, e := range db.Entries {
		byUID[e.UID] = e.Name
	}
	seen := map[uint32]bool{}
	for r := range results {
		if seen[r.uid] {
			t.Errorf("UID %d returned twice", r.uid)
		}
		seen[r.uid] = true
		name, ok := byUID[r.uid]
		if !ok {
			t.Errorf("UID %d (%s) not in the uiddb", r.uid, r.subject)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(root, "cur", name+":2,*"))
		if len(matches) != 1 {
			t.Errorf("UID %d: %d files for %s", r.uid, len(matches), name)
			continue
		}
		body, _ := os.ReadFile(matches[0])
		if !strings.Contains(string(body), "Subject: "+r.subject+"\n") {
			t.Errorf("UID %d holds %q, want %s", r.uid, body, r.subject)
		}
	}
	if len(seen) != sessions*each || len(db.Entries) != sessions*each {
		t.Errorf("%d UIDs returned, %d in the uiddb, want %d", len(seen), len(db.Entries), sessions*each)
	}
	if names, _ := readNames(filepath.Join(root, "cur")); len(names) != sessions*each {
		t.Errorf("%d files in cur/, want %d", len(names), sessions*each)
	}
	served := servedTotal.Load() - before
	t.Logf("%d of %d messages delivered by another session", served, sessions*each)
	if served == 0 {
		t.Error("no message was delivered by the session ahead: group commit untested")
	}
}

// TestQueueRecords: a request record round-trips, and torn, foreign or
// hostile ones are refused.
func TestQueueRecords(t *testing.T) {
	r := queueRecord{ticket: 77, state: recPending, flags: FlagSeen | FlagDraft, base: "1.M2P3V4I5_6.host,S=7"}
	b, ok := encodeRecord(r)
	if !ok {
		t.Fatal("encode")
	}
	if got, ok := decodeRecord(b); !ok || got != r {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	torn := append([]byte(nil), b...)
	torn[40] ^= 1
	if _, ok := decodeRecord(torn); ok {
		t.Error("a record with a bad check sum was accepted")
	}
	for _, base := range []string{"", "../x", "a/b", ".hidden", "a:2,S", "a\x00b", strings.Repeat("x", recSize)} {
		if b, ok := encodeRecord(queueRecord{ticket: 1, state: recPending, base: base}); ok {
			if _, ok := decodeRecord(b); ok {
				t.Errorf("base %q accepted", base)
			}
		}
	}
	bad := queueRecord{ticket: 1, state: 9, base: "x"}
	if b, ok := encodeRecord(bad); ok {
		if _, ok := decodeRecord(b); ok {
			t.Error("unknown state accepted")
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	b, _ := encodeRecord(queueRecord{ticket: 3, state: recDone, uidv: 9, uid: 4, base: "1.M2P3.host"})
	f.Add(b)
	f.Add(make([]byte, recSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := decodeRecord(b)
		if !ok {
			return
		}
		if !plainBase(r.base) || r.flags&^IMAPFlags != 0 {
			t.Fatalf("decoded a bad record: %+v", r)
		}
		again, ok := encodeRecord(r)
		if !ok {
			t.Fatalf("cannot encode a decoded record: %+v", r)
		}
		if r2, ok := decodeRecord(again); !ok || r2 != r {
			t.Fatalf("re-encoded record differs: %+v", r2)
		}
	})
}

// TestLostCommit: a staged message that a dying server moved into cur/
// keeps the UID the uiddb gave it, or gets one; one that is nowhere is an
// error.
func TestLostCommit(t *testing.T) {
	cur := filepath.Join(t.TempDir(), "cur")
	os.Mkdir(cur, 0o700)
	p := &pendingMsg{tmp: filepath.Join(cur, stagePrefix+"1.M1P1.h"), base: "1.M1P1.h", staged: true}
	if _, ok := lostCommit(os.ErrNotExist, p, cur, nil); ok {
		t.Error("a message that is nowhere was taken as delivered")
	}
	os.WriteFile(filepath.Join(cur, "1.M1P1.h:2,S"), []byte("x\n"), 0o644)
	if uid, ok := lostCommit(os.ErrNotExist, p, cur, nil); !ok || uid != 0 {
		t.Errorf("delivered, not numbered: %d %v; want 0 true", uid, ok)
	}
	if uid, ok := lostCommit(os.ErrNotExist, p, cur, []uiddb.Entry{{UID: 5, Name: "0.M0P0.h"}, {UID: 9, Name: "1.M1P1.h"}}); !ok || uid != 9 {
		t.Errorf("numbered: %d %v; want 9 true", uid, ok)
	}
	if _, ok := lostCommit(os.ErrPermission, p, cur, nil); ok {
		t.Error("an error other than a missing file was taken as delivered")
	}
	p.staged = false
	if _, ok := lostCommit(os.ErrNotExist, p, cur, nil); ok {
		t.Error("an unstaged message was looked for")
	}
}
