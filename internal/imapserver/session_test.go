package imapserver_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/imapserver"
	"gocourier/internal/rawimap"
)

func TestCommands(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	deliver(t, root, "1001.M2P1.test", msg2)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	if g := c.Line(); g != "* PREAUTH Ready." {
		t.Fatalf("greeting %q", g)
	}
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"capability", "a1 CAPABILITY", []string{"* CAPABILITY IMAP4rev1 UIDPLUS", "IDLE ACL ACL2=UNION ENABLE UTF8=ACCEPT LITERAL+", "a1 OK CAPABILITY completed"}, nil},
		{"lowercase command", "a2 noop", []string{"a2 OK NOOP completed"}, nil},
		{"namespace", "a3 NAMESPACE", []string{`* NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")("shared." "."))`, "a3 OK NAMESPACE completed."}, nil},
		{"fetch without select", "a4 FETCH 1 FLAGS", []string{"a4 NO Error in IMAP command received by server."}, nil},
		{"select missing arg", "a5 SELECT", []string{"a5 BAD Invalid command"}, nil},
		{"select", "a6 SELECT INBOX", []string{`* FLAGS (\Draft \Answered \Flagged \Deleted \Seen \Recent)`,
			`* OK [PERMANENTFLAGS (\* \Draft \Answered \Flagged \Deleted \Seen)] Limited`, "* 2 EXISTS", "* 2 RECENT",
			"* OK [UIDVALIDITY ", `* OK [MYRIGHTS "acdilrsw"] ACL`, "a6 OK [READ-WRITE] Ok"}, nil},
		{"fetch fast", "a7 FETCH 1:* (FLAGS UID RFC822.SIZE)", []string{`* 1 FETCH (FLAGS (\Recent) UID 1 RFC822.SIZE 204)`, "* 2 FETCH (", "a7 OK FETCH completed."}, nil},
		{"fetch out of range", "a8 FETCH 99 FLAGS", []string{"* NO Invalid message sequence number: 99", "a8 OK FETCH completed."}, nil},
		{"fetch zero", "a9 FETCH 0 FLAGS", []string{"* NO Invalid message sequence number: 0"}, nil},
		{"fetch reversed range (RFC)", "b1 FETCH 2:1 UID", []string{"* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)"}, nil},
		{"fetch envelope", "b2 FETCH 1 ENVELOPE", []string{`ENVELOPE ("Mon, 3 Mar 2025 10:00:00 +0000" "Hello Alice" (("Bob Example" NIL "bob" "example.com"))`}, nil},
		{"fetch peek header fields", "b3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])", []string{`BODY[HEADER.FIELDS ("Subject")] {24}`, "Subject: Hello Alice"}, []string{`\Seen`}},
		{"fetch partial", "b4 FETCH 1 BODY.PEEK[TEXT]<0.9>", []string{"BODY[TEXT]<0> {9}\nHi Alice,"}, nil},
		{"fetch body sets seen", "b5 FETCH 1 BODY[TEXT]", []string{"BODY[TEXT] {44}", `* 1 FETCH (FLAGS (\Seen \Recent))`}, nil},
		{"fetch bad item", "b6 FETCH 1 BINARY[]", []string{"b6 BAD "}, nil},
		{"fetch unterminated list", "b7 FETCH 1 (FLAGS", []string{"b7 BAD "}, nil},
		{"uid fetch adds UID", "b8 UID FETCH 2 FLAGS", []string{"* 2 FETCH (UID 2 FLAGS (\\Recent))"}, nil},
		{"store", "c1 STORE 1 +FLAGS (\\Flagged $Work)", []string{`* 1 FETCH (FLAGS (\Flagged \Seen \Recent $Work))`, "* FLAGS ($Work \\Draft", "c1 OK STORE completed."}, nil},
		{"store silent", "c2 STORE 1 -FLAGS.SILENT (\\Flagged)", []string{"c2 OK STORE completed."}, []string{"* 1 FETCH"}},
		{"store recent refused", "c3 STORE 1 +FLAGS (\\Recent)", []string{"c3 NO Error in IMAP command received by server."}, nil},
		{"uid store", "c4 UID STORE 2 +FLAGS \\Deleted", []string{`* 2 FETCH (UID 2 FLAGS (\Deleted \Recent))`}, nil},
		{"search", "d1 SEARCH DELETED", []string{"* SEARCH 2", "d1 OK SEARCH done."}, nil},
		{"search not", "d2 SEARCH NOT DELETED", []string{"* SEARCH 1"}, nil},
		{"search or uid", "d3 UID SEARCH OR UID 1 LARGER 100000", []string{"* SEARCH 1"}, nil},
		{"search since", "d4 SEARCH SINCE 1-Jan-2000", []string{"* SEARCH 1 2"}, nil},
		{"search keyword", "d5 SEARCH KEYWORD $Work", []string{"* SEARCH 1"}, nil},
		{"esearch", "d6 SEARCH RETURN (MIN COUNT) ALL", []string{`* ESEARCH (TAG "d6") MIN 1 COUNT 2`}, nil},
		{"search bad charset", "d7 SEARCH CHARSET X-NOPE ALL", []string{"d7 NO [BADCHARSET]"}, nil},
		{"search from", "d9 SEARCH FROM bob", []string{"* SEARCH 1\x00"[:10]}, []string{"* SEARCH 1 2"}},
		{"search body", "da SEARCH BODY \"first test\"", []string{"* SEARCH 1"}, nil},
		{"search header", "db SEARCH HEADER Message-ID m2@example", []string{"* SEARCH 2"}, nil},
		{"search unknown key", "d8 SEARCH FOO", []string{"d8 BAD "}, nil},
		{"create", "e1 CREATE INBOX.Sent", []string{`e1 OK "INBOX.Sent" created.`}, nil},
		{"create exists", "e2 CREATE INBOX.Sent", []string{"e2 NO Cannot create this folder."}, nil},
		{"create inbox", "e3 CREATE inbox", []string{"e3 NO INBOX already exists!"}, nil},
		{"create outside inbox", "e4 CREATE Foo", []string{"e4 NO Invalid mailbox name."}, nil},
		{"create utf7", "e5 CREATE INBOX.&AMk-t&AOk-", []string{`e5 OK "INBOX.&AMk-t&AOk-" created.`}, nil},
		{"list", `e6 LIST "" "*"`, []string{`* LIST (\HasNoChildren \Sent) "." "INBOX.Sent"`, `* LIST (\HasNoChildren) "." "INBOX.&AMk-t&AOk-"`, `* LIST (\Marked \HasChildren) "." "INBOX"`}, nil},
		{"list percent", `e7 LIST "INBOX." "%"`, []string{`"INBOX.Sent"`}, []string{`"INBOX"` + "\r"}},
		{"list special-use", `e9 LIST (SPECIAL-USE) "" "*"`, []string{`* LIST (\HasNoChildren \Sent) "." "INBOX.Sent"`}, []string{`"INBOX"`}},
		{"list return", `ea LIST "" "INBOX.S%" RETURN (SPECIAL-USE CHILDREN)`, []string{`* LIST (\HasNoChildren \Sent) "." "INBOX.Sent"`, "ea OK LIST completed"}, nil},
		{"list root", `e8 LIST "" ""`, []string{`* LIST (\Noselect) "." ""`}, nil},
		{"copy", "f1 COPY 1:2 INBOX.Sent", []string{"f1 OK [COPYUID ", " 1:2 1:2] COPY completed."}, nil},
		{"copy trycreate", "f2 COPY 1 INBOX.Nope", []string{"f2 NO [TRYCREATE] Mailbox does not exist."}, nil},
		{"status", "f3 STATUS INBOX.Sent (MESSAGES UIDNEXT UNSEEN)", []string{`* STATUS "INBOX.Sent" (MESSAGES 2 UIDNEXT 3 UNSEEN 1)`, "f3 OK STATUS Completed."}, nil},
		{"append literal plus", "f4 APPEND INBOX.Sent (\\Seen) \"05-Mar-2025 14:15:30 +0100\" {20+}\r\nSubject: x\r\n\r\nbody\r\n", []string{"f4 OK [APPENDUID ", " 3] APPEND Ok."}, nil},
		{"append trycreate", "f5 APPEND INBOX.Nope {3+}\r\nabc", []string{"f5 NO [TRYCREATE] Must create mailbox before append"}, nil},
		{"append bad flag", "f6 APPEND INBOX (\\Bogus) {3+}\r\nabc", []string{"f6 NO Error in IMAP command received by server."}, nil},
		{"append bad date", "f7 APPEND INBOX \"31-Feb-2025 99:00:00 +0000\" {3+}\r\nabc", []string{"f7 NO Error in IMAP command"}, nil},
		{"subscribe", "g1 SUBSCRIBE INBOX.Sent", []string{"g1 OK Folder subscribed."}, nil},
		{"lsub", `g2 LSUB "" "*"`, []string{`* LSUB (\HasNoChildren \Sent) "." "INBOX.Sent"`}, nil},
		{"unsubscribe", "g3 UNSUBSCRIBE INBOX.Sent", []string{"g3 OK Folder unsubscribed."}, nil},
		{"quota", "g4 GETQUOTAROOT INBOX", []string{`* QUOTAROOT "INBOX" "ROOT"`, `* QUOTA "ROOT"`, "g4 OK GETQUOTAROOT Ok."}, nil},
		{"setquota", "g5 SETQUOTA ROOT (STORAGE 1)", []string{"g5 NO SETQUOTA No permission."}, nil},
		{"myrights", "g6 MYRIGHTS INBOX", []string{`* MYRIGHTS "INBOX" "acdilrsw"`}, nil},
		{"setacl", "g7 SETACL INBOX bob lr", []string{"g7 OK ACLs updated."}, nil},
		{"getacl", "g8 GETACL INBOX", []string{`* ACL "INBOX" "owner" "acdilrsw" "administrators" "acdilrsw" "bob" "lr"`, "g8 OK GETACL completed."}, nil},
		{"setacl plus", "g9 SETACL INBOX bob +w", []string{"g9 OK ACLs updated."}, nil},
		{"deleteacl", "ga DELETEACL INBOX bob", []string{"ga OK ACLs updated."}, nil},
		{"setacl owner admin", "gb SETACL INBOX owner -a", []string{"gb NO Cannot modify ACLs on this mailbox."}, nil},
		{"setacl user=", "gc SETACL INBOX user=bob lr", []string{"gc NO Invalid ACL identifier."}, nil},
		{"acl revoke insert", "ge SETACL INBOX.Sent owner -i", []string{"ge OK ACLs updated."}, nil},
		{"append denied", "gf APPEND INBOX.Sent {3+}\r\nabc", []string{`gf NO Access denied for APPEND on INBOX.Sent (ACL "i" required)`}, nil},
		{"copy denied", "gg COPY 1 INBOX.Sent", []string{`gg NO Access denied for COPY on INBOX.Sent (ACL "i" required)`}, nil},
		{"acl restore insert", "gh SETACL INBOX.Sent owner +i", []string{"gh OK ACLs updated."}, nil},
		{"listrights", "gd LISTRIGHTS INBOX bob", []string{`* LISTRIGHTS "INBOX" "bob" "" a c d i l p r s w`}, nil},
		{"sort", "h1 SORT (REVERSE ARRIVAL) UTF-8 ALL", []string{"* SORT", "h1 OK SORT done."}, nil},
		{"thread", "h2 THREAD REFERENCES UTF-8 ALL", []string{"* THREAD", "h2 OK THREAD done."}, nil},
		{"expunge", "i1 EXPUNGE", []string{"* 2 EXPUNGE", "* 1 EXISTS", "i1 OK EXPUNGE completed"}, nil},
		{"move", "i2 MOVE 1 INBOX.Sent", []string{"* OK [COPYUID ", "* 1 EXPUNGE", "i2 OK MOVE completed."}, nil},
		{"rename", "j1 RENAME INBOX.Sent INBOX.Archive", []string{"j1 OK Folder renamed."}, nil},
		{"rename inbox", "j2 RENAME INBOX INBOX.X", []string{"j2 NO INBOX rename not implemented."}, nil},
		{"delete", "j3 DELETE INBOX.Archive", []string{"j3 OK Folder deleted."}, nil},
		{"delete missing", "j4 DELETE INBOX.Archive", []string{"j4 NO Mailbox does not exist"}, nil},
		{"delete inbox", "j5 DELETE INBOX", []string{"j5 NO Cannot delete this folder."}, nil},
		{"examine", "k1 EXAMINE INBOX", []string{"* OK [PERMANENTFLAGS ()] No permanent flags permitted", "k1 OK [READ-ONLY] Ok"}, nil},
		{"store read-only", "k2 STORE 1 +FLAGS (\\Seen)", []string{"k2 NO Current box is selected READ-ONLY."}, nil},
		{"expunge read-only", "k3 EXPUNGE", []string{"k3 NO Cannot expunge read-only mailbox."}, nil},
		{"enable", "k4 ENABLE UTF8=ACCEPT", []string{"* ENABLED UTF8=ACCEPT", "k4 OK Options enabled"}, nil},
		{"unselect", "k5 UNSELECT", []string{"k5 OK UNSELECT completed"}, nil},
		{"close unselected", "k6 CLOSE", []string{"k6 NO Error in IMAP command"}, nil},
		{"unknown", "k7 FOOBAR", []string{"k7 BAD Error in IMAP command received by server."}, nil},
		{"trailing garbage", "k8 LOGOUT extra", []string{"k8 BAD "}, nil},
		{"logout", "z LOGOUT", []string{"* BYE Courier-IMAP server shutting down", "z OK LOGOUT completed"}, nil},
	})
}

