package clients

import (
	"strings"
	"testing"
)

// TestConcurrentSessions checks, through the full chain, what imaptest's
// 50-client stress run broke: two sessions on one INBOX, one expunges
// while the other still shows the message; the other's STORE (by
// sequence number, as clients that have not yet seen the EXPUNGE send
// it) must answer OK, not "NO STORE failed", and its next NOOP reports
// the EXPUNGE. SEARCH RECENT, which once answered BAD, is checked too.
func TestConcurrentSessions(t *testing.T) {
	p := needChain(t)
	s := Start(t, p, Options{Seed: seedSubjects("one", "two", "three")})
	dial := func(tag string) *rawConn {
		c, err := dialRaw(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.ok(t, tag+"1 LOGIN "+User+" "+Pass)
		return c
	}
	a, b := dial("a"), dial("b")
	if sel := a.ok(t, "a2 SELECT INBOX"); !anyContains(sel, "* 3 RECENT") {
		t.Errorf("first SELECT did not claim the new messages: %q", sel)
	}
	if got := a.ok(t, "a3 SEARCH RECENT"); !anyContains(got, "* SEARCH 1 2 3") {
		t.Errorf("SEARCH RECENT: %q", got)
	}
	b.ok(t, "b2 SELECT INBOX")
	a.ok(t, `a4 STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.ok(t, "a5 EXPUNGE")
	if got := b.cmd(t, `b3 STORE 1:3 +FLAGS (\Flagged)`); !strings.HasPrefix(got, "b3 OK") {
		t.Errorf("STORE on a message expunged elsewhere: %q", got)
	}
	if got := b.ok(t, "b4 NOOP"); !anyContains(got, "* 1 EXPUNGE") {
		t.Errorf("NOOP after the other session's EXPUNGE: %q", got)
	}
	got := b.ok(t, "b5 FETCH 1:* (FLAGS)")
	if len(got) != 2 || !anyContains(got, `\Flagged`) {
		t.Errorf("after the STORE: %q", got)
	}
}
