package imapserver_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
	"gocourier/internal/rawimap"
)

var (
	highestRE = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)
	modseqRE  = regexp.MustCompile(`MODSEQ \((\d+)\)`)
	uidvRE    = regexp.MustCompile(`UIDVALIDITY (\d+)`)
)

// num finds re's number in lines (0 if absent).
func num(lines []string, re *regexp.Regexp) uint64 {
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	return 0
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func condstoreSession(t *testing.T, root string) *rawimap.Conn {
	t.Helper()
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.Line() // greeting
	return c
}

// TestCondstoreCommands runs every CONDSTORE command once on one session.
func TestCondstoreCommands(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	deliver(t, root, "1001.M2P1.test", msg2)
	c := condstoreSession(t, root)
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"capability", "a0 CAPABILITY", []string{" CONDSTORE QRESYNC"}, nil},
		{"no modseq before enabling", "a1 SELECT INBOX", []string{"a1 OK"}, []string{"HIGHESTMODSEQ"}},
		{"fetch flags without modseq", "a2 FETCH 1 FLAGS", []string{"* 1 FETCH (FLAGS (\\Recent))"}, []string{"MODSEQ"}},
		{"fetch modseq enables", "a3 FETCH 1 (MODSEQ)", []string{"* OK [HIGHESTMODSEQ ", "* 1 FETCH (MODSEQ ("}, nil},
		{"flags now carry modseq", "a4 FETCH 2 FLAGS", []string{"* 2 FETCH (FLAGS (\\Recent) MODSEQ ("}, nil},
		{"modseq bad without number", "a5 SEARCH MODSEQ", []string{"a5 BAD"}, nil},
		{"vanished needs qresync", "a6 UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)", []string{"a6 BAD"}, nil},
		{"qresync select needs enable", "a7 SELECT INBOX (QRESYNC (1 1))", []string{"a7 BAD"}, nil},
		{"unknown fetch modifier", "a8 FETCH 1 FLAGS (FOO 1)", []string{"a8 BAD"}, nil},
		{"changedsince zero", "a9 FETCH 1 FLAGS (CHANGEDSINCE 0)", []string{"a9 BAD"}, nil},
	})
	sel := c.Cmd("b1 SELECT INBOX (CONDSTORE)")
	rawimap.MustContain(t, sel, "* OK [HIGHESTMODSEQ ", "b1 OK [READ-WRITE]")
	h0 := num(sel, highestRE)
	st := c.Cmd("b2 STORE 1 +FLAGS (\\Seen)")
	m1 := num(st, modseqRE)
	if m1 <= h0 {
		t.Fatalf("STORE gave MODSEQ %d, HIGHESTMODSEQ was %d:\n%s", m1, h0, strings.Join(st, "\n"))
	}
	rawimap.MustContain(t, st, "* 1 FETCH (FLAGS (\\Seen) MODSEQ ("+u(m1)+"))")
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"silent store still reports modseq", "b3 STORE 2 +FLAGS.SILENT (\\Flagged)", []string{"* 2 FETCH (MODSEQ ("}, []string{"FLAGS ("}},
		{"unchangedsince too old", "b4 STORE 1 (UNCHANGEDSINCE " + u(h0) + ") -FLAGS (\\Seen)", []string{"b4 OK [MODIFIED 1] Conditional STORE failed"}, []string{"* 1 FETCH"}},
		{"unchangedsince uid", "b5 UID STORE 1:2 (UNCHANGEDSINCE " + u(m1) + ") +FLAGS (\\Answered)", []string{"* 1 FETCH (UID 1 FLAGS (\\Answered \\Seen) MODSEQ (", "b5 OK [MODIFIED 2] Conditional STORE failed"}, nil},
		{"unchangedsince 0 fails all", "b6 STORE 1:2 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)", []string{"b6 OK [MODIFIED 1:2]"}, []string{"FETCH"}},
		{"changedsince filters", "b7 FETCH 1:2 FLAGS (CHANGEDSINCE " + u(m1) + ")", []string{"* 1 FETCH (FLAGS (\\Answered \\Seen) MODSEQ (", "* 2 FETCH"}, nil},
		{"search modseq", "b8 SEARCH MODSEQ " + u(m1+1), []string{"* SEARCH 1 2 (MODSEQ "}, nil},
		{"search modseq with entry", `b9 SEARCH MODSEQ "/flags/\\seen" all 1`, []string{"* SEARCH 1 2 (MODSEQ "}, nil},
		{"search modseq none", "c1 SEARCH MODSEQ 9223372036854775000", []string{"c1 OK"}, []string{"(MODSEQ"}},
		{"esearch min", "c2 SEARCH RETURN (MIN) MODSEQ 1", []string{"* ESEARCH (TAG \"c2\") MIN 1 MODSEQ "}, nil},
		{"status", "c3 STATUS INBOX (MESSAGES HIGHESTMODSEQ)", []string{"* STATUS \"INBOX\" (MESSAGES 2 HIGHESTMODSEQ "}, nil},
	})
	// c1's SEARCH line has no results: check exactly.
	got := c.Cmd("c4 SEARCH MODSEQ 9223372036854775000")
	if got[0] != "* SEARCH" {
		t.Errorf("empty SEARCH MODSEQ: %q", got[0])
	}
	// ESEARCH MIN/MAX report the MODSEQ of those messages only.
	all := c.Cmd("c5 FETCH 1:2 MODSEQ")
	var ms [3]uint64
	for _, l := range all {
		if m := modseqRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			ms[l[2]-'0'] = n
		}
	}
	rawimap.MustContain(t, c.Cmd("c6 SEARCH RETURN (MAX) 1 MODSEQ 1"), "MAX 1 MODSEQ "+u(ms[1]))
	rawimap.MustContain(t, c.Cmd("c7 SEARCH RETURN (MIN) 2 MODSEQ 1"), "MIN 2 MODSEQ "+u(ms[2]))
}

