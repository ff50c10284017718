package maildir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gocourier/internal/maildir/acl"
)

func init() { deleteDelay = 0 }

// newMaildir makes an empty maildir in a temp dir.
func newMaildir(t testing.TB, opts Options) *Maildir {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := Make(root); err != nil {
		t.Fatal(err)
	}
	if opts.Hostname == "" {
		opts.Hostname = "test.host"
	}
	m, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// deliver puts a message into new/ as a delivery agent would.
func deliver(t testing.TB, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

func TestValidateName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"INBOX", "INBOX", true},
		{"inbox", "INBOX", true},
		{"inbox.lower", "INBOX.lower", true},
		{"INBOX.a.b", "INBOX.a.b", true},
		{"INBOX.Été", "INBOX.Été", true},
		{"INBOX.with space", "INBOX.with space", true},
		{"Foo", "", false},
		{"INBOX.a..b", "", false},
		{"INBOX.Drafts.", "", false},
		{"INBOX.a/b", "", false},
		{"INBOX.", "", false},
		{"", "", false},
		{"INBOX.a\x01", "", false},
	}
	for _, c := range cases {
		got, err := ValidateName(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ValidateName(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q): error %v is not ErrInvalidName", c.in, err)
		}
	}
}

func TestFlags(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"", ""},
		{"SF", "FS"},
		{"TSRFD", "DFRST"},
		{"Pa", "Pa"},
		{"S!x", "Sx"},
	}
	for _, c := range cases {
		if got := ParseFlags(c.in).String(); got != c.want {
			t.Errorf("ParseFlags(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if flagsOf("x:2,FS") != FlagFlagged|FlagSeen || flagsOf("x") != 0 || flagsOf("x:1,S") != 0 {
		t.Error("flagsOf")
	}
}

func TestCreateListDeleteRename(t *testing.T) {
	m := newMaildir(t, Options{TrashName: "Trash"})
	for _, n := range []string{"INBOX.Sent", "INBOX.a.b", "INBOX.Trash", "inbox.lower"} {
		if err := m.CreateFolder(n); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	if err := m.CreateFolder("INBOX.Sent"); !errors.Is(err, ErrFolderExists) {
		t.Errorf("create twice: %v", err)
	}
	if err := m.CreateFolder("INBOX"); !errors.Is(err, ErrInboxExists) {
		t.Errorf("create INBOX: %v", err)
	}
	// On-disk shape as Courier (§9.1).
	for _, f := range []string{".Sent/maildirfolder", ".Sent/courierimapuiddb", ".Sent/courierimapacl", ".Sent/courierimapkeywords", ".a.b/cur", "courierimaphieracl/a", ".lower/tmp"} {
		if _, err := os.Stat(filepath.Join(m.Root(), f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(m.Root(), ".Sent/courierimapacl"))
	if string(b) != "owner aceilrstwx\nadministrators aceilrstwx\n" {
		t.Errorf("acl file %q", b)
	}
	b, _ = os.ReadFile(filepath.Join(m.Root(), ".Sent/courierimapuiddb"))
	if !strings.HasPrefix(string(b), "1 ") || !strings.HasSuffix(string(b), " 1\n") {
		t.Errorf("uiddb %q", b)
	}
	list, err := m.ListFolders()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]FolderInfo{}
	for _, fi := range list {
		got[fi.Name] = fi
	}
	if !got["INBOX.a"].NoSelect || !got["INBOX.a"].HasChildren || got["INBOX.a.b"].HasChildren || !got["INBOX"].HasChildren {
		t.Errorf("list: %+v", list)
	}
	if list[len(list)-1].Name != "INBOX.a" || list[len(list)-2].Name != "INBOX" {
		t.Errorf("order: %+v", list)
	}
	if err := m.DeleteFolder("INBOX.Trash"); !errors.Is(err, ErrCannotDelete) {
		t.Errorf("delete trash: %v", err)
	}
	if err := m.DeleteFolder("INBOX"); !errors.Is(err, ErrCannotDelete) {
		t.Errorf("delete inbox: %v", err)
	}
	if err := m.DeleteFolder("INBOX.a"); !errors.Is(err, ErrNoSuchFolder) {
		t.Errorf("delete virtual: %v", err)
	}
	if err := m.RenameFolder("INBOX", "INBOX.x"); !errors.Is(err, ErrInboxRename) {
		t.Errorf("rename inbox: %v", err)
	}
	if err := m.RenameFolder("INBOX.a", "INBOX.Sent"); !errors.Is(err, ErrFolderExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := m.RenameFolder("INBOX.a", "INBOX.c"); err != nil {
		t.Fatalf("rename with children: %v", err)
	}
	if !m.FolderExists("INBOX.c.b") || m.FolderExists("INBOX.a.b") {
		t.Error("children not moved")
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "courierimaphieracl/a")); err == nil {
		t.Error("stale hieracl not pruned")
	}
	if err := m.DeleteFolder("INBOX.c.b"); err != nil {
		t.Fatal(err)
	}
	if m.FolderExists("INBOX.c.b") {
		t.Error("not deleted")
	}
}

func TestSubscriptions(t *testing.T) {
	m := newMaildir(t, Options{})
	for _, n := range []string{"INBOX.nonexistent", "INBOX.Sent", "INBOX.Sent"} {
		if err := m.Subscribe(n); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(m.Root(), "courierimapsubscribed"))
	if string(b) != "INBOX.nonexistent\nINBOX.Sent\n" {
		t.Errorf("file %q", b)
	}
	m.Unsubscribe("INBOX.nonexistent")
	m.Unsubscribe("INBOX.never")
	s, _ := m.Subscriptions()
	if !reflect.DeepEqual(s, []string{"INBOX.Sent"}) {
		t.Errorf("subs %v", s)
	}
}

func TestScanAssignsUIDsAndRecent(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	deliver(t, m.Root(), "1000000002.M1P1.h,S=3", "b\n\n")
	deliver(t, m.Root(), "1000000001.M1P1.h,S=3", "a\n\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 2 || msgs[0].Name != "1000000001.M1P1.h,S=3" || msgs[0].UID != 1 || msgs[1].UID != 2 || !msgs[0].Recent {
		t.Fatalf("msgs %+v", msgs)
	}
	if f.UIDNext() != 3 {
		t.Errorf("uidnext %d", f.UIDNext())
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "cur", "1000000001.M1P1.h,S=3:2,")); err != nil {
		t.Error("not moved to cur with :2,")
	}
	db, _ := os.ReadFile(filepath.Join(m.Root(), uiddbFile))
	want := formatUIDDBHeader(f.UIDValidity(), 3)
	want = append(want, "1 1000000001.M1P1.h,S=3\n2 1000000002.M1P1.h,S=3\n"...)
	if string(db) != string(want) {
		t.Errorf("uiddb %q want %q", db, want)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "tmp", lockName)); err == nil {
		t.Error("lock left behind")
	}
	// Reopen: same UIDs, no recent.
	g, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if g.UIDValidity() != f.UIDValidity() || g.Messages()[1].UID != 2 || g.Messages()[0].Recent {
		t.Errorf("reopen %+v", g.Messages())
	}
	// A delivery and a foreign expunge are seen by Rescan.
	deliver(t, m.Root(), "1000000003.M1P1.h", "c\n")
	os.Remove(filepath.Join(m.Root(), "cur", "1000000001.M1P1.h,S=3:2,"))
	ch, err := g.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.New) != 1 || ch.New[0].UID != 3 || !ch.New[0].Recent || !reflect.DeepEqual(ch.Vanished, []uint32{1}) {
		t.Errorf("changes %+v", ch)
	}
	// The other session sees the flag change made by g.
	if err := g.SetFlags(2, FlagSeen|FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	ch, err = f.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Changed) != 1 || ch.Changed[0].Flags != FlagSeen|FlagFlagged || len(ch.New) != 1 || ch.New[0].Recent {
		t.Errorf("changes seen by f %+v", ch)
	}
	// Nothing changed: Rescan is empty.
	ch, err = f.Rescan()
	if err != nil || !ch.Empty() {
		t.Errorf("idle rescan %+v %v", ch, err)
	}
}