func TestTooManyErrors(t *testing.T) {
	root := newMaildir(t)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line()
	for i := 0; i < 9; i++ {
		c.Cmd("x FOOBAR")
	}
	c.Send("x FOOBAR\r\n")
	if l := c.Line(); !strings.HasPrefix(l, "x BAD") {
		t.Fatalf("got %q", l)
	}
	if l := c.Line(); l != "* BYE [ALERT] Fatal error: TOO MANY CONSECUTIVE PROTOCOL VIOLATIONS: " {
		t.Fatalf("got %q", l)
	}
}

func TestAutologout(t *testing.T) {
	root := newMaildir(t)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{Autologout: 200 * time.Millisecond}))
	c.Line()
	if l := c.Line(); l != "* BYE Disconnected for inactivity." {
		t.Fatalf("got %q", l)
	}
}

func TestEmptyLineAndOddTags(t *testing.T) {
	root := newMaildir(t)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line()
	c.Send("\r\n")
	if l := c.Line(); l != "* NO Error in IMAP command received by server." {
		t.Fatalf("got %q", l)
	}
	for _, tag := range []string{"+tag", "a.b-c_d", "*"} {
		got := c.Cmd(tag + " NOOP")
		if got[len(got)-1] != tag+" OK NOOP completed" {
			t.Errorf("tag %q: %q", tag, got)
		}
	}
	// A bare LF ends a line too (§5).
	c.Send("q NOOP\n")
	if got := c.Until("q"); got[len(got)-1] != "q OK NOOP completed" {
		t.Errorf("bare LF: %q", got)
	}
}

