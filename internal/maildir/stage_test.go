package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCommitLeavesNothingBehind: an APPEND (staged in cur/ under
// stagePrefix, then delivered under the lock) and a COPY leave no staged
// file in cur/, and the lock leaves no link source (courierlock.*) in
// tmp/: both names are removed, the second after the turn is passed on.
func TestCommitLeavesNothingBehind(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	if err := m.CreateFolder("INBOX.Other"); err != nil {
		t.Fatal(err)
	}
	appendN(t, m, "INBOX", 3)
	if _, err := m.Append("INBOX", strings.NewReader("Subject: k\r\n\r\nx\r\n"), FlagSeen, []string{"K1"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.CopyTo("INBOX.Other", []uint32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{m.Root(), m.dirOf("INBOX.Other")} {
		cur, _ := readNames(filepath.Join(dir, "cur"))
		n := 0
		for _, name := range cur {
			if strings.HasPrefix(name, ".") {
				t.Errorf("%s: left in cur/: %s", dir, name)
				continue
			}
			n++
		}
		if n != 4 {
			t.Errorf("%s: %d messages in cur/, want 4", dir, n)
		}
		tmp, _ := readNames(filepath.Join(dir, "tmp"))
		for _, name := range tmp {
			if name != queueFileName {
				t.Errorf("%s: left in tmp/: %s", dir, name)
			}
		}
	}
}

// TestStagedMessageIsNoMessage: a message waiting in cur/ for its commit
// is invisible: a scan does not list it, IDLE's watch does not wake for
// it (its rename into place does), and a crash's leftover goes once as old
// as a stale tmp/ file, when a scan lists cur/.
func TestStagedMessageIsNoMessage(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 1)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	ch, stop, err := f.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cur := filepath.Join(m.Root(), "cur")
	staged := filepath.Join(cur, stagePrefix+"1700000000.M1P1_0.test.host,S=2")
	tmp := filepath.Join(m.Root(), "tmp", "1700000000.M1P1_0.test.host")
	if err := os.WriteFile(tmp, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, staged); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("IDLE woke for a staged message")
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if n := f.Len(); n != 1 {
		t.Fatalf("%d messages with one staged, want 1", n)
	}

	// A crash's leftover: kept while young (the Rescan above listed
	// cur/), removed by the next scan that lists cur/ once old.
	if _, err := os.Stat(staged); err != nil {
		t.Fatalf("young staged message removed: %v", err)
	}
	m.opts.Now = func() time.Time { return time.Now().Add(tmpMaxAge + time.Hour) }
	g, err := m.OpenFolder("INBOX", false)
	m.opts.Now = time.Now
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 1 {
		t.Fatalf("%d messages, want 1", g.Len())
	}
	if _, err := os.Stat(staged); err == nil {
		t.Fatal("old staged message kept")
	}

	// A real message still wakes IDLE.
	deliverCur := filepath.Join(cur, "1700000001.M1P1_1.test.host,S=2:2,")
	if err := os.WriteFile(deliverCur, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification for a message")
	}
}

// TestExpungeFreesAfterReply: EXPUNGE removes the files at once (their
// names are gone before the reply) but keeps each one's inode until
// SaveDeferred, which the session calls after the reply; at most
// maxDeferredFree are kept, the rest are freed on the spot.
func TestExpungeFreesAfterReply(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	n := maxDeferredFree + 4
	appendN(t, m, "INBOX", n)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, x := range f.Messages() {
		uids = append(uids, x.UID)
	}
	done, err := f.Expunge(uids)
	if err != nil || len(done) != n {
		t.Fatalf("expunged %d of %d: %v", len(done), n, err)
	}
	if left, _ := readNames(filepath.Join(m.Root(), "cur")); len(left) != 0 {
		t.Fatalf("left in cur/: %v", left)
	}
	if len(f.toFree) != maxDeferredFree {
		t.Fatalf("%d files kept for after the reply, want %d", len(f.toFree), maxDeferredFree)
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.toFree[0], &st); err != nil || st.Nlink != 0 {
		t.Fatalf("kept file: nlink %d, %v; want a removed file", st.Nlink, err)
	}
	f.SaveDeferred()
	if len(f.toFree) != 0 {
		t.Fatalf("%d files still kept after SaveDeferred", len(f.toFree))
	}
}