func TestReadOnlyNoUIDDB(t *testing.T) {
	m := newMaildir(t, Options{})
	deliver(t, m.Root(), "1.M1P1.h", "x\n")
	st, err := m.Status("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 1 || st.Recent != 1 || st.Unseen != 1 || st.UIDNext != 2 {
		t.Errorf("status %+v", st)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), uiddbFile)); err == nil {
		t.Error("read-only open saved a uiddb")
	}
	if _, err := m.OpenFolder("INBOX.nope", true); !errors.Is(err, ErrNoSuchFolder) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestCorruptUIDDB(t *testing.T) {
	cases := []struct {
		name     string
		db       string
		sameUIDV bool
		wantNext uint32
	}{
		{"garbage header", "xx\n1 a\n", false, 3},
		{"version 2", "2 5 9\n1 a\n", false, 3},
		{"next too low", "1 5 2\n7 a\n", true, 9},
		{"torn line", "1 5 8\n7 a\n3 b", true, 9},
		{"empty", "", false, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMaildir(t, Options{})
			os.WriteFile(filepath.Join(m.Root(), "cur", "a:2,"), []byte("a\n"), 0o644)
			os.WriteFile(filepath.Join(m.Root(), "cur", "b:2,S"), []byte("b\n"), 0o644)
			os.WriteFile(filepath.Join(m.Root(), uiddbFile), []byte(c.db), 0o644)
			f, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			if (f.UIDValidity() == 5) != c.sameUIDV || f.UIDNext() != c.wantNext {
				t.Errorf("uidv %d next %d", f.UIDValidity(), f.UIDNext())
			}
			if c.sameUIDV {
				if x, _ := f.Message(7); x.Name != "a" {
					t.Errorf("uid 7 lost: %+v", f.Messages())
				}
			}
		})
	}
}

