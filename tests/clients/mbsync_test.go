package clients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"gocourier/internal/msggen"
)

const (
	mbsyncMessages = 2000
	archiveCount   = 20
)

// seedAccount fills INBOX with n generated messages (the last 5% in new/)
// and a Maildir++ folder Archive with archiveCount more.
func seedAccount(n int) func(string) error {
	return func(md string) error {
		opt := msggen.Options{MinSize: 600, MaxSize: 20000}
		if _, err := msggen.WriteMaildir(md, n, n/20, 1, opt); err != nil {
			return err
		}
		arch := filepath.Join(md, ".Archive")
		if _, err := msggen.WriteMaildir(arch, archiveCount, 0, 2, opt); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(arch, "maildirfolder"), nil, 0o600)
	}
}

// mbsyncWrites counts the commands mbsync sent (its -Dn protocol trace,
// lines ">>> tag COMMAND ...") that transfer messages or change the
// server: APPEND, UID STORE, EXPUNGE and body fetches. mbsync 1.4 prints
// its statistics only on a terminal, so the trace is the reliable record.
func mbsyncWrites(out string) map[string]int {
	n := map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		// Pipelined commands are traced as "(N in progress) >>> ...".
		i := strings.Index(l, ">>> ")
		if i < 0 {
			continue
		}
		l = l[i:]
		for _, k := range []string{"APPEND", "UID STORE", "EXPUNGE", "BODY.PEEK[]"} {
			if strings.Contains(l, k) {
				n[k]++
			}
		}
	}
	return n
}