// TestTwoSessions checks that changes by one session reach another.
func TestTwoSessions(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	a := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	b := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	a.Line()
	b.Line()
	a.Cmd("a1 SELECT INBOX")
	b.Cmd("b1 SELECT INBOX")
	got := a.Cmd("a2 APPEND INBOX {12+}\r\nSubject: x\r\n")
	rawimap.MustContain(t, got, "a2 OK [APPENDUID")
	rawimap.MustContain(t, b.Cmd("b2 NOOP"), "* 2 EXISTS")
	a.Cmd(`a3 STORE 1 +FLAGS (\Flagged)`)
	rawimap.MustContain(t, b.Cmd("b3 NOOP"), `* 1 FETCH (FLAGS (\Flagged`)
	a.Cmd(`a4 STORE 1 +FLAGS (\Deleted)`)
	a.Cmd("a5 EXPUNGE")
	rawimap.MustContain(t, b.Cmd("b4 NOOP"), "* 1 EXPUNGE", "* 1 EXISTS")
	// \Recent belongs to one session only: the APPENDed message (RFC 3501
	// §2.3.2) and the delivered one are each \Recent in exactly one of
	// the two sessions, so the RECENT counts add up to the 2 messages.
	deliver(t, root, "1002.M3P1.test", msg2)
	ga := a.Cmd("a6 NOOP")
	gb := b.Cmd("b5 NOOP")
	if ra, rb := recentCount(t, ga), recentCount(t, gb); ra+rb != 2 {
		t.Errorf("\\Recent counts %d + %d, want 2 in all:\n%q\n%q", ra, rb, ga, gb)
	}
}