func TestAppendExpungeCopyQuota(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true, Keywords: true, TrashName: "Trash"})
	if err := m.CreateFolder("INBOX.Sent"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RecalcQuota("1000S,4C"); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := m.Append("INBOX.Sent", strings.NewReader("Subject: x\r\n\r\nbody\r\n"), FlagSeen|FlagFlagged, []string{"Junk", "$Label1"}, date)
	if err != nil {
		t.Fatal(err)
	}
	if res.UID != 1 {
		t.Errorf("uid %d", res.UID)
	}
	f, err := m.OpenFolder("INBOX.Sent", false)
	if err != nil {
		t.Fatal(err)
	}
	if f.UIDValidity() != res.UIDValidity {
		t.Error("uidvalidity mismatch")
	}
	x, ok := f.Message(1)
	if !ok || x.Flags != FlagSeen|FlagFlagged || !reflect.DeepEqual(x.Keywords, []string{"Junk", "$Label1"}) || x.LFSize != 17 || !x.Recent { // RFC 3501 §2.3.2: the first session to see an APPEND claims \Recent
		t.Fatalf("msg %+v", x)
	}
	if !strings.Contains(x.Name, "_") || !strings.HasSuffix(x.Name, ".test.host,S=17") {
		t.Errorf("name %q", x.Name)
	}
	fh, _, err := f.OpenMessage(1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(fh)
	fh.Close()
	if string(body) != "Subject: x\n\nbody\n" {
		t.Errorf("stored %q", body)
	}
	if n, _ := f.CRLFSize(1); n != 20 {
		t.Errorf("crlf size %d", n)
	}
	if d, _ := f.InternalDate(1); !d.Equal(date) {
		t.Errorf("date %v", d)
	}
	// Empty message is "\n", RFC822.SIZE 2.
	r2, err := m.Append("INBOX.Sent", strings.NewReader(""), 0, nil, time.Time{})
	if err != nil || r2.UID != 2 {
		t.Fatal(r2, err)
	}
	f.Rescan()
	if n, _ := f.CRLFSize(2); n != 2 {
		t.Errorf("empty size %d", n)
	}
	// Copy into INBOX keeps flags/keywords.
	uidv, src, dst, err := f.CopyTo("INBOX", []uint32{1, 2, 99})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(src, []uint32{1, 2}) || !reflect.DeepEqual(dst, []uint32{1, 2}) || uidv == 0 {
		t.Errorf("copy %v %v", src, dst)
	}
	in, _ := m.OpenFolder("INBOX", false)
	if y, _ := in.Message(1); y.Flags != FlagSeen|FlagFlagged || len(y.Keywords) != 2 {
		t.Errorf("copied %+v", y)
	}
	// A 5th message exceeds 4C.
	if _, err := m.Append("INBOX", strings.NewReader("x"), 0, nil, time.Time{}); !errors.Is(err, ErrOverQuota) {
		t.Errorf("quota: %v", err)
	}
	// Trash is exempt.
	m.CreateFolder("INBOX.Trash")
	if _, err := m.Append("INBOX.Trash", strings.NewReader("x"), 0, nil, time.Time{}); err != nil {
		t.Errorf("trash append: %v", err)
	}
	u, _ := m.QuotaUsage()
	if u.Count != 4 || u.Bytes != 17+1+17+1 {
		t.Errorf("usage %+v", u)
	}
	gone, err := f.Expunge([]uint32{1, 5})
	if err != nil || !reflect.DeepEqual(gone, []uint32{1}) {
		t.Errorf("expunge %v %v", gone, err)
	}
	b, _ := os.ReadFile(filepath.Join(m.Root(), "maildirsize"))
	if !strings.HasSuffix(string(b), "         -17           -1\n") {
		t.Errorf("maildirsize %q", b)
	}
	// Keywords set on a message are seen by another session.
	if err := f.SetFlags(2, FlagDeleted, []string{"NonJunk"}); err != nil {
		t.Fatal(err)
	}
	g, _ := m.OpenFolder("INBOX.Sent", true)
	if y, _ := g.Message(2); y.Flags != FlagDeleted || !reflect.DeepEqual(y.Keywords, []string{"NonJunk"}) {
		t.Errorf("after setflags %+v", y)
	}
	kws := g.KeywordsInUse()
	sort.Strings(kws)
	if !reflect.DeepEqual(kws, []string{"NonJunk"}) {
		t.Errorf("in use %v", kws)
	}
}

func TestACL(t *testing.T) {
	m := newMaildir(t, Options{})
	m.CreateFolder("INBOX.Sent")
	l, _ := m.GetACL("INBOX")
	if !reflect.DeepEqual(l, acl.Default()) {
		t.Errorf("default %v", l)
	}
	l, _ = m.GetACL("INBOX.Sent")
	l = l.Modify("user=bob", "lrz").Modify("-user=bob", "r")
	if err := m.SetACL("INBOX.Sent", l); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(m.Root(), ".Sent", aclFile))
	if string(b) != "owner aceilrstwx\nadministrators aceilrstwx\nuser=bob lrz\n-user=bob r\n" {
		t.Errorf("file %q", b)
	}
	r, _ := m.MyRights("INBOX.Sent", acl.Identity{User: "bob"})
	if r != "lz" {
		t.Errorf("bob rights %q", r)
	}
	r, _ = m.MyRights("INBOX.Sent", acl.Identity{User: "alice", Owner: true})
	if r != acl.AllRights {
		t.Errorf("owner rights %q", r)
	}
}

