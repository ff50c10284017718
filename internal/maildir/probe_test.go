package maildir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir/keywords"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// holdLock makes dir's courier.lock as another process would hold it.
func holdLock(t *testing.T, dir string) (release func()) {
	t.Helper()
	lp := filepath.Join(dir, "tmp", lockName)
	if err := os.WriteFile(lp, []byte("999999 other.host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() { os.Remove(lp) }
}

// TestRescanLeavesVanishedLines: after another session's EXPUNGE an open
// folder's rescan sees the messages gone without rewriting the uiddb
// (no dot-lock: every session of a busy folder used to queue for it),
// until the stale lines pass staleLimit.
func TestRescanLeavesVanishedLines(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	const n = 300
	appendN(t, m, "INBOX", n)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(m.Root(), uiddbFile)
	before := inode(t, db)
	if _, err := g.Expunge([]uint32{2, 3}); err != nil {
		t.Fatal(err)
	}
	ch, err := f.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Vanished) != 2 || f.Len() != n-2 {
		t.Fatalf("rescan: expunged %v, %d messages", ch.Vanished, f.Len())
	}
	if inode(t, db) != before {
		t.Error("uiddb rewritten for two vanished lines")
	}
	data, _ := os.ReadFile(db)
	if got := bytes.Count(data, []byte("\n")); got != n+1 {
		t.Errorf("uiddb has %d lines, want %d (stale lines kept)", got, n+1)
	}
	// Past the limit the rescan cleans the file (the lock is free).
	var many []uint32
	for u := uint32(4); u < 4+uint32(staleLimit(n)); u++ {
		many = append(many, u)
	}
	if _, err := g.Expunge(many); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	want := n - 2 - len(many)
	if f.Len() != want {
		t.Fatalf("%d messages, want %d", f.Len(), want)
	}
	data, _ = os.ReadFile(db)
	if got := bytes.Count(data, []byte("\n")); got != want+1 {
		t.Errorf("uiddb has %d lines after passing the limit, want %d", got, want+1)
	}
	// Nothing was renumbered.
	if x, ok := f.Message(uint32(n)); !ok || x.UID != n {
		t.Errorf("last message: %+v %v", x, ok)
	}
}

// TestRescanWhileLocked: while another process holds the dot-lock, a
// rescan of an open folder neither waits nor numbers: it leaves new/ and
// unknown cur/ files out, and takes them in once the lock is free.
func TestRescanWhileLocked(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 2)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	release := holdLock(t, m.Root())
	deliver(t, m.Root(), "1000000000.M1P1.test.host", "Subject: new\n\nx\n")
	if err := os.WriteFile(filepath.Join(m.Root(), "cur", "1000000001.M1P1.test.host:2,S"), []byte("Subject: cur\n\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ch, err := f.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("rescan waited %v for the lock", d)
	}
	if f.Len() != 2 || len(ch.Vanished) != 0 {
		t.Fatalf("while locked: %d messages, changes %+v", f.Len(), ch)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "new", "1000000000.M1P1.test.host")); err != nil {
		t.Errorf("the delivery was moved without the lock: %v", err)
	}
	release()
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if f.Len() != 4 {
		t.Fatalf("after the lock: %d messages, want 4", f.Len())
	}
	// 1 and 2 stay \Recent in the session that claimed them at SELECT.
	if recent := recentUIDs(f); !sameUIDs(recent, []uint32{1, 2, 3, 4}) {
		t.Errorf("recent %v, want [1 2 3 4]", recent)
	}
}

// TestRecentClaimWhileLocked: \Recent is claimed without the dot-lock
// (an flock of the folder), by exactly one read-write session.
func TestRecentClaimWhileLocked(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 2)
	release := holdLock(t, m.Root())
	defer release()
	start := time.Now()
	a, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("opens waited %v for the lock", d)
	}
	if ra, rb := recentUIDs(a), recentUIDs(b); !sameUIDs(ra, []uint32{1, 2}) || len(rb) != 0 {
		t.Errorf("recent: first session %v, second %v", ra, rb)
	}
}

