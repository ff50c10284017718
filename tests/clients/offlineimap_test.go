package clients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOfflineimap syncs a 200-message account with offlineimap (Debian
// package offlineimap3), pushes a locally added message and a local
// \Flagged change back, and checks that a further run changes nothing on
// the server (same UIDs, flags and UIDVALIDITY, no duplicates).
func TestOfflineimap(t *testing.T) {
	p := needChain(t)
	oi := Require(t, "offlineimap", "offlineimap3")
	const n = 200
	s := Start(t, p, Options{Seed: seedAccount(n)})

	work := t.TempDir()
	local := filepath.Join(work, "mail")
	rc := filepath.Join(work, "offlineimaprc")
	mustWrite(t, rc, fmt.Sprintf(`[general]
accounts = test
metadata = %s/meta
ui = basic

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = %d
remoteuser = %s
remotepass = %s
ssl = no
starttls = no
`, work, local, s.Port, User, Pass), 0o600)
	env := []string{"HOME=" + work, "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	run := func(what string) {
		t.Helper()
		start := time.Now()
		out, err := Run(context.Background(), 5*time.Minute, work, env, oi, "-c", rc, "-o", "-u", "basic")
		if err != nil || strings.Contains(out, "ERROR") {
			t.Fatalf("offlineimap %s: %v\n%s\nserver log:\n%s", what, err, tail(out, 40), tail(s.Logs(), 30))
		}
		t.Logf("offlineimap %s: %v", what, time.Since(start).Round(time.Millisecond))
	}
	run("initial")
	inbox := filepath.Join(local, "INBOX")
	loc := localState(t, inbox)
	if countFiles(loc) != n {
		t.Fatalf("local INBOX has %d messages, want %d", countFiles(loc), n)
	}
	c := s.Dial(t)
	before := snapshot(t, c, "INBOX")

	// Local changes: a new message and \Flagged on one unflagged message.
	const newID = "<offlineimap-new@clients.test>"
	mustWrite(t, filepath.Join(inbox, "new", "1700000000.M1P1.local"), testMessage(newID, "added locally"), 0o600)
	var flagged msgState
	for _, m := range before.Msgs {
		if !slices.Contains(m.Flags, `\Flagged`) {
			flagged = m
			break
		}
	}
	old := filepath.Join(inbox, loc[flagged.MsgID][0])
	if err := os.Rename(old, withMaildirFlag(old, 'F')); err != nil {
		t.Fatal(err)
	}
	run("push")
	after := snapshot(t, c, "INBOX")
	srv := after.byMsgID()
	if len(srv[newID]) != 1 {
		t.Errorf("server has %d copies of the local message", len(srv[newID]))
	}
	if m := srv[flagged.MsgID]; len(m) != 1 || !slices.Contains(m[0].Flags, `\Flagged`) {
		t.Errorf("local \\Flagged did not reach the server: %+v", m)
	}
	checkNoDups(t, "server", srv)
	if len(after.Msgs) != n+1 || after.UIDValidity != before.UIDValidity {
		t.Errorf("server: %d messages, uidvalidity %d->%d", len(after.Msgs), before.UIDValidity, after.UIDValidity)
	}
	run("idle")
	if final := snapshot(t, c, "INBOX"); !reflect.DeepEqual(final, after) {
		t.Errorf("idle run changed the server INBOX: %d -> %d messages, uidnext %d -> %d",
			len(after.Msgs), len(final.Msgs), after.UIDNext, final.UIDNext)
	}
	loc = localState(t, inbox)
	checkNoDups(t, "local", loc)
	if countFiles(loc) != n+1 {
		t.Errorf("local INBOX has %d messages, want %d", countFiles(loc), n+1)
	}
}