func TestCondstoreDisabled(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	env := map[string]string{"IMAP_CONDSTORE": "0"}
	c := rawimap.New(t, startSession(t, root, imapserver.Config{Getenv: func(k string) string { return env[k] }}))
	c.Line()
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"capability", "a0 CAPABILITY", []string{"a0 OK"}, []string{"CONDSTORE"}},
		{"enable ignored", "a1 ENABLE CONDSTORE QRESYNC", []string{"a1 OK"}, []string{"CONDSTORE", "QRESYNC"}},
		{"select param", "a2 SELECT INBOX (CONDSTORE)", []string{"a2 BAD"}, nil},
		{"select", "a3 SELECT INBOX", []string{"a3 OK"}, []string{"MODSEQ"}},
		{"fetch modseq", "a4 FETCH 1 MODSEQ", []string{"a4 BAD"}, nil},
		{"status", "a5 STATUS INBOX (HIGHESTMODSEQ)", []string{"a5 BAD"}, nil},
	})
	if _, err := os.Stat(filepath.Join(root, maildir.ModSeqFile)); err == nil {
		t.Error("modseq file written with CONDSTORE off")
	}
}

// TestQresyncSessions: one session changes and expunges, the other sees
// MODSEQ and VANISHED, then resynchronizes with SELECT (QRESYNC), UID
// FETCH (CHANGEDSINCE VANISHED), after an external change and after the
// modseq file is lost.
func TestQresyncSessions(t *testing.T) {
	root := newMaildir(t)
	for i := 0; i < 4; i++ {
		deliver(t, root, "100"+strconv.Itoa(i)+".M1P1.test", msg1)
	}
	a := condstoreSession(t, root)
	b := condstoreSession(t, root)
	rawimap.MustContain(t, a.Cmd("a1 ENABLE QRESYNC"), "* ENABLED QRESYNC")
	sel := a.Cmd("a2 SELECT INBOX")
	h0, uv := num(sel, highestRE), num(sel, uidvRE)
	if h0 == 0 || uv == 0 {
		t.Fatalf("SELECT:\n%s", strings.Join(sel, "\n"))
	}
	b.Cmd("b1 SELECT INBOX")
	b.Cmd("b2 STORE 1 +FLAGS (\\Flagged)")
	b.Cmd("b3 STORE 2 +FLAGS (\\Deleted)")
	b.Cmd("b4 EXPUNGE")
	n := a.Cmd("a3 NOOP")
	rawimap.MustContain(t, n, "* VANISHED 2", "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) MODSEQ (")
	if rawimap.Contains(n, "EXPUNGE") {
		t.Errorf("EXPUNGE after ENABLE QRESYNC:\n%s", strings.Join(n, "\n"))
	}
	h1 := num(n, modseqRE)
	if h1 <= h0 {
		t.Fatalf("MODSEQ %d not above %d", h1, h0)
	}
	rawimap.RunSteps(t, a, []rawimap.Step{
		{"uid fetch vanished", "a4 UID FETCH 1:* FLAGS (CHANGEDSINCE " + u(h0) + " VANISHED)",
			[]string{"* VANISHED (EARLIER) 2", "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) MODSEQ ("}, []string{"UID 3", "UID 4"}},
		{"qresync select", "a5 SELECT INBOX (QRESYNC (" + u(uv) + " " + u(h0) + " 1:4))",
			[]string{"* OK [CLOSED]", "* VANISHED (EARLIER) 2", "* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (", "a5 OK"}, []string{"UID 3 ", "UID 4 "}},
		{"qresync known-uids limit", "a6 SELECT INBOX (QRESYNC (" + u(uv) + " " + u(h0) + " 3:4))",
			[]string{"a6 OK"}, []string{"VANISHED"}},
		{"qresync other uidvalidity", "a7 SELECT INBOX (QRESYNC (" + u(uv+1) + " " + u(h0) + "))",
			[]string{"HIGHESTMODSEQ", "a7 OK"}, []string{"VANISHED", "FETCH"}},
		{"qresync with seq-match", "a8 SELECT INBOX (QRESYNC (" + u(uv) + " " + u(h0) + " 1:4 (1:3 1:4)))",
			[]string{"* VANISHED (EARLIER) 2", "a8 OK"}, nil},
	})
	// External change, as Courier makes it: rename the file's flags.
	names, _ := os.ReadDir(filepath.Join(root, "cur"))
	for _, e := range names {
		if strings.HasPrefix(e.Name(), "1002.") {
			nn := strings.SplitN(e.Name(), ":2,", 2)[0] + ":2,S"
			if err := os.Rename(filepath.Join(root, "cur", e.Name()), filepath.Join(root, "cur", nn)); err != nil {
				t.Fatal(err)
			}
		}
	}
	n = a.Cmd("a9 NOOP")
	rawimap.MustContain(t, n, "* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (")
	h2 := num(n, modseqRE)
	if h2 <= h1 {
		t.Fatalf("external change got MODSEQ %d, not above %d", h2, h1)
	}
	// The file is lost: values go on upwards and the answer is the full one.
	if err := os.Remove(filepath.Join(root, maildir.ModSeqFile)); err != nil {
		t.Fatal(err)
	}
	c := condstoreSession(t, root)
	c.Cmd("c1 ENABLE QRESYNC")
	sel = c.Cmd("c2 SELECT INBOX (QRESYNC (" + u(uv) + " " + u(h2) + " 1:4))")
	rawimap.MustContain(t, sel, "* VANISHED (EARLIER) 2", "* 1 FETCH (UID 1 ", "* 2 FETCH (UID 3 ", "* 3 FETCH (UID 4 ")
	if h3 := num(sel, highestRE); h3 <= h2 {
		t.Fatalf("after losing the file HIGHESTMODSEQ %d, before %d", h3, h2)
	}
	// RFC 7162 §3.2.4: with QRESYNC every FETCH response carries UID.
	rawimap.RunSteps(t, c, []rawimap.Step{
		{"silent store", "c3 STORE 1 +FLAGS.SILENT (\\Answered)", []string{"* 1 FETCH (UID 1 MODSEQ ("}, nil},
		{"store", "c4 STORE 1 -FLAGS (\\Answered)", []string{"* 1 FETCH (UID 1 FLAGS ("}, nil},
		{"fetch", "c5 FETCH 2 FLAGS", []string{"* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ ("}, nil},
		{"fetch body sets seen", "c6 FETCH 1 BODY[TEXT]", []string{"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen) MODSEQ ("}, nil},
	})
}

