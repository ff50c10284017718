package maildir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ageDirs sets the mtimes of a folder's directories well before the racy
// window, as if the last change were minutes ago.
func ageDirs(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Minute)
	for _, d := range []string{"cur", "new", keywordDir} {
		os.Chtimes(filepath.Join(dir, d), old, old)
	}
}

// TestScanCachedNew: a folder whose snapshot cache still describes cur/
// opens from the cache plus new/, and the result (UIDs, \Recent, the
// uiddb written) is what a full scan of the same data gives.
func TestScanCachedNew(t *testing.T) {
	defer func(n int) { cacheMinMessages = n }(cacheMinMessages)
	cacheMinMessages = 1
	// One clock for both twins: each gets its UIDVALIDITY from it, and a
	// second boundary between the two builds made their uiddbs differ.
	now := time.Now()
	build := func() (*Maildir, string) {
		m := newMaildir(t, Options{UseLocks: true, Keywords: true, Now: func() time.Time { return now }})
		root := m.Root()
		for i, n := range []string{"1000000001.M1P1.h,S=2:2,S", "1000000002.M1P1.h,S=2:2,", "1000000003.M1P1.h,S=2:2,FS"} {
			if err := os.WriteFile(filepath.Join(root, "cur", n), []byte("x\n"), 0o644); err != nil {
				t.Fatal(i, err)
			}
		}
		ageDirs(t, root)
		f, err := m.OpenFolder("INBOX", false)
		if err != nil || f.Len() != 3 {
			t.Fatal(err)
		}
		f.Close() // writes the deferred cache
		if _, err := os.Stat(filepath.Join(root, cacheFile)); err != nil {
			t.Fatal("no cache saved:", err)
		}
		// Deliveries after the cache was saved (out of name order).
		deliver(t, root, "1000000009.M1P1.h,S=2", "y\n")
		deliver(t, root, "1000000005.M1P1.h,S=2", "y\n")
		return m, root
	}
	m1, root1 := build()
	m2, root2 := build()

	// Path under test, called directly so that a silent fallback to the
	// full scan cannot make the test pass.
	f1 := &Folder{m: m1, name: "INBOX", dir: root1}
	stamp, _ := statStamp(root1)
	res, ok, err := f1.scanCachedNew(stamp)
	if err != nil || !ok {
		t.Fatalf("cached path not taken: ok=%v err=%v", ok, err)
	}
	var ch Changes
	f1.merge(res, &ch)

	// Reference: a full scan of the twin folder without its cache.
	os.Remove(filepath.Join(root2, cacheFile))
	f2, err := m2.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		UID    uint32
		Name   string
		Flags  Flags
		Recent bool
	}
	rows := func(f *Folder) []row {
		var out []row
		for _, x := range f.Messages() {
			out = append(out, row{x.UID, x.Name, x.Flags, x.Recent})
		}
		return out
	}
	if got, want := rows(f1), rows(f2); !reflect.DeepEqual(got, want) {
		t.Fatalf("cached+new %+v\nfull scan  %+v", got, want)
	}
	if f1.UIDNext() != 6 || f1.UIDNext() != f2.UIDNext() {
		t.Errorf("uidnext %d / %d", f1.UIDNext(), f2.UIDNext())
	}
	db1, _ := os.ReadFile(filepath.Join(root1, uiddbFile))
	db2, _ := os.ReadFile(filepath.Join(root2, uiddbFile))
	if string(db1) != string(db2) {
		t.Errorf("uiddb differs:\n%s\n%s", db1, db2)
	}
	if nn, _ := os.ReadDir(filepath.Join(root1, "new")); len(nn) != 0 {
		t.Errorf("new/ not emptied: %v", nn)
	}
}

