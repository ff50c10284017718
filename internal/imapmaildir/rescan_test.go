package imapmaildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/maildir"
)

func newTestMaildir(t *testing.T) (string, *Store) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	md, err := maildir.Open(root, maildir.Options{Keywords: true, UseLocks: true, TrashName: "Trash"})
	if err != nil {
		t.Fatal(err)
	}
	return root, New(md)
}

func deliverNew(t *testing.T, root, name, body string) {
	t.Helper()
	tmp := filepath.Join(root, "tmp", name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "new", name)); err != nil {
		t.Fatal(err)
	}
}

func flagsOf(b *Mailbox) []string {
	var out []string
	for _, m := range b.Messages() {
		out = append(out, strings.Join(m.Flags, ","))
	}
	return out
}

// TestRescanIncremental checks that the reused and extended message
// lists agree with the folder after our own changes, APPENDs and
// deliveries by others.
func TestRescanIncremental(t *testing.T) {
	root, st := newTestMaildir(t)
	deliverNew(t, root, "1000.a.host", "Subject: a\n\nx\n")
	deliverNew(t, root, "1001.b.host", "Subject: b\n\ny\n")
	mb, err := st.Open("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	b := mb.(*Mailbox)
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	if got := len(b.Messages()); got != 2 {
		t.Fatalf("after open: %d messages", got)
	}
	// unchanged: same list
	before := b.Messages()
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	if &before[0] != &b.Messages()[0] {
		t.Error("unchanged folder: list was rebuilt")
	}
	// our own flag change must show although the folder does not
	// report it as a change
	uid1 := b.Messages()[0].UID
	if err := b.SetFlags(uid1, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(b); got[0] != `\Seen` {
		t.Errorf("after SetFlags: flags %q", got)
	}
	// APPEND through the store: appended at the end
	if _, _, err := st.Append("INBOX", []string{`\Flagged`}, time.Now(), strings.NewReader("Subject: c\r\n\r\nz\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	msgs := b.Messages()
	if len(msgs) != 3 || strings.Join(msgs[2].Flags, ",") != `\Flagged` || msgs[2].UID <= msgs[1].UID {
		t.Errorf("after APPEND: %+v", msgs)
	}
	if len(before) != 2 {
		t.Error("the list handed out before was modified")
	}
	// our own expunge
	if err := b.Expunge([]uint32{uid1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	if msgs := b.Messages(); len(msgs) != 2 || msgs[0].UID == uid1 {
		t.Errorf("after Expunge: %+v", msgs)
	}
	// a delivery by someone else
	deliverNew(t, root, "1002.d.host", "Subject: d\n\nw\n")
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Messages()); n != 3 {
		t.Errorf("after delivery: %d messages", n)
	}
}

// TestLazyDateAndSize checks INTERNALDATE (file mtime) and RFC822.SIZE
// (LF counted as CRLF) given on demand.
func TestLazyDateAndSize(t *testing.T) {
	root, st := newTestMaildir(t)
	body := "Subject: a\n\nline1\nline2\n"
	deliverNew(t, root, "1000.a.host", body)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "new", "1000.a.host"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	mb, err := st.Open("INBOX", true)
	if err != nil {
		t.Fatal(err)
	}
	b := mb.(*Mailbox)
	if err := b.Rescan(); err != nil {
		t.Fatal(err)
	}
	uid := b.Messages()[0].UID
	d, err := b.InternalDate(uid)
	if err != nil || !d.Equal(mtime) {
		t.Errorf("InternalDate = %v, %v; want %v", d, err, mtime)
	}
	want := int64(len(body) + strings.Count(body, "\n"))
	for i := 0; i < 2; i++ { // computed, then cached
		if n, err := b.CRLFSize(uid); err != nil || n != want {
			t.Errorf("CRLFSize = %d, %v; want %d", n, err, want)
		}
	}
	r, err := b.OpenMessage(uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != int64(len(body)) {
		t.Errorf("Size = %d, want %d", r.Size(), len(body))
	}
	if _, err := b.CRLFSize(uid + 100); err == nil {
		t.Error("CRLFSize of a missing UID succeeded")
	}
}
