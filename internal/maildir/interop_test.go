package maildir

// Alternating interoperability with the real Courier 5.0.13 on one
// maildir: each side changes something, then both views are compared.

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var listRE = regexp.MustCompile(`(?m)^\* (LIST|LSUB) \(([^)]*)\) "\." "?([^"\r\n]*)"?\r?$`)

// courierFolders parses LIST or LSUB output into sorted "name attrs"
// lines keeping only the attributes both sides model.
func courierFolders(out, kind string) []string {
	var v []string
	for _, m := range listRE.FindAllStringSubmatch(out, -1) {
		if m[1] != kind {
			continue
		}
		var attrs []string
		for _, a := range strings.Fields(m[2]) {
			switch strings.ToLower(a) {
			case `\haschildren`, `\hasnochildren`, `\noselect`:
				attrs = append(attrs, strings.ToLower(a))
			}
		}
		sort.Strings(attrs)
		if kind == "LSUB" {
			// Courier adds the parents of subscribed names as
			// \Noselect levels (an IMAP-layer rendering); the stored
			// subscriptions are the others.
			noselect := false
			for _, a := range attrs {
				noselect = noselect || a == `\noselect`
			}
			if noselect {
				continue
			}
			attrs = nil
		}
		v = append(v, strings.TrimSpace(m[3]+" "+strings.Join(attrs, " ")))
	}
	sort.Strings(v)
	return v
}

func ourFolders(t *testing.T, m *Maildir) []string {
	t.Helper()
	l, err := m.ListFolders()
	if err != nil {
		t.Fatal(err)
	}
	var v []string
	for _, f := range l {
		attrs := []string{`\hasnochildren`}
		if f.HasChildren {
			attrs = []string{`\haschildren`}
		}
		if f.NoSelect {
			attrs = append(attrs, `\noselect`)
		}
		sort.Strings(attrs)
		v = append(v, f.Name+" "+strings.Join(attrs, " "))
	}
	sort.Strings(v)
	return v
}