// TestScanCachedNewDeclines: the path must not apply when cur/ changed
// after the cache was saved (a flag rename by another process) or when
// cur/ is racy; OpenFolder then scans and still sees everything.
func TestScanCachedNewDeclines(t *testing.T) {
	defer func(n int) { cacheMinMessages = n }(cacheMinMessages)
	cacheMinMessages = 1
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	os.WriteFile(filepath.Join(root, "cur", "1000000001.M1P1.h,S=2:2,"), []byte("x\n"), 0o644)
	ageDirs(t, root)
	if f, err := m.OpenFolder("INBOX", false); err != nil {
		t.Fatal(err)
	} else {
		f.Close() // writes the deferred cache
	}
	if _, err := os.Stat(filepath.Join(root, cacheFile)); err != nil {
		t.Fatal("no cache to decline:", err)
	}
	// Another process renames (flags) in cur/ and a delivery arrives.
	os.Rename(filepath.Join(root, "cur", "1000000001.M1P1.h,S=2:2,"), filepath.Join(root, "cur", "1000000001.M1P1.h,S=2:2,S"))
	deliver(t, root, "1000000002.M1P1.h,S=2", "y\n")
	f := &Folder{m: m, name: "INBOX", dir: root}
	stamp, _ := statStamp(root)
	if _, ok, _ := f.scanCachedNew(stamp); ok {
		t.Fatal("cached path taken with a racy, changed cur/")
	}
	ageDirs(t, root)
	stamp, _ = statStamp(root)
	if _, ok, _ := f.scanCachedNew(stamp); ok {
		t.Fatal("cached path taken after cur/ changed")
	}
	g, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	ms := g.Messages()
	if len(ms) != 2 || ms[0].Flags != FlagSeen || ms[1].UID != 2 || !ms[1].Recent {
		t.Fatalf("after fallback: %+v", ms)
	}
}

