package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