func ourSubs(t *testing.T, m *Maildir) []string {
	t.Helper()
	s, err := m.Subscriptions()
	if err != nil {
		t.Fatal(err)
	}
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// courierLists returns Courier's LIST "" "*" and LSUB "" "*" views (UTF-8 names).
func courierLists(t *testing.T, root string) ([]string, []string) {
	t.Helper()
	out := runCourierIMAP(t, root, "a ENABLE UTF8=ACCEPT", `b LIST "" "*"`, `c LSUB "" "*"`, "d LOGOUT")
	if !strings.Contains(out, "b OK") || !strings.Contains(out, "c OK") {
		t.Fatalf("courier LIST/LSUB failed:\n%s", out)
	}
	return courierFolders(out, "LIST"), courierFolders(out, "LSUB")
}

func sameLists(t *testing.T, step string, m *Maildir, wantFolders, wantSubs []string) {
	t.Helper()
	cl, cs := courierLists(t, m.Root())
	ol, osub := ourFolders(t, m), ourSubs(t, m)
	if fmt.Sprint(cl) != fmt.Sprint(ol) {
		t.Errorf("%s: LIST differs\ncourier %q\nours    %q", step, cl, ol)
	}
	if fmt.Sprint(cs) != fmt.Sprint(osub) {
		t.Errorf("%s: LSUB differs\ncourier %q\nours    %q", step, cs, osub)
	}
	for _, w := range wantFolders {
		found := false
		for _, l := range ol {
			found = found || strings.HasPrefix(l, w+" ")
		}
		if !found {
			t.Errorf("%s: folder %q missing from %q", step, w, ol)
		}
	}
	for _, w := range wantSubs {
		found := false
		for _, s := range osub {
			found = found || s == w
		}
		if !found {
			t.Errorf("%s: subscription %q missing from %q", step, w, osub)
		}
	}
}

// TestCourierFoldersAlternate: folders created, renamed and deleted by
// Courier (non-ASCII names, children, subscriptions) look the same to us,
// and the other way round.
func TestCourierFoldersAlternate(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, TrashName: "Trash"})
	out := runCourierIMAP(t, m.Root(), "a ENABLE UTF8=ACCEPT",
		`b CREATE "INBOX.Été"`,
		`c CREATE "INBOX.a.b.c"`,
		`d CREATE "INBOX.Über.Kind"`,
		`e SUBSCRIBE "INBOX.Été"`,
		`f SUBSCRIBE "INBOX.a.b.c"`,
		`g RENAME "INBOX.a" "INBOX.z"`,
		`h CREATE "INBOX.gone"`,
		`i DELETE "INBOX.gone"`,
		"j LOGOUT")
	for _, tag := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		if !strings.Contains(out, "\r\n"+tag+" OK") {
			t.Fatalf("courier step %s failed:\n%s", tag, out)
		}
	}
	sameLists(t, "after courier", m, []string{"INBOX.Été", "INBOX.z.b.c", "INBOX.z.b", "INBOX.Über.Kind"}, []string{"INBOX.Été"})
	if m.FolderExists("INBOX.gone") || m.FolderExists("INBOX.a.b.c") {
		t.Error("deleted/renamed folders still exist for us")
	}
	// Our turn, then Courier looks.
	steps := []struct {
		name string
		do   func() error
	}{
		{"create", func() error { return m.CreateFolder("INBOX.Ωmega.kid") }},
		{"subscribe", func() error { return m.Subscribe("INBOX.Ωmega.kid") }},
		{"rename with children", func() error { return m.RenameFolder("INBOX.z", "INBOX.Zürich") }},
		{"delete non-ASCII", func() error { return m.DeleteFolder("INBOX.Été") }},
		{"unsubscribe", func() error { return m.Unsubscribe("INBOX.Été") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	sameLists(t, "after ours", m, []string{"INBOX.Ωmega.kid", "INBOX.Zürich.b.c", "INBOX.Über.Kind"}, []string{"INBOX.Ωmega.kid"})
	// Courier can select what we made and sees it empty and usable.
	out = runCourierIMAP(t, m.Root(), "a ENABLE UTF8=ACCEPT", `b SELECT "INBOX.Zürich.b.c"`, `c SELECT "INBOX.Ωmega.kid"`, "d LOGOUT")
	if !strings.Contains(out, "b OK [READ-WRITE]") || !strings.Contains(out, "c OK [READ-WRITE]") {
		t.Errorf("courier cannot select our folders:\n%s", out)
	}
}

var copyuidRE = regexp.MustCompile(`\[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\]`)

// TestCourierCopyAlternate: a COPY by Courier is seen by us with the
// UIDs Courier announced (COPYUID), flags and keywords; a COPY by us is
// seen by Courier with the UIDs we returned.
func TestCourierCopyAlternate(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	if err := m.CreateFolder("INBOX.Dst"); err != nil {
		t.Fatal(err)
	}
	for i, fl := range []Flags{FlagSeen, FlagFlagged, 0} {
		if _, err := m.Append("INBOX", strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)), fl, []string{"Kw" + strconv.Itoa(i)}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	out := runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b UID COPY 1,3 INBOX.Dst", "c SELECT INBOX.Dst", "d UID FETCH 1:* (UID FLAGS)", "e LOGOUT")
	cu := copyuidRE.FindStringSubmatch(out)
	if cu == nil || cu[2] != "1,3" {
		t.Fatalf("no COPYUID from courier:\n%s", out)
	}
	d, err := m.OpenFolder("INBOX.Dst", false)
	if err != nil {
		t.Fatal(err)
	}
	if cv, ov := courierView(out[strings.Index(out, "c OK"):]), ourView(d); len(ov) != 2 || fmt.Sprint(cv) != fmt.Sprint(ov) {
		t.Errorf("after courier COPY:\ncourier %v\nours    %v", cv, ov)
	}
	var announced []uint32
	for _, r := range strings.Split(cu[3], ",") {
		lo, hi, _ := strings.Cut(r, ":")
		a, _ := strconv.Atoi(lo)
		b := a
		if hi != "" {
			b, _ = strconv.Atoi(hi)
		}
		for n := a; n <= b; n++ {
			announced = append(announced, uint32(n))
		}
	}
	if len(announced) != 2 {
		t.Errorf("COPYUID %s", cu[0])
	}
	for _, n := range announced {
		if _, ok := d.Message(n); !ok {
			t.Errorf("COPYUID says %d, we do not have it: %v", n, ourView(d))
		}
	}
	// We copy back into INBOX; Courier must see our UIDs.
	src := d.Messages()
	_, _, dstUIDs, err := d.CopyTo("INBOX", []uint32{src[0].UID, src[1].UID})
	if err != nil || len(dstUIDs) != 2 {
		t.Fatalf("our copy: %v %v", dstUIDs, err)
	}
	in, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	out = runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b UID FETCH 1:* (UID FLAGS)", "c LOGOUT")
	cv, ov := courierView(out), ourView(in)
	if len(cv) != 5 || fmt.Sprint(cv) != fmt.Sprint(ov) {
		t.Errorf("after our COPY:\ncourier %v\nours    %v", cv, ov)
	}
	dv := ourView(d)
	for i, u := range dstUIDs {
		if _, ok := cv[u]; !ok || cv[u] != dv[src[i].UID] {
			t.Errorf("our copy of Dst UID %d is INBOX UID %d: courier sees %q, source has %q", src[i].UID, u, cv[u], dv[src[i].UID])
		}
	}
}

var quotaRE = regexp.MustCompile(`\* QUOTA "ROOT" \(STORAGE (\d+) (\d+) MESSAGE (\d+) (\d+)\)`)

// TestCourierQuotaAlternate: maildirsize figures agree after APPEND, COPY
// and EXPUNGE done by Courier and by us in turn, and with a recount.
func TestCourierQuotaAlternate(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, TrashName: "Trash"})
	m.CreateFolder("INBOX.Sent")
	if _, err := m.RecalcQuota("1000000S,100C"); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		out := runCourierIMAP(t, m.Root(), "a GETQUOTAROOT INBOX", "b LOGOUT")
		q := quotaRE.FindStringSubmatch(out)
		if q == nil {
			t.Fatalf("%s: no QUOTA from courier:\n%s", step, out)
		}
		u, err := m.QuotaUsage()
		if err != nil {
			t.Fatal(err)
		}
		ours := fmt.Sprintf("%d %d", (u.Bytes+1023)/1024, u.Count)
		if theirs := q[1] + " " + q[3]; theirs != ours {
			t.Errorf("%s: courier STORAGE/MESSAGE %s, ours %s", step, theirs, ours)
		}
		// The incremental figures equal a full recount.
		b, c := dirUsage(m.Root())
		for _, s := range []string{".Sent"} {
			b2, c2 := dirUsage(filepath.Join(m.Root(), s))
			b, c = b+b2, c+c2
		}
		if b != u.Bytes || c != u.Count {
			t.Errorf("%s: maildirsize says %d bytes %d msgs, files %d %d", step, u.Bytes, u.Count, b, c)
		}
	}
	lit := func(s string) string { return fmt.Sprintf("{%d}\r\n%s", len(s), s) }
	runCourierIMAP(t, m.Root(),
		"a APPEND INBOX.Sent "+lit(strings.Repeat("courier line\r\n", 200)),
		"b APPEND INBOX "+lit(strings.Repeat("x\r\n", 999)),
		"c SELECT INBOX.Sent", "d COPY 1 INBOX", "e LOGOUT")
	check("after courier append+copy")
	for i := 0; i < 3; i++ {
		if _, err := m.Append("INBOX.Sent", strings.NewReader(strings.Repeat("our line\r\n", 100*(i+1))), 0, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := m.OpenFolder("INBOX.Sent", false)
	f.CopyTo("INBOX", []uint32{2})
	f.Expunge([]uint32{3})
	check("after our append+copy+expunge")
	runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b STORE 1:2 +FLAGS (\\Deleted)", "c EXPUNGE", "d LOGOUT")
	check("after courier expunge")
	f.Rescan()
	f.Expunge([]uint32{1})
	check("after our expunge")
}

// courierPOP3 runs Courier's courierpop3d on root with the given commands
// and returns its output.
func courierPOP3(t *testing.T, root string, cmds ...string) string {
	t.Helper()
	pop3d := needCourier(t, "usr/lib/courier/courier/courierpop3d")
	cmd := exec.Command(pop3d, filepath.Base(root))
	cmd.Dir = filepath.Dir(root)
	cmd.Env = []string{"TCPREMOTEIP=127.0.0.1", "AUTHENTICATED=alice"}
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\r\n") + "\r\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("courierpop3d: %v\n%s", err, out)
	}
	return string(out)
}

