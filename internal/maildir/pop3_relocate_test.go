package maildir

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPOP3FollowsRename: an IMAP flag change renames a message inside cur/
// while a POP3 session has it listed; RETR and DELE must still find it by
// its base name instead of calling it gone (or, worse, "deleting" nothing).
func TestPOP3FollowsRename(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := Make(root); err != nil {
		t.Fatal(err)
	}
	m, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append("INBOX", strings.NewReader("Subject: a\n\nbody\n"), 0, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	d, err := m.OpenPOP3()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	old := d.Messages()[0].Name
	base, _, _ := splitName(old)
	renamed := base + ":2,FS"
	if err := os.Rename(filepath.Join(root, "cur", old), filepath.Join(root, "cur", renamed)); err != nil {
		t.Fatal(err)
	}
	fh, err := d.Open(0)
	if err != nil {
		t.Fatalf("RETR after a rename by another process: %v", err)
	}
	b, _ := io.ReadAll(fh)
	fh.Close()
	if !strings.Contains(string(b), "body") {
		t.Fatalf("read %q", b)
	}
	if err := d.Delete([]int{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cur", renamed)); !os.IsNotExist(err) {
		t.Fatalf("renamed message still there after DELE+QUIT: %v", err)
	}
}
