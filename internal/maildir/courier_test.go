package maildir

// Interoperability with the real Courier-IMAP 5.0.13 (Debian packages
// unpacked by scripts/courier-ref.sh into /opt/courier-ref/root). These
// tests run Courier's imapd and courierpop3d by hand on a maildir
// (PREAUTH, stdin/stdout pipes) and compare what both implementations
// see. Without Courier they skip, unless CI=true.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocourier/internal/maildir/acl"
)

func courierRoot() string {
	if d := os.Getenv("COURIER_REF_DIR"); d != "" {
		return filepath.Join(d, "root")
	}
	return "/opt/courier-ref/root"
}

func needCourier(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(courierRoot(), rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Courier reference %s missing (run scripts/courier-ref.sh install): %v", p, err)
		}
		t.Skipf("Courier reference %s not installed (scripts/courier-ref.sh install)", p)
	}
	return p
}

// runCourierIMAP feeds script lines (CRLF added) to Courier's imapd
// serving root and returns its output.
func runCourierIMAP(t *testing.T, root string, script ...string) string {
	t.Helper()
	imapd := needCourier(t, "usr/bin/imapd")
	cmd := exec.Command(imapd, filepath.Base(root))
	cmd.Dir = filepath.Dir(root)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TCPREMOTEIP=127.0.0.1", "IMAP_USELOCKS=1", "IMAP_KEYWORDS=1",
		"IMAP_ACL=1", "IMAP_TRASHFOLDERNAME=Trash", "IMAP_EMPTYTRASH=", "AUTHENTICATED=alice", "IMAP_CAPABILITY=IMAP4rev1 UIDPLUS ACL ACL2=UNION QUOTA IDLE KEYWORDS"}
	cmd.Stdin = strings.NewReader(strings.Join(script, "\r\n") + "\r\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("courier imapd: %v\n%s\n%s", err, out.String(), errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("courier imapd hung:\n%s", out.String())
	}
	return out.String()
}

var fetchRE = regexp.MustCompile(`(?m)^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)\)`)

// courierView parses "UID FETCH 1:* (UID FLAGS)" output into uid -> sorted flag words.
func courierView(out string) map[uint32]string {
	v := map[uint32]string{}
	for _, m := range fetchRE.FindAllStringSubmatch(out, -1) {
		u, _ := strconv.Atoi(m[1])
		w := strings.Fields(m[2])
		var keep []string
		for _, x := range w {
			if x != `\Recent` {
				keep = append(keep, x)
			}
		}
		sort.Strings(keep)
		v[uint32(u)] = strings.Join(keep, " ")
	}
	return v
}

func ourView(f *Folder) map[uint32]string {
	names := map[Flags]string{FlagDraft: `\Draft`, FlagFlagged: `\Flagged`, FlagAnswered: `\Answered`, FlagSeen: `\Seen`, FlagDeleted: `\Deleted`}
	v := map[uint32]string{}
	for _, x := range f.Messages() {
		var w []string
		for fl, n := range names {
			if x.Flags.Has(fl) {
				w = append(w, n)
			}
		}
		w = append(w, x.Keywords...)
		sort.Strings(w)
		v[x.UID] = strings.Join(w, " ")
	}
	return v
}

func uidvalidityOf(t *testing.T, out string) uint32 {
	m := regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no UIDVALIDITY in:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return uint32(n)
}