// TestCondstoreGoIMAP: go-imap v2's client uses CONDSTORE as a client
// library would: SELECT (CONDSTORE), FETCH MODSEQ, STORE UNCHANGEDSINCE,
// FETCH CHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ.
func TestCondstoreGoIMAP(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	deliver(t, root, "1001.M2P1.test", msg2)
	c := imapclient.New(startSession(t, root, imapserver.Config{}), nil)
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	caps, err := c.Capability().Wait()
	if err != nil || !caps.Has(imap.CapCondStore) || !caps.Has(imap.CapQResync) {
		t.Fatalf("caps %v %v", caps, err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
	if err != nil || sel.HighestModSeq == 0 {
		t.Fatalf("select %+v %v", sel, err)
	}
	set := imap.SeqSetNum(1)
	if _, err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, &imap.StoreOptions{UnchangedSince: sel.HighestModSeq}).Collect(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{UID: true, ModSeq: true, ChangedSince: sel.HighestModSeq}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].UID != 1 || msgs[0].ModSeq <= sel.HighestModSeq {
		t.Fatalf("CHANGEDSINCE %d gave %+v", sel.HighestModSeq, msgs)
	}
	// A stale UNCHANGEDSINCE fails (go-imap reports the NO/OK code as an error or not at all; the flag must stay).
	c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen}}, &imap.StoreOptions{UnchangedSince: sel.HighestModSeq}).Collect()
	fl, err := c.Fetch(set, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(fl) != 1 || len(fl[0].Flags) == 0 || fl[0].Flags[0] != imap.FlagSeen {
		t.Fatalf("flags after a failed conditional STORE: %+v %v", fl, err)
	}
	sr, err := c.Search(&imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{ModSeq: msgs[0].ModSeq}}, nil).Wait()
	if err != nil || len(sr.AllSeqNums()) != 1 || sr.ModSeq != msgs[0].ModSeq {
		t.Fatalf("SEARCH MODSEQ: %+v %v", sr, err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{HighestModSeq: true}).Wait()
	if err != nil || st.HighestModSeq < msgs[0].ModSeq {
		t.Fatalf("STATUS %+v %v", st, err)
	}
}

