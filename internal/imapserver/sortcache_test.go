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

// TestSortCacheAgrees checks that SORT and THREAD answered from the
// per-session header cache agree with a fresh session, also after an
// expunge and a new delivery, and that SORT SIZE, header SEARCH and
// INTERNALDATE keys (read lazily) give the same answers.
func TestSortCacheAgrees(t *testing.T) {
	root := newMaildir(t)
	msgs := []string{msg1, msg2,
		"From: Zed <z@example.net>\nSubject: Another topic\nDate: Sun, 2 Mar 2025 09:00:00 +0000\nMessage-ID: <m3@example.net>\n\nbody three is longer than the others\n",
		"From: Amy <a@example.net>\nSubject: Re: Another topic\nDate: Wed, 5 Mar 2025 09:00:00 +0000\nMessage-ID: <m4@example.net>\nReferences: <m3@example.net>\n\nfour\n"}
	for i, m := range msgs {
		name := fmt.Sprintf("%d.M%dP1.host", 1700000000+i, i)
		deliver(t, root, name, m)
		mt := time.Date(2025, 3, 10+i, 0, 0, 0, 0, time.UTC)
		os.Chtimes(filepath.Join(root, "new", name), mt, mt)
	}
	cmds := []string{
		"s1 SORT (DATE) UTF-8 ALL",
		"s2 SORT (REVERSE SUBJECT) UTF-8 ALL",
		"s3 SORT (SIZE) UTF-8 ALL",
		"s4 UID SORT (FROM) UTF-8 ALL",
		"s5 THREAD REFERENCES UTF-8 ALL",
		"s6 SEARCH SINCE 12-Mar-2025",
		"s7 SEARCH HEADER Subject topic",
		"s8 SEARCH LARGER 200",
	}
	answers := func(c *rawimap.Conn) []string {
		var out []string
		for _, cmd := range cmds {
			out = append(out, c.Cmd(cmd)[0])
		}
		return out
	}
	fresh := func() []string {
		c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
		c.Line()
		c.Cmd("a SELECT INBOX")
		return answers(c)
	}
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line()
	c.Cmd("a SELECT INBOX")
	first := answers(c)
	want := fresh()
	for i := range first {
		if first[i] != want[i] {
			t.Errorf("%s: %q, fresh session %q", cmds[i], first[i], want[i])
		}
	}
	if got := answers(c); fmt.Sprint(got) != fmt.Sprint(first) {
		t.Errorf("cached answers differ:\n%q\n%q", got, first)
	}
	c.Cmd(`b STORE 1 +FLAGS (\Deleted)`)
	c.Cmd("c EXPUNGE")
	deliver(t, root, "1700000100.M9P1.host", "From: New <n@example.com>\nSubject: Hello Alice\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m5@example.com>\nIn-Reply-To: <m1@example.com>\n\nnew\n")
	c.Cmd("d NOOP")
	got := answers(c)
	want = fresh()
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("after expunge+delivery %s: %q, fresh session %q", cmds[i], got[i], want[i])
		}
	}
	rawimap.MustContain(t, got, "* SORT")
}