func TestEmptyTrashAndCleanTmp(t *testing.T) {
	m := newMaildir(t, Options{TrashName: "Trash"})
	m.CreateFolder("INBOX.Trash")
	tr := filepath.Join(m.Root(), ".Trash")
	deliver(t, tr, "1.M1P1.h,S=2", "x\n")
	os.WriteFile(filepath.Join(m.Root(), "tmp", "junk"), nil, 0o644)
	// ctime cannot be set back; move the clock forward instead.
	m.opts.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	if err := m.EmptyTrash("Trash:7"); err != nil {
		t.Fatal(err)
	}
	if n, _ := readNames(filepath.Join(tr, "cur")); len(n) != 0 {
		t.Errorf("trash not emptied: %v", n)
	}
	m.CleanTmp()
	if _, err := os.Stat(filepath.Join(m.Root(), "tmp", "junk")); err == nil {
		t.Error("old tmp file kept")
	}
	m.opts.Now = time.Now
	deliver(t, tr, "2.M1P1.h,S=2", "x\n")
	m.EmptyTrash("7")
	if n, _ := readNames(filepath.Join(tr, "cur")); len(n) != 1 {
		t.Errorf("fresh message purged: %v", n)
	}
}

func TestLockStale(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	lp := filepath.Join(m.Root(), "tmp", lockName)
	os.WriteFile(lp, []byte("1\n"), 0o644)
	old := time.Now().Add(-200 * time.Second)
	os.Chtimes(lp, old, old)
	start := time.Now()
	if _, err := m.OpenFolder("INBOX", false); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("stale lock waited")
	}
}

