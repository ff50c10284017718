package imapserver_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocourier/internal/imapserver"
	"gocourier/internal/rawimap"
)

// TestSelectWritesCacheAfterReply: a first SELECT of a big folder (1,000
// messages, the maildir's cache threshold) answers without writing the
// snapshot cache; the session writes it once the reply is out
// (imapserver.AfterReplier), so it exists by the time the next command
// is answered, and a second session's SELECT sees the same UIDs.
func TestSelectWritesCacheAfterReply(t *testing.T) {
	root := newMaildir(t)
	for i := 0; i < 1000; i++ {
		n := fmt.Sprintf("%d.M%dP1.h,S=2:2,S", 1000000000+i, i)
		if err := os.WriteFile(filepath.Join(root, "cur", n), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Out of the racy window, as if delivered minutes ago.
	old := time.Now().Add(-time.Minute)
	for _, d := range []string{"cur", "new"} {
		os.Chtimes(filepath.Join(root, d), old, old)
	}
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line() // greeting
	got := c.Cmd("a SELECT INBOX")
	if !rawimap.Contains(got, "* 1000 EXISTS") {
		t.Fatalf("SELECT: %q", got)
	}
	c.Cmd("b NOOP")
	if _, err := os.Stat(filepath.Join(root, "gocourierimapcache")); err != nil {
		t.Fatalf("no snapshot cache after the SELECT was answered: %v", err)
	}
	c2 := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c2.Line()
	if got := c2.Cmd("a SELECT INBOX"); !rawimap.Contains(got, "* 1000 EXISTS") || !rawimap.Contains(got, "* OK [UIDNEXT 1001] Ok") {
		t.Fatalf("second SELECT: %q", got)
	}
	if got := c2.Cmd("b UID FETCH 1000 FLAGS"); !rawimap.Contains(got, `* 1000 FETCH (UID 1000 FLAGS (\Seen))`) {
		t.Fatalf("fetch: %q", got)
	}
}