// TestCondstoreFlipFlop: another session sets and clears a flag between
// two of our rescans; our flags look unchanged but the MODSEQ moved, and
// the client must learn it (imaptest's checkpoint compares them).
func TestCondstoreFlipFlop(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	a := condstoreSession(t, root)
	b := condstoreSession(t, root)
	sel := a.Cmd("a1 SELECT INBOX (CONDSTORE)")
	h0 := num(sel, highestRE)
	b.Cmd("b1 SELECT INBOX (CONDSTORE)")
	b.Cmd("b2 STORE 1 +FLAGS.SILENT (\\Flagged)")
	st := b.Cmd("b3 STORE 1 -FLAGS.SILENT (\\Flagged)")
	m := num(st, modseqRE)
	if m <= h0 {
		t.Fatalf("flip-flop MODSEQ %d, before %d", m, h0)
	}
	n := a.Cmd("a2 NOOP")
	rawimap.MustContain(t, n, "* 1 FETCH (FLAGS (\\Recent) MODSEQ ("+u(m)+"))")
	// Reported once: the next NOOP is quiet.
	if n := a.Cmd("a3 NOOP"); rawimap.Contains(n, "FETCH") {
		t.Errorf("MODSEQ reported twice:\n%s", strings.Join(n, "\n"))
	}
}

// TestCondstoreSortThreadEnable: a MODSEQ search key in SORT or THREAD is
// a CONDSTORE enabling command like SEARCH MODSEQ (RFC 7162 §3.1).
func TestCondstoreSortThreadEnable(t *testing.T) {
	for _, cmd := range []string{"s2 SORT (ARRIVAL) UTF-8 MODSEQ 1", "s2 THREAD REFERENCES UTF-8 MODSEQ 1"} {
		t.Run(strings.Fields(cmd)[1], func(t *testing.T) {
			root := newMaildir(t)
			deliver(t, root, "1000.M1P1.test", msg1)
			c := condstoreSession(t, root)
			rawimap.RunSteps(t, c, []rawimap.Step{
				{"select", "s1 SELECT INBOX", []string{"s1 OK"}, []string{"HIGHESTMODSEQ"}},
				{"enables", cmd, []string{"* OK [HIGHESTMODSEQ ", "s2 OK"}, nil},
				{"flags carry modseq", "s3 FETCH 1 FLAGS", []string{"* 1 FETCH (FLAGS (\\Recent) MODSEQ ("}, nil},
			})
		})
	}
}