// recentCount returns N of the "* N RECENT" line in got.
func recentCount(t *testing.T, got []string) int {
	t.Helper()
	for _, l := range got {
		var n int
		if _, err := fmt.Sscanf(l, "* %d RECENT", &n); err == nil {
			return n
		}
	}
	t.Errorf("no RECENT line in %q", got)
	return 0
}

// TestIdleLatency measures the time from a delivery to the EXISTS push.
func TestIdleLatency(t *testing.T) {
	root := newMaildir(t)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{IdleRescan: time.Hour, KeepAlive: time.Hour}))
	c.Line()
	c.Cmd("a SELECT INBOX")
	c.Send("i IDLE\r\n")
	if l := c.Line(); l != "+ entering idle mode" {
		t.Fatalf("got %q", l)
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	deliver(t, root, "2000.M1P1.test", msg1)
	l := c.Line()
	lat := time.Since(start)
	if l != "* 1 EXISTS" {
		t.Fatalf("got %q", l)
	}
	t.Logf("IDLE notification latency after delivery: %v", lat)
	if lat > 2*time.Second {
		t.Errorf("latency %v", lat)
	}
	c.Line() // RECENT
	c.Send("DONE\r\n")
	got := c.Until("i")
	if got[len(got)-1] != "i OK IDLE completed" {
		t.Fatalf("got %q", got)
	}
}