// TestExpungeBatch: one Expunge of many UIDs, with a duplicate, a UID
// whose file another process renamed (flags) and one already unlinked,
// removes exactly the files that exist and keeps the rest in order.
func TestExpungeBatch(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	for i := 1; i <= 6; i++ {
		deliver(t, root, "100000000"+string(rune('0'+i))+".M1P1.h,S=2", "x\n")
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil || f.Len() != 6 {
		t.Fatal(err)
	}
	ms := f.Messages()
	cur := filepath.Join(root, "cur")
	// UID 2 renamed elsewhere, UID 4 unlinked elsewhere.
	os.Rename(filepath.Join(cur, ms[1].Name+":2,"), filepath.Join(cur, ms[1].Name+":2,S"))
	os.Remove(filepath.Join(cur, ms[3].Name+":2,"))
	done, err := f.Expunge([]uint32{2, 4, 5, 2, 99})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(done, []uint32{2, 5}) {
		t.Errorf("done %v", done)
	}
	var left []uint32
	for _, x := range f.Messages() {
		left = append(left, x.UID)
	}
	if !reflect.DeepEqual(left, []uint32{1, 3, 4, 6}) {
		t.Errorf("left in memory %v (4 stays until a rescan sees it gone)", left)
	}
	names, _ := readNames(cur)
	if len(names) != 3 {
		t.Errorf("files left %v", names)
	}
}

// TestFirstOpenDuplicateBases: without a uiddb the scan uses no map; two
// cur/ files of one message, and a new/ file with a base already in
// cur/, still give one UID per base, numbered in arrival order.
func TestFirstOpenDuplicateBases(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	cur := filepath.Join(root, "cur")
	for _, n := range []string{"1000000003.M1P1.h:2,S", "1000000003.M1P1.h:2,", "1000000001.M1P1.h:2,", "1000000002.M1P1.h:2,F"} {
		if err := os.WriteFile(filepath.Join(cur, n), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deliver(t, root, "1000000002.M1P1.h", "x\n")
	deliver(t, root, "1000000004.M1P1.h", "x\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range f.Messages() {
		got = append(got, x.Name)
		if !x.Recent {
			t.Errorf("%s not recent", x.Name)
		}
	}
	want := []string{"1000000001.M1P1.h", "1000000002.M1P1.h", "1000000003.M1P1.h", "1000000004.M1P1.h"}
	if !reflect.DeepEqual(got, want) || f.UIDNext() != 5 {
		t.Fatalf("got %v next %d", got, f.UIDNext())
	}
	// The one kept for base 2 is the cur/ file (listed before new/).
	if x, _ := f.Message(2); x.Flags != FlagFlagged {
		t.Errorf("base 2 kept the new/ copy: %+v", x)
	}
}

func TestRacyAt(t *testing.T) {
	now := int64(1_700_000_000_500_000_000) // x.5 s
	ms := int64(time.Millisecond)
	cases := []struct {
		name string
		t    int64
		fine bool
		want bool
	}{
		{"fine fs, 50 ms old", now - 50*ms, true, true},
		{"fine fs, 150 ms old", now - 150*ms, true, false},
		{"fine fs, whole second 1.5 s old", now - 500*ms - 1000*ms, true, true},
		{"fine fs, whole second 2.5 s old", now - 500*ms - 2000*ms, true, false},
		{"coarse fs, 150 ms old", now - 150*ms, false, true},
		{"coarse fs, 1.9 s old", now - 1900*ms, false, true},
		{"coarse fs, 2.1 s old", now - 2100*ms, false, false},
		{"future mtime", now + 10*ms, true, true},
	}
	for _, c := range cases {
		if got := racyAt(c.t, now, c.fine); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

// TestRescanSeesChangeRightAfterScan: a rename in cur/ right after a scan
// (within the same timestamp tick) must be seen by the next Rescan, with
// either racy window.
func TestRescanSeesChangeRightAfterScan(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	deliver(t, root, "1000000001.M1P1.h,S=2", "x\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	ageDirs(t, root)
	if _, err := f.Rescan(); err != nil { // records an old, trusted stamp
		t.Fatal(err)
	}
	cur := filepath.Join(root, "cur")
	os.Rename(filepath.Join(cur, "1000000001.M1P1.h,S=2:2,"), filepath.Join(cur, "1000000001.M1P1.h,S=2:2,S"))
	ch, err := f.Rescan()
	if err != nil || len(ch.Changed) != 1 {
		t.Fatalf("first rescan: %+v %v", ch, err)
	}
	// The stamp just recorded is racy: a second rename at once is seen.
	os.Rename(filepath.Join(cur, "1000000001.M1P1.h,S=2:2,S"), filepath.Join(cur, "1000000001.M1P1.h,S=2:2,FS"))
	ch, err = f.Rescan()
	if err != nil || len(ch.Changed) != 1 || ch.Changed[0].Flags != FlagSeen|FlagFlagged {
		t.Fatalf("second rescan: %+v %v", ch, err)
	}
}

// TestScanRepeatedUIDDBName: a uiddb that lists one name twice (hand
// edited, or written by another tool) gives the file the first UID, the
// rewritten uiddb lists it once, and NextUID stays above both.
func TestScanRepeatedUIDDBName(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	cur := filepath.Join(root, "cur")
	os.WriteFile(filepath.Join(cur, "1000000001.M1P1.h:2,S"), []byte("x\n"), 0o644)
	os.WriteFile(filepath.Join(cur, "1000000002.M1P1.h:2,"), []byte("x\n"), 0o644)
	db := "1 795000000 3\n1 1000000001.M1P1.h\n7 1000000001.M1P1.h\n2 1000000002.M1P1.h\n"
	if err := os.WriteFile(filepath.Join(root, uiddbFile), []byte(db), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	ms := f.Messages()
	if len(ms) != 2 || ms[0].UID != 1 || ms[1].UID != 2 || ms[0].Recent || f.UIDNext() != 8 {
		t.Fatalf("messages %+v next %d", ms, f.UIDNext())
	}
	got, _ := os.ReadFile(filepath.Join(root, uiddbFile))
	if want := "1 795000000 8\n1 1000000001.M1P1.h\n2 1000000002.M1P1.h\n"; string(got) != want {
		t.Errorf("uiddb %q want %q", got, want)
	}
	// An APPEND after that must not write the repeated line back.
	if _, err := m.Append("INBOX", strings.NewReader("y\n"), 0, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(root, uiddbFile))
	if strings.Count(string(got), "1000000001.M1P1.h") != 1 {
		t.Errorf("repeat written back: %q", got)
	}
}

// TestSetFlagsVanished: SetFlags tries the known name first; a message
// whose file another process unlinked answers ErrNoSuchMessage whether
// or not a rename was needed, and gets no keyword entry.
func TestSetFlagsVanished(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	deliver(t, root, "1000000001.M1P1.h,S=2", "x\n")
	deliver(t, root, "1000000002.M1P1.h,S=2", "x\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(root, "cur")
	os.Remove(filepath.Join(cur, "1000000001.M1P1.h,S=2:2,"))
	os.Remove(filepath.Join(cur, "1000000002.M1P1.h,S=2:2,"))
	cases := []struct {
		name  string
		uid   uint32
		flags Flags
		kws   []string
	}{
		{"rename needed", 1, FlagSeen, nil},
		{"keyword only", 2, 0, []string{"Junk"}},
	}
	for _, c := range cases {
		if err := f.SetFlags(c.uid, c.flags, c.kws); !errors.Is(err, ErrNoSuchMessage) {
			t.Errorf("%s: err %v", c.name, err)
		}
	}
	if kw, _ := os.ReadDir(filepath.Join(root, keywordDir)); len(kw) > 0 {
		t.Errorf("keyword files written for a vanished message: %v", kw)
	}
}