// TestCourierReadsOurMaildir: a folder written by us is seen by Courier
// with the same UIDVALIDITY, UIDs, flags, keywords and ACL.
func TestCourierReadsOurMaildir(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, Keywords: true, TrashName: "Trash"})
	if err := m.CreateFolder("INBOX.Sent"); err != nil {
		t.Fatal(err)
	}
	msgs := []struct {
		body  string
		flags Flags
		kw    []string
	}{
		{"Subject: a\r\n\r\none\r\n", FlagSeen | FlagFlagged, []string{"Junk"}},
		{"Subject: b\r\n\r\ntwo\r\n", FlagAnswered, []string{"$Label1", "NonJunk"}},
		{"Subject: c\r\n\r\nthree\r\n", 0, nil},
		{"Subject: d\r\n\r\nfour\r\n", FlagDeleted | FlagDraft, []string{"Junk"}},
	}
	for _, x := range msgs {
		if _, err := m.Append("INBOX.Sent", strings.NewReader(x.body), x.flags, x.kw, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := m.OpenFolder("INBOX.Sent", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Expunge([]uint32{3}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetFlags(2, FlagAnswered|FlagSeen, []string{"NonJunk"}); err != nil {
		t.Fatal(err)
	}
	l, _ := m.GetACL("INBOX.Sent")
	if err := m.SetACL("INBOX.Sent", l.Set("user=bob", "lrz")); err != nil {
		t.Fatal(err)
	}
	deliver(t, filepath.Join(m.Root(), ".Sent"), "1795000000.M1P1.other", "Subject: new\n\nx\n")
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	out := runCourierIMAP(t, m.Root(), "a SELECT INBOX.Sent", "b UID FETCH 1:* (UID FLAGS)", "c GETACL INBOX.Sent", "d LOGOUT")
	if got := uidvalidityOf(t, out); got != f.UIDValidity() {
		t.Errorf("UIDVALIDITY: courier %d, ours %d", got, f.UIDValidity())
	}
	cv, ov := courierView(out), ourView(f)
	if fmt.Sprint(cv) != fmt.Sprint(ov) {
		t.Errorf("views differ:\ncourier %v\nours    %v\n%s", cv, ov, out)
	}
	if !strings.Contains(out, `"bob" "lr`) {
		t.Errorf("ACL not seen by Courier:\n%s", out)
	}
}

// TestWeReadCourierMaildir: what Courier's imapd writes (APPEND with
// flags and keywords, STORE, COPY, EXPUNGE, SETACL) we read identically.
func TestWeReadCourierMaildir(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, Keywords: true, TrashName: "Trash"})
	lit := func(s string) string { return fmt.Sprintf("{%d}\r\n%s", len(s), s) }
	out := runCourierIMAP(t, m.Root(),
		"a CREATE INBOX.Work",
		"b APPEND INBOX.Work (\\Seen Junk) "+lit("Subject: 1\r\n\r\nbody one\r\n"),
		"c APPEND INBOX.Work (\\Flagged $Label1 NonJunk) "+lit("Subject: 2\r\n\r\nbody two\r\n"),
		"d APPEND INBOX.Work () "+lit("Subject: 3\r\n\r\nbody three\r\n"),
		"e SELECT INBOX.Work",
		"f UID STORE 3 +FLAGS (\\Answered Todo)",
		"g UID STORE 1 -FLAGS (Junk)",
		"h UID COPY 2:3 INBOX",
		"i UID STORE 2 +FLAGS (\\Deleted)",
		"j EXPUNGE",
		"k SETACL INBOX.Work bob lr",
		"l UID FETCH 1:* (UID FLAGS)",
		"m SELECT INBOX",
		"n UID FETCH 1:* (UID FLAGS)",
		"o LOGOUT")
	between := func(a, b string) string {
		i, j := strings.Index(out, a), strings.Index(out, b)
		if i < 0 || j < i {
			t.Fatalf("courier session failed (%s..%s):\n%s", a, b, out)
		}
		return out[i:j]
	}
	for _, c := range []struct{ name, out, sel string }{
		{"INBOX.Work", between("k OK", "l OK"), between("d OK", "e OK")},
		{"INBOX", between("m OK", "n OK"), between("l OK", "m OK")},
	} {
		f, err := m.OpenFolder(c.name, false)
		if err != nil {
			t.Fatal(err)
		}
		cv, ov := courierView(c.out), ourView(f)
		if len(cv) == 0 || fmt.Sprint(cv) != fmt.Sprint(ov) {
			t.Errorf("%s views differ:\ncourier %v\nours    %v\n%s", c.name, cv, ov, out)
		}
		if got := uidvalidityOf(t, c.sel); got != f.UIDValidity() {
			t.Errorf("%s UIDVALIDITY: courier %d, ours %d", c.name, got, f.UIDValidity())
		}
	}
	r, err := m.MyRights("INBOX.Work", acl.Identity{User: "bob"})
	if err != nil || r != "lr" {
		t.Errorf("bob's rights from Courier's SETACL: %q %v", r, err)
	}
	// And an APPEND of ours after Courier's continues its UID sequence.
	res, err := m.Append("INBOX.Work", strings.NewReader("x\r\n"), 0, nil, time.Time{})
	if err != nil || res.UID != 4 {
		t.Errorf("append after courier: %+v %v", res, err)
	}
}

// TestCourierPOP3UIDLs: Courier's courierpop3d and our POP3 drop give the
// same UIDLs and sizes, whichever creates courierpop3dsizelist.
func TestCourierPOP3UIDLs(t *testing.T) {
	pop3d := needCourier(t, "usr/lib/courier/courier/courierpop3d")
	run := func(root string) string {
		cmd := exec.Command(pop3d, filepath.Base(root))
		cmd.Dir = filepath.Dir(root)
		cmd.Env = []string{"TCPREMOTEIP=127.0.0.1", "AUTHENTICATED=alice"}
		cmd.Stdin = strings.NewReader("UIDL\r\nLIST\r\nQUIT\r\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("courierpop3d: %v", err)
		}
		return string(out)
	}
	ours := func(m *Maildir) string {
		d, err := m.OpenPOP3()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var b strings.Builder
		b.WriteString("+OK\r\n")
		for i, x := range d.Messages() {
			fmt.Fprintf(&b, "%d %s\r\n", i+1, x.UIDL)
		}
		b.WriteString(".\r\n+OK POP3 clients that break here, they violate STD53.\r\n")
		for i, x := range d.Messages() {
			fmt.Fprintf(&b, "%d %d\r\n", i+1, x.Size)
		}
		b.WriteString(".\r\n")
		return b.String()
	}
	bodies := []string{"Subject: a\n\nhello\n", "no final newline", "Subject: \xc3\xa9t\xc3\xa9\n\n8bit header\n", "\n"}
	populate := func(m *Maildir, from int) {
		for i, b := range bodies[from:] {
			deliver(t, m.Root(), fmt.Sprintf("17950000%02d.M%dP1.h,S=%d", from+i, i, len(b)), b)
		}
	}
	// Independent computation: identical files in two maildirs, one list
	// made by Courier, one by us: same order, UID numbers and sizes.
	t.Run("independent", func(t *testing.T) {
		m1, m2 := newMaildir(t, Options{}), newMaildir(t, Options{})
		populate(m1, 0)
		populate(m2, 0)
		a := strings.TrimPrefix(strings.Split(run(m1.Root()), "+OK Bye-bye.")[0], "+OK logged in.\r\n")
		b := ours(m2)
		strip := regexp.MustCompile(`(UID\d+)-\d+`)
		a, b = strip.ReplaceAllString(a, "$1"), strip.ReplaceAllString(b, "$1")
		if a != b || !strings.Contains(a, "UID4") {
			t.Errorf("courier:\n%s\nours:\n%s", a, b)
		}
		l1, _ := os.ReadFile(filepath.Join(m1.Root(), pop3ListFile))
		l2, _ := os.ReadFile(filepath.Join(m2.Root(), pop3ListFile))
		strip2 := regexp.MustCompile(`(?m)^/3 (\d+) \d+$|:\d+:(\d)$`)
		if s1, s2 := strip2.ReplaceAllString(string(l1), "$1$2"), strip2.ReplaceAllString(string(l2), "$1$2"); s1 != s2 {
			t.Errorf("sizelists differ:\n%s\n%s", l1, l2)
		}
	})
	for _, first := range []string{"courier", "ours"} {
		t.Run(first+"-first", func(t *testing.T) {
			m := newMaildir(t, Options{})
			populate(m, 2)
			var a, b string
			if first == "courier" {
				a = run(m.Root())
				populate(m, 0) // older names sort first, new UIDs
				a = run(m.Root())
				b = ours(m)
			} else {
				ours(m)
				populate(m, 0)
				b = ours(m)
				a = run(m.Root())
			}
			a = strings.Split(a, "+OK Bye-bye.")[0]
			a = strings.TrimPrefix(a, "+OK logged in.\r\n")
			if a != b {
				t.Errorf("courier:\n%s\nours:\n%s", a, b)
			}
		})
	}
}

// TestCourierSameUIDAssignment: for the same new messages and no uiddb,
// Courier and we assign the same UIDs (sort order of new entries, §9.4).
func TestCourierSameUIDAssignment(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	names := []string{"999.M1P1.h", "1000.M1P1.h", "1000.M10P1.h", "1000.M9P1.h", "99.a", "1000.M1P1.h_2", "abc", "1000.M1P1.g,S=3"}
	mk := func() *Maildir {
		m := newMaildir(t, Options{UseLocks: true})
		for i, n := range names {
			if i%2 == 0 {
				deliver(t, m.Root(), n, "x\n")
			} else {
				os.WriteFile(filepath.Join(m.Root(), "cur", n+":2,S"), []byte("y\n"), 0o644)
			}
		}
		return m
	}
	a, b := mk(), mk()
	runCourierIMAP(t, a.Root(), "a SELECT INBOX", "b LOGOUT")
	if _, err := b.OpenFolder("INBOX", false); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(filepath.Join(a.Root(), uiddbFile))
	db, _ := os.ReadFile(filepath.Join(b.Root(), uiddbFile))
	strip := func(s []byte) string { return string(s[bytes.IndexByte(s, '\n'):]) }
	if strip(da) != strip(db) {
		t.Errorf("courier:\n%s\nours:\n%s", da, db)
	}
}

// TestCourierConcurrentAppends: Courier's imapd and we append to one
// folder at the same time (IMAP_USELOCKS=1 on both sides). No UID may be
// given twice, and afterwards both see the same UIDs for all messages.
func TestCourierConcurrentAppends(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	if err := m.CreateFolder("INBOX.Box"); err != nil {
		t.Fatal(err)
	}
	const n = 25
	var script []string
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("Subject: courier %d\r\n\r\nx\r\n", i)
		script = append(script, fmt.Sprintf("c%d APPEND INBOX.Box {%d}\r\n%s", i, len(body), body))
	}
	script = append(script, "z LOGOUT")
	outc := make(chan string, 1)
	go func() { outc <- runCourierIMAP(t, m.Root(), script...) }()
	ours := map[uint32]bool{}
	for i := 0; i < n; i++ {
		res, err := m.Append("INBOX.Box", strings.NewReader(fmt.Sprintf("Subject: ours %d\r\n\r\ny\r\n", i)), 0, nil, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		ours[res.UID] = true
	}
	out := <-outc
	re := regexp.MustCompile(`APPENDUID \d+ (\d+)\]`)
	courierUIDs := re.FindAllStringSubmatch(out, -1)
	if len(courierUIDs) != n {
		t.Fatalf("courier appended %d:\n%s", len(courierUIDs), out)
	}
	for _, c := range courierUIDs {
		u, _ := strconv.Atoi(c[1])
		if ours[uint32(u)] {
			t.Errorf("UID %d given to both Courier and us", u)
		}
		ours[uint32(u)] = true
	}
	f, err := m.OpenFolder("INBOX.Box", false)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2*n || len(ours) != 2*n {
		t.Errorf("messages %d, distinct UIDs %d", f.Len(), len(ours))
	}
	for u := range ours {
		if _, ok := f.Message(u); !ok {
			t.Errorf("acknowledged UID %d missing", u)
		}
	}
	out2 := runCourierIMAP(t, m.Root(), "a SELECT INBOX.Box", "b UID FETCH 1:* (UID FLAGS)", "c LOGOUT")
	if cv, ov := courierView(out2), ourView(f); fmt.Sprint(cv) != fmt.Sprint(ov) {
		t.Errorf("views differ:\ncourier %v\nours    %v", cv, ov)
	}
}

// TestCourierQuotaView: Courier's GETQUOTAROOT reads the maildirsize we
// maintain (APPEND, COPY, EXPUNGE deltas) and reports our usage. Both
// numbers are KiB rounded up (the limit too: 100000 bytes is 98).
func TestCourierQuotaView(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true})
	m.CreateFolder("INBOX.Sent")
	if _, err := m.RecalcQuota("100000S,50C"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		m.Append("INBOX.Sent", strings.NewReader(strings.Repeat("line\r\n", 300*(i+1))), 0, nil, time.Time{})
	}
	f, _ := m.OpenFolder("INBOX.Sent", false)
	f.CopyTo("INBOX", []uint32{1, 2})
	f.Expunge([]uint32{3})
	u, _ := m.QuotaUsage()
	out := runCourierIMAP(t, m.Root(), "a GETQUOTAROOT INBOX", "b LOGOUT")
	want := fmt.Sprintf(`* QUOTA "ROOT" (STORAGE %d %d MESSAGE %d %d)`, (u.Bytes+1023)/1024, (u.Spec.Bytes+1023)/1024, u.Count, u.Spec.Count)
	if !strings.Contains(out, want) || u.Count != 4 {
		t.Errorf("want %s (usage %+v), courier said:\n%s", want, u, out)
	}
}