// TestKeywordConsolidation: update files are read (overlay) but folded
// into :list only when kwConsolidateAt of them piled up, or when a plain
// one (maildirkw's) is there, which must get its stamp at once (§9.6).
func TestKeywordConsolidation(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	appendN(t, m, "INBOX", 3)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetFlags(1, 0, []string{"$Label1"}); err != nil {
		t.Fatal(err)
	}
	g, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := g.Message(1); !sameStrings(x.Keywords, []string{"$Label1"}) {
		t.Fatalf("keywords seen by another session: %v", x.Keywords)
	}
	kdir := filepath.Join(m.Root(), keywordDir)
	if list, _ := os.ReadFile(filepath.Join(kdir, keywords.ListFile)); bytes.Contains(list, []byte("$Label1")) {
		t.Errorf("one update file was folded into :list:\n%s", list)
	}
	// A plain update file, as maildirkw writes it.
	x, _ := g.Message(2)
	if err := os.WriteFile(filepath.Join(kdir, x.Name), []byte("Junk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // past the racy window of kdir's mtime
	if _, err := g.Rescan(); err != nil {
		t.Fatal(err)
	}
	if y, _ := g.Message(2); !sameStrings(y.Keywords, []string{"Junk"}) {
		t.Errorf("plain update: %v", y.Keywords)
	}
	names, _ := readNames(kdir)
	for _, n := range names {
		if n == x.Name {
			t.Errorf("plain update file %s left unstamped", n)
		}
	}
	list, _ := os.ReadFile(filepath.Join(kdir, keywords.ListFile))
	if !bytes.Contains(list, []byte("$Label1")) || !bytes.Contains(list, []byte("Junk")) {
		t.Errorf(":list after consolidation:\n%s", list)
	}
	// A fresh session reads the same.
	h, err := m.OpenFolder("INBOX", true)
	if err != nil {
		t.Fatal(err)
	}
	for uid, want := range map[uint32][]string{1: {"$Label1"}, 2: {"Junk"}, 3: nil} {
		if y, _ := h.Message(uid); !sameStrings(y.Keywords, want) {
			t.Errorf("uid %d: %v, want %v", uid, y.Keywords, want)
		}
	}
}

// TestUnlockWatchWakes: a lock waiter wakes when courier.lock goes, not
// at the end of its poll interval.
func TestUnlockWatchWakes(t *testing.T) {
	dir := t.TempDir()
	lp := filepath.Join(dir, lockName)
	os.WriteFile(lp, nil, 0o644)
	w := watchUnlock(dir)
	defer w.close()
	if w.f == nil {
		t.Skip("no inotify here")
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "other"), nil, 0o644)
		os.Remove(filepath.Join(dir, "other")) // not the lock: keeps waiting
		os.Remove(lp)
	}()
	start := time.Now()
	w.wait(20 * time.Second)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("woke after %v", d)
	}
	if _, err := os.Stat(lp); err == nil {
		t.Error("woke before the lock was removed")
	}
}

// TestReadFileLimitHostile: a FIFO or a directory where a metadata file
// belongs is refused at once; a big file is cut at the limit.
func TestReadFileLimitHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readFileLimit(fifo, 1<<20); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was read as a file")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readFileLimit hung on a FIFO")
	}
	if _, err := readFileLimit(dir, 1<<20); err == nil {
		t.Error("a directory was read as a file")
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("x", 10000)), 0o644)
	if b, err := readFileLimit(big, 100); err != nil || len(b) != 100 {
		t.Errorf("limit: %d bytes, %v", len(b), err)
	}
	if b, err := readFileLimit(big, 1<<20); err != nil || len(b) != 10000 {
		t.Errorf("whole: %d bytes, %v", len(b), err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	if b, err := readFileLimit(empty, 1<<20); err != nil || len(b) != 0 {
		t.Errorf("empty: %d bytes, %v", len(b), err)
	}
}

// TestUIDDBDurableMark: a commit marks the uiddb it made durable; a
// session that finds an unmarked uiddb (Courier's, or a commit still
// syncing) makes it durable and marks it before using it.
func TestUIDDBDurableMark(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 2)
	var st unix.Stat_t
	db := filepath.Join(m.Root(), uiddbFile)
	if err := unix.Stat(db, &st); err != nil {
		t.Fatal(err)
	}
	if mark, ok := readSyncMark(m.Root()); !ok || mark != uiddbIdent(&st) {
		t.Fatalf("after APPEND: mark %v %v, uiddb %v", mark, ok, uiddbIdent(&st))
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	// Another writer (Courier) replaces the uiddb with one more line.
	deliver(t, m.Root(), "1000000000.M1P1.test.host", "Subject: d\n\nx\n")
	os.Rename(filepath.Join(m.Root(), "new", "1000000000.M1P1.test.host"), filepath.Join(m.Root(), "cur", "1000000000.M1P1.test.host:2,"))
	data, _ := os.ReadFile(db)
	data = bytes.Replace(data, []byte(" 3\n"), []byte(" 4\n"), 1)
	data = append(data, "3 1000000000.M1P1.test.host\n"...)
	tmp := filepath.Join(m.Root(), "tmp", "courier-uiddb")
	os.WriteFile(tmp, data, 0o644)
	if err := os.Rename(tmp, db); err != nil {
		t.Fatal(err)
	}
	ch, err := f.Rescan()
	if err != nil || len(ch.New) != 1 || ch.New[0].UID != 3 {
		t.Fatalf("rescan: %+v %v", ch, err)
	}
	unix.Stat(db, &st)
	if mark, ok := readSyncMark(m.Root()); !ok || mark != uiddbIdent(&st) {
		t.Errorf("after the session used Courier's uiddb: mark %v %v, uiddb %v", mark, ok, uiddbIdent(&st))
	}
}