var uidlRE = regexp.MustCompile(`(?m)^(\d+) (UID\S+)\r$`)

func courierUIDLs(t *testing.T, root string) []string {
	t.Helper()
	out := courierPOP3(t, root, "UIDL", "QUIT")
	var v []string
	for _, m := range uidlRE.FindAllStringSubmatch(out, -1) {
		v = append(v, m[1]+" "+m[2])
	}
	return v
}

func ourUIDLs(t *testing.T, m *Maildir) []string {
	t.Helper()
	d, err := m.OpenPOP3()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var v []string
	for i, x := range d.Messages() {
		v = append(v, fmt.Sprintf("%d %s", i+1, x.UIDL))
	}
	return v
}

// TestCourierPOP3Alternate: Courier's pop3d and ours list the same UIDLs
// for one maildir before and after new deliveries and deletions by either.
func TestCourierPOP3Alternate(t *testing.T) {
	needCourier(t, "usr/lib/courier/courier/courierpop3d")
	m := newMaildir(t, Options{})
	n := 0
	deliverSome := func(k int) {
		for i := 0; i < k; i++ {
			n++
			b := fmt.Sprintf("Subject: %d\n\nbody %d\n", n, n)
			deliver(t, m.Root(), fmt.Sprintf("%d.M%dP1.h,S=%d", 1795000000+n, n, len(b)), b)
		}
	}
	same := func(step string, want int) []string {
		t.Helper()
		c, o := courierUIDLs(t, m.Root()), ourUIDLs(t, m)
		if fmt.Sprint(c) != fmt.Sprint(o) || len(o) != want {
			t.Errorf("%s: UIDLs differ (want %d)\ncourier %q\nours    %q", step, want, c, o)
		}
		return o
	}
	deliverSome(4)
	before := same("initial", 4)
	deliverSome(2)
	after := same("after delivery", 6)
	if fmt.Sprint(before) != fmt.Sprint(after[:4]) {
		t.Errorf("old UIDLs changed after delivery: %q -> %q", before, after)
	}
	// Courier deletes message 2.
	if out := courierPOP3(t, m.Root(), "DELE 2", "QUIT"); !strings.Contains(out, "+OK") {
		t.Fatalf("courier DELE: %s", out)
	}
	deliverSome(1)
	l := same("after courier DELE + delivery", 6)
	if strings.Fields(l[1])[1] != strings.Fields(after[2])[1] {
		t.Errorf("after courier DELE 2, message 2 should be old message 3: %q", l)
	}
	// We delete message 1 and the last one.
	d, err := m.OpenPOP3()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Delete([]int{0, len(d.Messages()) - 1}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	deliverSome(2)
	l2 := same("after our DELE + delivery", 6)
	if strings.Fields(l2[0])[1] != strings.Fields(l[1])[1] {
		t.Errorf("after our deletion, message 1 should be old message 2: %q -> %q", l, l2)
	}
}
