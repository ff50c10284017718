package imapserver_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
	"gocourier/internal/rawimap"
)

// TestAppendSelectedSync: APPEND into the selected folder announces the
// message at once (EXISTS, FETCH works), and changes other processes made
// meanwhile (a flag rename, an expunge, a delivery) are still reported by
// the next command that may report them.
func TestAppendSelectedSync(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1700000001.M1P1.h", msg1)
	deliver(t, root, "1700000002.M2P1.h", msg2)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line()
	rawimap.MustContain(t, c.Cmd("a SELECT INBOX"), "* 2 EXISTS")
	body := "Subject: appended\r\n\r\nbody\r\n"
	for i := 3; i <= 5; i++ {
		got := c.Cmd(fmt.Sprintf("b%d APPEND INBOX (\\Flagged) {%d+}\r\n%s", i, len(body), body))
		rawimap.MustContain(t, got, fmt.Sprintf("* %d EXISTS", i), fmt.Sprintf(" %d] APPEND Ok.", i))
	}
	rawimap.MustContain(t, c.Cmd("c UID FETCH 3:5 (UID FLAGS RFC822.SIZE)"),
		"* 3 FETCH (UID 3 FLAGS (\\Flagged) RFC822.SIZE 27)", "* 5 FETCH (UID 5 FLAGS (\\Flagged) RFC822.SIZE 27)")

	// Another process: marks message 1 seen, expunges message 2 and
	// delivers a new one; then we APPEND again.
	cur := filepath.Join(root, "cur")
	names, err := os.ReadDir(cur)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "1700000001."):
			if err := os.Rename(filepath.Join(cur, n), filepath.Join(cur, strings.TrimSuffix(n, ":2,")+":2,S")); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(n, "1700000002."):
			if err := os.Remove(filepath.Join(cur, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver(t, root, "1700000009.M9P1.h", msg1)
	got := c.Cmd(fmt.Sprintf("d APPEND INBOX {%d+}\r\n%s", len(body), body))
	rawimap.MustContain(t, got, "d OK [APPENDUID ")
	// The next NOOP (or this APPEND) must show all of it: no change is lost.
	got = append(got, c.Cmd("e NOOP")...)
	rawimap.MustContain(t, got, "* 2 EXPUNGE", "* 1 FETCH (FLAGS (\\Seen \\Recent))")
	all := c.Cmd("f UID FETCH 1:* (UID)")
	var uids []string
	for _, l := range all {
		if i := strings.Index(l, "(UID "); i >= 0 {
			uids = append(uids, strings.TrimSuffix(l[i+5:], ")"))
		}
	}
	// 1, 3, 4, 5, our append (6) and the delivery (7), in order.
	if strings.Join(uids, " ") != "1 3 4 5 6 7" {
		t.Errorf("UIDs %v\n%s", uids, strings.Join(all, "\n"))
	}
	// A fresh session agrees.
	m, err := maildir.Open(root, maildir.Options{Keywords: true, UseLocks: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.OpenFolder("INBOX", true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Len() != 6 {
		t.Errorf("fresh open: %d messages", f.Len())
	}
}

// TestSyncTailHeldExpunge: an expunge by another process seen during a
// FETCH is held back (RFC 3501 §7.4.1) and must still be reported by the
// next NOOP, although the store's list did not change again in between
// (sync's fast path must not take "unchanged" for "nothing to report").
func TestSyncTailHeldExpunge(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1700000001.M1P1.h", msg1)
	deliver(t, root, "1700000002.M2P1.h", msg2)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line()
	rawimap.MustContain(t, c.Cmd("a SELECT INBOX"), "* 2 EXISTS")
	if got := c.Cmd("b NOOP"); len(got) != 1 {
		t.Errorf("NOOP with nothing changed: %q", got)
	}
	cur := filepath.Join(root, "cur")
	names, _ := os.ReadDir(cur)
	for _, e := range names {
		if strings.HasPrefix(e.Name(), "1700000002.") {
			os.Remove(filepath.Join(cur, e.Name()))
		}
	}
	if got := c.Cmd("c FETCH 1 (FLAGS)"); rawimap.Contains(got, "* 2 EXPUNGE") {
		t.Errorf("EXPUNGE sent during FETCH: %q", got)
	}
	rawimap.MustContain(t, c.Cmd("d NOOP"), "* 2 EXPUNGE")
	if got := c.Cmd("e NOOP"); len(got) != 1 {
		t.Errorf("second NOOP: %q", got)
	}
	// A delivery now is a tail append: EXISTS, and nothing else.
	deliver(t, root, "1700000003.M3P1.h", msg1)
	got := c.Cmd("f NOOP")
	rawimap.MustContain(t, got, "* 2 EXISTS")
	if rawimap.Contains(got, "EXPUNGE") {
		t.Errorf("tail append reported an expunge: %q", got)
	}
}