func TestIdleKeepAliveAndBadLine(t *testing.T) {
	root := newMaildir(t)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{KeepAlive: 100 * time.Millisecond}))
	c.Line()
	c.Send("i IDLE\r\n")
	c.Line()
	if l := c.Line(); l != "* OK Still here" {
		t.Fatalf("got %q", l)
	}
	c.Send("NOOP\r\n")
	got := c.Until("i")
	if !strings.HasPrefix(got[len(got)-1], "i BAD") {
		t.Fatalf("got %q", got)
	}
}

func TestMoveExpungeToTrash(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	env := map[string]string{"IMAP_MOVE_EXPUNGE_TO_TRASH": "1", "IMAP_CAPABILITY": "IMAP4rev1"}
	c := rawimap.New(t, startSession(t, root, imapserver.Config{Getenv: func(k string) string { return env[k] }}))
	c.Line()
	rawimap.MustContain(t, c.Cmd("a CAPABILITY"), "XMAGICTRASH")
	c.Cmd("b SELECT INBOX")
	c.Cmd(`c STORE 1 +FLAGS (\Deleted)`)
	rawimap.MustContain(t, c.Cmd("d EXPUNGE"), "* 1 EXPUNGE", "d OK")
	rawimap.MustContain(t, c.Cmd("e STATUS INBOX.Trash (MESSAGES)"), `* STATUS "INBOX.Trash" (MESSAGES 1)`)
}

func TestUIDValidityChangeEndsSession(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line()
	c.Cmd("a SELECT INBOX")
	// Another process recreates the UID database with a new UIDVALIDITY.
	db := filepath.Join(root, "courierimapuiddb")
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("uiddb not where expected: %v", err)
	}
	if err := os.WriteFile(db+".new", []byte("1 12345 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Rename(db+".new", db)
	got := c.Cmd("b NOOP")
	rawimap.MustContain(t, got, "* BYE [ALERT]")
}

// TestIdleSeesOtherSessions measures IDLE latency for a flag change and an
// expunge made by another session.
func TestIdleSeesOtherSessions(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	deliver(t, root, "1001.M2P1.test", msg2)
	a := rawimap.New(t, startSession(t, root, imapserver.Config{IdleRescan: time.Hour, KeepAlive: time.Hour}))
	b := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	a.Line()
	b.Line()
	a.Cmd("a1 SELECT INBOX")
	b.Cmd("b1 SELECT INBOX")
	a.Send("a2 IDLE\r\n")
	a.Line()
	start := time.Now()
	b.Cmd(`b2 STORE 1 +FLAGS (\Flagged)`)
	if l := a.Line(); !strings.HasPrefix(l, `* 1 FETCH (FLAGS (\Flagged`) {
		t.Fatalf("got %q", l)
	}
	t.Logf("IDLE latency, flag change by another session: %v", time.Since(start))
	b.Cmd(`b3 STORE 2 +FLAGS (\Deleted)`)
	a.Line() // its FETCH
	start = time.Now()
	b.Cmd("b4 EXPUNGE")
	if l := a.Line(); l != "* 2 EXPUNGE" {
		t.Fatalf("got %q", l)
	}
	t.Logf("IDLE latency, expunge by another session: %v", time.Since(start))
	a.Send("DONE\r\n")
	a.Until("a2")
}
