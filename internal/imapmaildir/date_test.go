package imapmaildir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

// TestDateOfVanishedMessage: INTERNALDATE is read lazily, so a message
// expunged by another session before this one asked for its date had
// the zero time, shown as "01-Jan-0001 00:00:00 +0000" (imaptest stress,
// 29 times in 60 s), and the time in its name is the upload time, not an
// APPEND's date (imaptest: "INTERNALDATE changed"). A message whose mtime
// was read keeps it; one never stat'ed has no date: ErrNoSuchMessage, so
// FETCH leaves it out.
func TestDateOfVanishedMessage(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Make(root); err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1750000000, 0)
	for _, n := range []string{"1700000001.M1P1.host", "1700000002.M2P1.host"} {
		p := filepath.Join(root, "cur", n+":2,S")
		if err := os.WriteFile(p, []byte("Subject: x\n\nbody\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	md, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := New(md).Open("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	b := mb.(*Mailbox)
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	msgs := b.Messages()
	if len(msgs) != 2 {
		t.Fatalf("messages: %+v", msgs)
	}
	seen, unseen := msgs[0].UID, msgs[1].UID
	if d, err := b.InternalDate(seen); err != nil || !d.Equal(mtime) {
		t.Fatalf("present message dated %v, %v; want %v", d, err, mtime)
	}
	// Another session expunges both.
	files, _ := filepath.Glob(filepath.Join(root, "cur", "*"))
	for _, f := range files {
		os.Remove(f)
	}
	// The folder's cur/ mtime may not have moved within its resolution.
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(filepath.Join(root, "cur"), later, later)
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	if d, err := b.InternalDate(seen); err != nil || !d.Equal(mtime) {
		t.Errorf("stat'ed before: dated %v, %v; want %v", d, err, mtime)
	}
	if d, err := b.InternalDate(unseen); !errors.Is(err, imapserver.ErrNoSuchMessage) {
		t.Errorf("never stat'ed: dated %v, %v; want ErrNoSuchMessage", d, err)
	}
	if len(b.Messages()) != 0 {
		t.Errorf("vanished messages still listed: %+v", b.Messages())
	}
}