func TestWatch(t *testing.T) {
	m := newMaildir(t, Options{})
	f, _ := m.OpenFolder("INBOX", false)
	ch, stop, err := f.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	deliver(t, m.Root(), "5.M1P1.h", "x\n")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
}

func TestSnapshotCache(t *testing.T) {
	old := cacheMinMessages
	cacheMinMessages = 1
	defer func() { cacheMinMessages = old }()
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	for i := 0; i < 5; i++ {
		m.Append("INBOX", strings.NewReader("x\r\n"), FlagSeen, []string{"K" + string(rune('a'+i))}, time.Time{})
	}
	m.OpenFolder("INBOX", false)        // consolidates keywords
	time.Sleep(2100 * time.Millisecond) // leave the racy window
	// This one leaves the cache to write.
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(m.Root(), cacheFile)
	// Not before the reply: the session asks for it after the SELECT
	// was answered (SaveDeferred), or Close writes it.
	if _, err := os.Stat(cp); err == nil {
		t.Fatal("cache written before SaveDeferred")
	}
	f.SaveDeferred()
	if _, err := os.Stat(cp); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	want, _ := m.OpenFolder("INBOX", false)
	if _, ok := m.loadCache(m.Root(), func() dirStamp { s, _ := statStamp(m.Root()); return s }()); !ok {
		t.Fatal("cache not usable")
	}
	// A flag change by "another process" invalidates it.
	x := want.Messages()[2]
	os.Rename(filepath.Join(m.Root(), "cur", x.Name+":2,S"), filepath.Join(m.Root(), "cur", x.Name+":2,FS"))
	got, _ := m.OpenFolder("INBOX", false)
	if y, _ := got.Message(x.UID); y.Flags != FlagFlagged|FlagSeen {
		t.Errorf("stale cache used: %+v", y)
	}
	if fmt.Sprint(len(got.Messages())) != "5" || !reflect.DeepEqual(got.Messages()[0].Keywords, []string{"Ka"}) {
		t.Errorf("messages %+v", got.Messages())
	}
	// A corrupt cache is ignored.
	os.WriteFile(cp, []byte("GOCOURIERCACHE1 garbage\n1 x\n"), 0o600)
	if g, err := m.OpenFolder("INBOX", false); err != nil || len(g.Messages()) != 5 {
		t.Errorf("corrupt cache: %v", err)
	}
}

