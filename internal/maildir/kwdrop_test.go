package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/maildir/keywords"
)

// TestExpungeDropsKeywordFiles: expunging a message removes its keyword
// update files at once instead of leaving them to the 15-minute rule;
// other messages keep theirs.
func TestExpungeDropsKeywordFiles(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	for i := 0; i < 2; i++ {
		if _, err := m.Append("INBOX", strings.NewReader("Subject: k\r\n\r\nx\r\n"), 0, []string{"$Label1"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetFlags(1, 0, []string{"$Label2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	kdir := filepath.Join(f.Dir(), keywordDir)
	filesOf := func(base string) []string {
		ents, _ := os.ReadDir(kdir)
		var out []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), base) {
				out = append(out, e.Name())
			}
		}
		return out
	}
	gone, kept := msgs[0].Name, msgs[1].Name
	if len(filesOf(gone)) == 0 || len(filesOf(kept)) == 0 {
		t.Fatalf("no update files to start with: %v %v", filesOf(gone), filesOf(kept))
	}
	if _, err := f.Expunge([]uint32{msgs[0].UID}); err != nil {
		t.Fatal(err)
	}
	if l := filesOf(gone); len(l) != 0 {
		t.Errorf("update files of the expunged message remain: %v", l)
	}
	if len(filesOf(kept)) == 0 {
		t.Errorf("the other message lost its update files")
	}
	g, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := g.Message(msgs[1].UID); !ok || len(x.Keywords) != 1 || x.Keywords[0] != "$Label1" {
		t.Errorf("kept message %+v", x)
	}
}

// TestOrphanKeywordFilesOfExpunged: an update file that another session
// wrote for a message that a third then expunged (so neither session's
// own EXPUNGE removed it) goes at the next consolidation of a session
// that saw the message vanish, not 15 minutes later; an orphan whose
// message it never saw (an APPEND whose keywords are written before the
// message is numbered) stays for the 15-minute rule.
func TestOrphanKeywordFilesOfExpunged(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	appendN(t, m, "INBOX", 3)
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	victimFile := f.lookup(msgs[0].UID).name
	victim, _, _ := splitName(victimFile)
	kdir := filepath.Join(f.Dir(), keywordDir)
	if err := os.MkdirAll(kdir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, kw string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(kdir, name), []byte(kw+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := m.kwNow()
	orphan := keywords.StampName(n, victim)               // written by another session
	unborn := keywords.StampName(n, "1.M1P1_9.test.host") // an APPEND on its way
	write(orphan, "$Label1")
	write(unborn, "$Label2")
	// A third session expunges the victim: its file just goes.
	if err := os.Remove(filepath.Join(f.Dir(), "cur", victimFile)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // past the racy window
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Message(msgs[0].UID); ok {
		t.Fatal("the expunged message is still there")
	}
	if _, err := os.Stat(filepath.Join(kdir, orphan)); err != nil {
		t.Fatal("the orphan went before any consolidation")
	}
	// Enough update files for a consolidation.
	other, _, _ := splitName(f.lookup(msgs[1].UID).name)
	for i := 0; i < kwConsolidateAt; i++ {
		write(keywords.StampName(n-int64(i)-1, other), "$Label3")
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(kdir, orphan)); err == nil {
		t.Error("update file of an expunged message kept")
	}
	if _, err := os.Stat(filepath.Join(kdir, unborn)); err != nil {
		t.Error("update file of a message not numbered yet removed")
	}
	if x, ok := f.Message(msgs[1].UID); !ok || len(x.Keywords) != 1 || x.Keywords[0] != "$Label3" {
		t.Errorf("other message %+v", x)
	}
}