// TestMbsync syncs a 2,000-message account with mbsync (isync) to a local
// Maildir, changes both sides (flags, a new message and a deletion on
// each, plus a new local folder), syncs again and checks that every change crossed over, then
// checks that a third run transfers nothing and leaves the server's UIDs
// and UIDVALIDITY untouched, with no duplicates on either side.
func TestMbsync(t *testing.T) {
	p := needChain(t)
	mbsync := Require(t, "mbsync", "isync")
	s := Start(t, p, Options{Seed: seedAccount(mbsyncMessages)})

	work := t.TempDir()
	local := filepath.Join(work, "mail")
	os.MkdirAll(local, 0o700)
	rc := filepath.Join(work, "mbsyncrc")
	mustWrite(t, rc, fmt.Sprintf(`IMAPAccount srv
Host 127.0.0.1
Port %d
User %s
Pass %s
SSLType None
AuthMechs LOGIN
PipelineDepth 50

IMAPStore far
Account srv

MaildirStore near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel ch
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
Sync All
SyncState *
`, s.Port, User, Pass, local, local), 0o600)
	env := []string{"HOME=" + work, "PATH=/usr/bin:/bin"}
	run := func(what string) string {
		t.Helper()
		start := time.Now()
		out, err := Run(context.Background(), 5*time.Minute, work, env, mbsync, "-Dn", "-c", rc, "-a")
		if err != nil {
			t.Fatalf("mbsync %s: %v\n%s\nserver log:\n%s", what, err, tail(out, 60), tail(s.Logs(), 40))
		}
		t.Logf("mbsync %s: %v; server-side commands: %v", what, time.Since(start).Round(time.Millisecond), mbsyncWrites(out))
		return out
	}

	// Run 1: download everything.
	if w := mbsyncWrites(run("initial")); w["BODY.PEEK[]"] == 0 || w["APPEND"] != 0 {
		t.Errorf("initial run: commands %v, want body fetches and no APPEND", w)
	}
	inbox := filepath.Join(local, "INBOX")
	loc := localState(t, inbox)
	if n := countFiles(loc); n != mbsyncMessages || len(loc) != mbsyncMessages {
		t.Fatalf("local INBOX has %d files for %d Message-IDs, want %d", n, len(loc), mbsyncMessages)
	}
	if arch := localState(t, filepath.Join(local, "Archive")); countFiles(arch) != archiveCount {
		t.Errorf("local Archive has %d messages, want %d", countFiles(arch), archiveCount)
	}

	c := s.Dial(t)
	before := snapshot(t, c, "INBOX")
	if len(before.Msgs) != mbsyncMessages {
		t.Fatalf("server INBOX has %d messages after the first sync, want %d", len(before.Msgs), mbsyncMessages)
	}
	// The server's flags must match the local files' flags.
	for _, m := range before.Msgs {
		files := loc[m.MsgID]
		if len(files) != 1 {
			t.Fatalf("message %s: %d local copies", m.MsgID, len(files))
		}
		if got, want := maildirFlags(files[0]), imapToMaildir(m.Flags); got != want {
			t.Errorf("message %s: local flags %q, server %v", m.MsgID, got, m.Flags)
		}
	}

	// Changes on the server: flag one, append one, delete one.
	pickBy := func(skip map[string]bool, ok func(msgState) bool) msgState {
		for _, m := range before.Msgs[100:] {
			if !skip[m.MsgID] && ok(m) {
				skip[m.MsgID] = true
				return m
			}
		}
		t.Fatal("no suitable message")
		return msgState{}
	}
	used := map[string]bool{}
	srvFlag := pickBy(used, func(m msgState) bool { return !slices.Contains(m.Flags, `\Flagged`) })
	srvDel := pickBy(used, func(msgState) bool { return true })
	locSeen := pickBy(used, func(m msgState) bool { return !slices.Contains(m.Flags, `\Seen`) })
	locDel := pickBy(used, func(msgState) bool { return true })

	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(srvFlag.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatalf("store flagged: %v", err)
	}
	if err := c.Store(imap.UIDSetNum(srvDel.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatalf("store deleted: %v", err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatalf("expunge: %v", err)
	}
	const srvNewID, locNewID = "<server-new@clients.test>", "<local-new@clients.test>"
	appendMsg(t, c, "INBOX", srvNewID, "added on the server")

	// Changes in the local Maildir: mark one seen, add one, remove one.
	old := filepath.Join(inbox, loc[locSeen.MsgID][0])
	if err := os.Rename(old, withMaildirFlag(old, 'S')); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(inbox, loc[locDel.MsgID][0])); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(inbox, "new", "1700000000.M1P1.local"), testMessage(locNewID, "added locally"), 0o600)
	// A new local folder: mbsync creates it on the server (Create Both).
	const projID = "<local-folder@clients.test>"
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(local, "Projects", sub), 0o700)
	}
	mustWrite(t, filepath.Join(local, "Projects", "new", "1700000001.M2P1.local"), testMessage(projID, "in a new folder"), 0o600)

	// Run 2: both directions.
	if w := mbsyncWrites(run("after changes")); w["APPEND"] != 2 || w["UID STORE"] == 0 {
		t.Errorf("second run: commands %v, want two APPENDs and a UID STORE", w)
	}
	after := snapshot(t, c, "INBOX")
	srv := after.byMsgID()
	loc = localState(t, inbox)
	checkOne := func(side string, got int, id string, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d copies of %s, want %d", side, got, id, want)
		}
	}
	checkOne("server", len(srv[locNewID]), locNewID, 1)
	checkOne("server", len(srv[srvNewID]), srvNewID, 1)
	checkOne("server", len(srv[locDel.MsgID]), locDel.MsgID, 0)
	checkOne("server", len(srv[srvDel.MsgID]), srvDel.MsgID, 0)
	checkOne("local", len(loc[srvNewID]), srvNewID, 1)
	checkOne("local", len(loc[locNewID]), locNewID, 1)
	checkOne("local", len(loc[srvDel.MsgID]), srvDel.MsgID, 0)
	checkOne("local", len(loc[locDel.MsgID]), locDel.MsgID, 0)
	if m := srv[locSeen.MsgID]; len(m) != 1 || !slices.Contains(m[0].Flags, `\Seen`) {
		t.Errorf("local \\Seen did not reach the server: %+v", m)
	}
	if f := loc[srvFlag.MsgID]; len(f) != 1 || !strings.Contains(maildirFlags(f[0]), "F") {
		t.Errorf("server \\Flagged did not reach the local maildir: %v", f)
	}
	if len(after.Msgs) != mbsyncMessages || countFiles(loc) != mbsyncMessages {
		t.Errorf("after run 2: server %d, local %d messages, want %d each", len(after.Msgs), countFiles(loc), mbsyncMessages)
	}
	if after.UIDValidity != before.UIDValidity {
		t.Errorf("UIDVALIDITY changed %d -> %d", before.UIDValidity, after.UIDValidity)
	}
	// Surviving messages keep their UIDs.
	oldUID := map[string]imap.UID{}
	for _, m := range before.Msgs {
		oldUID[m.MsgID] = m.UID
	}
	for _, m := range after.Msgs {
		if u, ok := oldUID[m.MsgID]; ok && u != m.UID {
			t.Errorf("message %s changed UID %d -> %d", m.MsgID, u, m.UID)
		}
	}
	if pr := snapshot(t, c, "INBOX.Projects"); len(pr.Msgs) != 1 || pr.Msgs[0].MsgID != projID {
		t.Errorf("server INBOX.Projects holds %+v, want %s", pr.Msgs, projID)
	}
	checkNoDups(t, "server", after.byMsgID())
	checkNoDups(t, "local", loc)

	// Run 3: nothing to do.
	out := run("idle")
	if w := mbsyncWrites(out); len(w) != 0 {
		t.Errorf("third run sent transferring commands %v:\n%s", w, tail(out, 30))
	}
	final := snapshot(t, c, "INBOX")
	if !reflect.DeepEqual(final, after) {
		t.Errorf("third run changed the server INBOX (uidvalidity %d/%d uidnext %d/%d, %d/%d messages)",
			after.UIDValidity, final.UIDValidity, after.UIDNext, final.UIDNext, len(after.Msgs), len(final.Msgs))
	}
	if l2 := localState(t, inbox); !reflect.DeepEqual(l2, loc) {
		t.Errorf("third run changed the local INBOX")
	}
	if a := snapshot(t, c, "INBOX.Archive"); len(a.Msgs) != archiveCount {
		t.Errorf("server Archive has %d messages, want %d", len(a.Msgs), archiveCount)
	}
}