func TestPOP3Drop(t *testing.T) {
	m := newMaildir(t, Options{})
	deliver(t, m.Root(), "1795000002.M1P1.h,S=6", "hello\n")
	deliver(t, m.Root(), "1795000001.M1P1.h,S=3", "ab\n")
	m.RecalcQuota("1000S")
	d, err := m.OpenPOP3()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.OpenPOP3(); !errors.Is(err, ErrLocked) {
		t.Errorf("second POP3 session: %v", err)
	}
	msgs := d.Messages()
	if len(msgs) != 2 || msgs[0].Size != 4 || msgs[1].Size != 7 || !strings.HasPrefix(msgs[0].UIDL, "UID1-") {
		t.Fatalf("messages %+v", msgs)
	}
	d.MarkSeen(1)
	if err := d.Delete([]int{0}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d2, err := m.OpenPOP3()
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	msgs2 := d2.Messages()
	if len(msgs2) != 1 || msgs2[0].UIDL != msgs[1].UIDL || !strings.HasSuffix(msgs2[0].Name, ":2,S") {
		t.Errorf("after delete %+v", msgs2)
	}
	if u, _ := m.QuotaUsage(); u.Bytes != 6 || u.Count != 1 {
		t.Errorf("quota after POP3 delete %+v", u)
	}
}

func TestHierACLNames(t *testing.T) {
	if got := toMUTF7("Été"); got != "&AMk-t&AOk-" {
		t.Errorf("toMUTF7 = %q", got)
	}
	if got := toMUTF7("a&b 日本"); got != "a&-b &ZeVnLA-" {
		t.Errorf("toMUTF7 = %q", got)
	}
	m := newMaildir(t, Options{})
	if err := m.CreateFolder("INBOX.Été.x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), hierACLDir, "&AMk-t&AOk-")); err != nil {
		t.Errorf("hieracl not under Courier's mUTF-7 name: %v", err)
	}
	l, _ := m.GetACL("INBOX.Été")
	m.SetACL("INBOX.Été", l.Set("user=bob", "l"))
	if r, _ := m.MyRights("INBOX.Été", acl.Identity{User: "bob"}); r != "l" {
		t.Errorf("rights %q", r)
	}
	m.pruneHierACL()
	if _, err := os.Stat(filepath.Join(m.Root(), hierACLDir, "&AMk-t&AOk-")); err != nil {
		t.Errorf("live hieracl pruned: %v", err)
	}
}

// TestCleanTmpSideUIDDB: a commit's uiddb left half-written beside the
// uiddb by a crash (createSideTmp) is removed once as old as a stale tmp/
// file, and not before; the uiddb itself stays.
func TestCleanTmpSideUIDDB(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	appendN(t, m, "INBOX", 2)
	dir := m.Root()
	if side, _ := filepath.Glob(filepath.Join(dir, uiddbTmpPrefix+"*")); len(side) != 0 {
		t.Fatalf("commits left %v", side)
	}
	old := filepath.Join(dir, uiddbTmpPrefix+"1.M1P1_0.test.host")
	young := filepath.Join(dir, uiddbTmpPrefix+"2.M2P2_0.test.host")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("1 2"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// ctime cannot be set back: move the clock forward instead.
	m.opts.Now = func() time.Time { return time.Now().Add(tmpMaxAge + time.Hour) }
	os.Remove(young)
	m.cleanTmp(dir)
	if _, err := os.Stat(old); err == nil {
		t.Error("old side tmp file kept")
	}
	if _, err := os.Stat(filepath.Join(dir, uiddbFile)); err != nil {
		t.Errorf("uiddb gone: %v", err)
	}
	m.opts.Now = time.Now
	if err := os.WriteFile(young, []byte("1 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.cleanTmp(dir)
	if _, err := os.Stat(young); err != nil {
		t.Error("young side tmp file removed")
	}
}

// TestLocalFilesystem: /proc is not a filesystem that stores mail, so it
// must count as possibly remote (the clock-skew check runs); a tmpfs is
// local (it is skipped).
func TestLocalFilesystem(t *testing.T) {
	if localFilesystem("/proc") {
		t.Error("/proc counted as a local mail filesystem")
	}
	if localFilesystem(filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing directory counted as local")
	}
	if typ, ok := fsType("/dev/shm"); ok && typ == 0x01021994 && !localFilesystem("/dev/shm") {
		t.Error("tmpfs /dev/shm not counted as local")
	}
}
