package imapserver_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocourier/internal/imapserver"
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
	c := newT(t, startSession(t, root, imapserver.Config{}))
	c.line() // greeting
	got := c.cmd("a SELECT INBOX")
	if !contains(got, "* 1000 EXISTS") {
		t.Fatalf("SELECT: %q", got)
	}
	c.cmd("b NOOP")
	if _, err := os.Stat(filepath.Join(root, "gocourierimapcache")); err != nil {
		t.Fatalf("no snapshot cache after the SELECT was answered: %v", err)
	}
	c2 := newT(t, startSession(t, root, imapserver.Config{}))
	c2.line()
	if got := c2.cmd("a SELECT INBOX"); !contains(got, "* 1000 EXISTS") || !contains(got, "* OK [UIDNEXT 1001] Ok") {
		t.Fatalf("second SELECT: %q", got)
	}
	if got := c2.cmd("b UID FETCH 1000 FLAGS"); !contains(got, `* 1000 FETCH (UID 1000 FLAGS (\Seen))`) {
		t.Fatalf("fetch: %q", got)
	}
}