func countFiles(m map[string][]string) int {
	n := 0
	for _, f := range m {
		n += len(f)
	}
	return n
}

func checkNoDups[T any](t *testing.T, side string, m map[string][]T) {
	t.Helper()
	for id, v := range m {
		if len(v) > 1 {
			t.Errorf("%s: %d copies of %s", side, len(v), id)
		}
	}
}

// imapToMaildir maps IMAP system flags to maildir info letters (sorted).
func imapToMaildir(flags []string) string {
	var b []byte
	for _, f := range flags {
		switch f {
		case `\Draft`:
			b = append(b, 'D')
		case `\Flagged`:
			b = append(b, 'F')
		case `\Answered`:
			b = append(b, 'R')
		case `\Seen`:
			b = append(b, 'S')
		case `\Deleted`:
			b = append(b, 'T')
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// withMaildirFlag returns name with flag added to its info (moving a
// new/ file to cur/).
func withMaildirFlag(name string, flag byte) string {
	dir, base := filepath.Split(name)
	stem, info, _ := strings.Cut(base, ":2,")
	if !strings.ContainsRune(info, rune(flag)) {
		b := []byte(info + string(flag))
		sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
		info = string(b)
	}
	dir = filepath.Join(filepath.Dir(filepath.Clean(dir)), "cur")
	return filepath.Join(dir, stem+":2,"+info)
}

func testMessage(msgID, subject string) string {
	return fmt.Sprintf("From: Tester <tester@clients.test>\nTo: %s@clients.test\nSubject: %s\nDate: Thu, 26 Nov 2026 12:00:00 +0000\nMessage-ID: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nBody of %s.\n", User, subject, msgID, subject)
}

// appendMsg APPENDs a small test message (CRLF, as on the wire).
func appendMsg(t *testing.T, c *imapclient.Client, mailbox, msgID, subject string) {
	t.Helper()
	body := strings.ReplaceAll(testMessage(msgID, subject), "\n", "\r\n")
	a := c.Append(mailbox, int64(len(body)), nil)
	if _, err := a.Write([]byte(body)); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("append: %v", err)
	}
	if _, err := a.Wait(); err != nil {
		t.Fatalf("append %s: %v", msgID, err)
	}
}

func tail(s string, n int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
