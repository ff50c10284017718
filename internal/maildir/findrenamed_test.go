package maildir

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestOpenRenamedByAnother: another session's flag change renames a
// message's file after this folder listed it. OpenMessage must still open
// it, by guessing the new name when only the five IMAP flag letters
// changed (guessRenamed), and by listing cur/ when the new name has other
// letters; a message whose file is gone is ErrNoSuchMessage.
func TestOpenRenamedByAnother(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	deliver(t, m.Root(), "1000000001.M1P1.h,S=2", "a\n")
	deliver(t, m.Root(), "1000000002.M1P1.h,S=2", "b\n")
	deliver(t, m.Root(), "1000000003.M1P1.h,S=2", "c\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(m.Root(), "cur")
	rename := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(cur, from), filepath.Join(cur, to)); err != nil {
			t.Fatal(err)
		}
	}
	rename("1000000001.M1P1.h,S=2:2,", "1000000001.M1P1.h,S=2:2,FST") // three flags set
	rename("1000000002.M1P1.h,S=2:2,", "1000000002.M1P1.h,S=2:2,Sa")  // a letter outside the five
	os.Remove(filepath.Join(cur, "1000000003.M1P1.h,S=2:2,"))

	x := f.lookup(1)
	if n, ok := f.guessRenamed(x); !ok || n != "1000000001.M1P1.h,S=2:2,FST" {
		t.Errorf("guessRenamed(uid 1) = %q, %v", n, ok)
	}
	if n, ok := f.guessRenamed(f.lookup(2)); ok {
		t.Errorf("guessRenamed(uid 2) = %q; the name has a letter it does not try", n)
	}
	for uid, want := range map[uint32]string{1: "a\n", 2: "b\n"} {
		fh, _, err := f.OpenMessage(uid)
		if err != nil {
			t.Fatalf("OpenMessage(%d): %v", uid, err)
		}
		b, _ := io.ReadAll(fh)
		fh.Close()
		if string(b) != want {
			t.Errorf("uid %d: read %q want %q", uid, b, want)
		}
	}
	if _, _, err := f.OpenMessage(3); err == nil {
		t.Error("OpenMessage of a removed file succeeded")
	}
	if !f.lookup(3).gone {
		t.Error("uid 3 not marked gone by the listing")
	}
	// Opening updated the names only: the next scan still reports the
	// two flag changes and the expunge (the IMAP layer relies on it).
	ch, err := f.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]Flags{}
	for _, c := range ch.Changed {
		got[c.UID] = c.Flags
	}
	want := map[uint32]Flags{1: FlagFlagged | FlagSeen | FlagDeleted, 2: FlagSeen | flagBit('a')}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ch.Vanished, []uint32{3}) {
		t.Errorf("rescan: changed %v vanished %v; want changed %v vanished [3]", got, ch.Vanished, want)
	}
}

// TestChangeFlagsKeepsOthersChange: two sessions change different flags of
// one message, the second from a view that has not seen the first change.
// ChangeFlags applies its change to the flags in the file's current name,
// so both changes stay (imaptest's store script: "two sessions don't
// overwrite each others' changes"), where SetFlags of the second's whole
// set would drop the first's.
func TestChangeFlagsKeepsOthersChange(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	deliver(t, m.Root(), "1000000001.M1P1.h,S=2", "a\n")
	one, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := one.SetFlags(1, FlagSeen, nil); err != nil {
		t.Fatal(err)
	}
	two, err := m.OpenFolder("INBOX", false) // sees \Seen
	if err != nil {
		t.Fatal(err)
	}
	if f, _, err := one.ChangeFlags(1, FlagAnswered, 0, nil, false); err != nil || f != FlagAnswered|FlagSeen {
		t.Fatalf("first session: %v, %v", f, err)
	}
	// The second session has not rescanned: it still believes \Seen only.
	f, _, err := two.ChangeFlags(1, 0, FlagSeen, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if f != FlagAnswered {
		t.Errorf("second session's result %v, want \\Answered kept and \\Seen removed", f)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "cur", "1000000001.M1P1.h,S=2:2,R")); err != nil {
		t.Errorf("file not renamed to :2,R: %v", err)
	}
	// Letters outside the five stay as the name has them.
	os.Rename(filepath.Join(m.Root(), "cur", "1000000001.M1P1.h,S=2:2,R"), filepath.Join(m.Root(), "cur", "1000000001.M1P1.h,S=2:2,PR"))
	if f, _, err := two.ChangeFlags(1, FlagFlagged, 0, nil, false); err != nil || f != FlagAnswered|FlagFlagged|FlagPassed {
		t.Errorf("after an outside rename: %v, %v", f, err)
	}
}
