package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOwnChangesNeedNoScan: after the folder's own STORE, EXPUNGE and
// APPEND, Rescan reports nothing and lists nothing; a change by anyone
// else after them is still seen (own.go).
func TestOwnChangesNeedNoScan(t *testing.T) {
	defer func(old int) { ownWatchMin = old }(ownWatchMin)
	ownWatchMin = 0
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	appendN(t, m, "INBOX", 5)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if f.own == nil {
		t.Skip("no inotify watch on this filesystem")
	}
	other, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	rescanQuiet := func(what string) {
		t.Helper()
		before := f.scans
		ch, err := f.Rescan()
		if err != nil {
			t.Fatal(err)
		}
		if f.scans != before {
			t.Errorf("%s: Rescan listed the folder", what)
		}
		if len(ch.New)+len(ch.Vanished)+len(ch.Changed) != 0 {
			t.Errorf("%s: changes %+v", what, ch)
		}
	}
	rescanSees := func(what string, check func(Changes) bool) {
		t.Helper()
		ch, err := f.Rescan()
		if err != nil {
			t.Fatal(err)
		}
		if !check(ch) {
			t.Errorf("%s: not seen: %+v", what, ch)
		}
	}

	if err := f.SetFlags(1, FlagSeen|FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	rescanQuiet("own STORE")
	// The first keyword makes the keyword directory, which the watch
	// covers from the next scan on.
	if err := f.SetFlags(2, 0, []string{"$Label1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if err := f.SetFlags(2, 0, []string{"$Label1", "$Label2"}); err != nil {
		t.Fatal(err)
	}
	rescanQuiet("own keyword STORE")
	if _, err := f.Expunge([]uint32{3}); err != nil {
		t.Fatal(err)
	}
	rescanQuiet("own EXPUNGE")
	if _, _, known, err := f.AppendSelf(strings.NewReader("Subject: a\r\n\r\nx\r\n"), 0, nil, time.Time{}); err != nil || !known {
		t.Fatalf("AppendSelf: known=%v %v", known, err)
	}
	rescanQuiet("own APPEND")
	if f.Len() != 5 {
		t.Fatalf("%d messages, want 5", f.Len())
	}

	// Someone else changes a flag of a message we renamed.
	if err := other.SetFlags(1, FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	rescanSees("foreign STORE", func(ch Changes) bool {
		x, _ := f.Message(1)
		return len(ch.Changed) == 1 && x.Flags == FlagSeen
	})
	// Someone else's keyword change.
	if err := other.SetFlags(4, 0, []string{"Junk"}); err != nil {
		t.Fatal(err)
	}
	rescanSees("foreign keyword", func(ch Changes) bool {
		x, _ := f.Message(4)
		return len(ch.Changed) == 1 && sameStrings(x.Keywords, []string{"Junk"})
	})
	// A delivery, right after our own change.
	if err := f.SetFlags(5, FlagDraft, nil); err != nil {
		t.Fatal(err)
	}
	deliver(t, m.Root(), "1000000000.M1P1.test.host", "Subject: d\n\nx\n")
	rescanSees("delivery", func(ch Changes) bool { return len(ch.New) == 1 })
	// Someone else deletes the file we just renamed.
	if err := f.SetFlags(5, FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	rescanQuiet("own STORE again")
	if err := f.SetFlags(5, FlagAnswered, nil); err != nil {
		t.Fatal(err)
	}
	x, _ := f.Message(5)
	if err := os.Remove(filepath.Join(m.Root(), "cur", x.Name+":2,R")); err != nil {
		t.Fatal(err)
	}
	rescanSees("foreign unlink of our file", func(ch Changes) bool { return len(ch.Vanished) == 1 && ch.Vanished[0] == 5 })
	// Another session's APPEND.
	if _, err := other.Append(strings.NewReader("Subject: b\r\n\r\nx\r\n"), 0, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	rescanSees("foreign APPEND", func(ch Changes) bool { return len(ch.New) == 1 })
}

// TestIdleSharesOwnWatch: IDLE's Watch reads the folder's own watch (one
// inotify instance per session), is woken by a delivery, and the Rescan
// after it scans in full.
func TestIdleSharesOwnWatch(t *testing.T) {
	defer func(old int) { ownWatchMin = old }(ownWatchMin)
	ownWatchMin = 0
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 2)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if f.own == nil {
		t.Skip("no inotify watch on this filesystem")
	}
	ch, stop, err := f.Watch()
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, m.Root(), "1000000000.M1P1.test.host", "Subject: d\n\nx\n")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("IDLE not woken by a delivery")
	}
	// IDLE's sync scans; a change after it is read by IDLE's goroutine,
	// so the Rescan it triggers must not trust the (shared) queue.
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	deliver(t, m.Root(), "1000000001.M1P1.test.host", "Subject: e\n\nx\n")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("IDLE not woken by the second delivery")
	}
	if c, err := f.Rescan(); err != nil || len(c.New) != 1 {
		t.Fatalf("second delivery during IDLE: new %d, %v", len(c.New), err)
	}
	stop()
	deliver(t, m.Root(), "1000000002.M1P1.test.host", "Subject: f\n\nx\n")
	before := f.scans
	c, err := f.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if f.scans == before || len(c.New) != 1 {
		t.Errorf("rescan after IDLE: scanned=%v, new %d", f.scans != before, len(c.New))
	}
	// The watch still works for our own changes afterwards.
	if err := f.SetFlags(1, FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	before = f.scans
	if _, err := f.Rescan(); err != nil || f.scans != before {
		t.Errorf("own STORE after IDLE: scanned=%v %v", f.scans != before, err)
	}
}

// TestSmallFolderNoWatch: folders under ownWatchMin keep no inotify
// instance.
func TestSmallFolderNoWatch(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 3)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if f.own != nil {
		t.Error("a 3-message folder keeps a watch")
	}
	if err := f.SetFlags(1, FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if x, _ := f.Message(1); x.Flags != FlagSeen {
		t.Errorf("flags %v", x.Flags)
	}
}

// TestSmallCur: a first scan skips the watch only when cur/ cannot hold
// ownWatchMin messages; a big cur/ (or ownWatchMin 0, as the watch
// tests set it) keeps it.
func TestSmallCur(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "cur"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		os.WriteFile(filepath.Join(dir, "cur", fmt.Sprintf("1764000000.M%dP1234_%d.host,S=100:2,S", i, i)), nil, 0o600)
	}
	if !smallCur(dir) {
		t.Error("cur/ of 10 messages not small")
	}
	if smallCur(filepath.Join(dir, "missing")) {
		t.Error("a missing cur/ counted as small")
	}
	defer func(old int) { ownWatchMin = old }(ownWatchMin)
	ownWatchMin = 0
	if smallCur(dir) {
		t.Error("small with ownWatchMin 0")
	}
	ownWatchMin = 1000
	for i := 10; i < 1200; i++ {
		os.WriteFile(filepath.Join(dir, "cur", fmt.Sprintf("1764000000.M%dP1234_%d.host,S=100:2,S", i, i)), nil, 0o600)
	}
	if smallCur(dir) {
		t.Error("cur/ of 1,200 messages counted as small")
	}
}
