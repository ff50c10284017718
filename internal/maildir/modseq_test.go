package maildir

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseModSeq(t *testing.T) {
	good := "gocouriermodseq 1 77 500 100 1 2 3 4 5 6\n1 400 abc\n2 500 0\n- 3 450\n- 9 500\n"
	cases := []struct {
		name   string
		in     string
		ok     bool
		wantHi uint64
		msgs   int
		van    int
	}{
		{"good", good, true, 500, 2, 2},
		{"empty file", "", false, 0, 0, 0},
		{"header only", "gocouriermodseq 1 77 500 100 0 0 0 0 0 0\n", true, 500, 0, 0},
		{"wrong magic", strings.Replace(good, "gocouriermodseq", "courierimapuiddb", 1), false, 0, 0, 0},
		{"wrong version", strings.Replace(good, "modseq 1 ", "modseq 2 ", 1), false, 0, 0, 0},
		{"uidvalidity zero", "gocouriermodseq 1 0 500 100 0 0 0 0 0 0\n", false, 0, 0, 0},
		{"exact above highest", "gocouriermodseq 1 7 500 600 0 0 0 0 0 0\n", false, 0, 0, 0},
		{"highest too big", "gocouriermodseq 1 7 9223372036854775807 1 0 0 0 0 0 0\n", false, 0, 0, 0},
		{"short header", "gocouriermodseq 1 7 500\n", false, 0, 0, 0},
		{"modseq above highest", good + "4 501 1\n", false, 500, 0, 0},
		{"duplicate uid", good + "1 400 abc\n", false, 500, 0, 0},
		{"uid zero", good + "0 4 1\n", false, 500, 0, 0},
		{"modseq zero", good + "5 0 1\n", false, 500, 0, 0},
		{"bad sig", good + "5 10 xyz\n", false, 500, 0, 0},
		{"uid too big", good + "4294967296 10 1\n", false, 500, 0, 0},
		{"vanished out of order", good + "- 4 449\n", false, 500, 0, 0},
		{"vanished uid zero", good + "- 0 449\n", false, 500, 0, 0},
		{"extra field", good + "4 10 1 2\n", false, 500, 0, 0},
		{"long line", good + "4 10 " + strings.Repeat("1", 300) + "\n", false, 500, 0, 0},
		{"blank lines", strings.ReplaceAll(good, "\n", "\n\n"), true, 500, 2, 2},
		{"no final newline", strings.TrimSuffix(good, "\n"), true, 500, 2, 2},
		{"truncated mid-line", good[:len(good)-5], false, 500, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, hi, ok := ParseModSeq([]byte(c.in))
			if ok != c.ok || hi != c.wantHi || len(db.Msgs) != c.msgs || len(db.Vanished) != c.van {
				t.Fatalf("ok=%v hi=%d msgs=%d vanished=%d; want %v %d %d %d", ok, hi, len(db.Msgs), len(db.Vanished), c.ok, c.wantHi, c.msgs, c.van)
			}
			if ok {
				db2, _, ok2 := ParseModSeq(FormatModSeq(db))
				if !ok2 || !reflect.DeepEqual(db, db2) {
					t.Fatalf("round trip: %+v != %+v", db, db2)
				}
			}
		})
	}
}

func FuzzParseModSeq(f *testing.F) {
	f.Add([]byte("gocouriermodseq 1 77 500 100 1 2 3 4 5 6\n1 400 abc\n2 500 0\n- 3 450\n"))
	f.Add([]byte("gocouriermodseq 1 1 1 1 0 0 0 0 0 0\n"))
	f.Add([]byte("gocouriermodseq 1 77 500 100 1 2 3 4 5 6\n- 3 450\n- 2 449\n"))
	f.Add([]byte(journalFile(rec("42 600 100 1 2 3 4 5 7 1/600/ab -2/600"), rec("42 700 100 1 2 3 4 5 8 4/700/1"))))
	f.Add([]byte(journalFile(rec("42 600 100 1 2 3 4 5 7 1/600/ab"), "J 5 0000")))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, hi, ok := ParseModSeq(data)
		if !ok {
			return
		}
		if hi != db.Highest || db.ExactSince > db.Highest || db.UIDValidity == 0 {
			t.Fatalf("inconsistent: %+v", db)
		}
		for u, e := range db.Msgs {
			if u == 0 || e.ModSeq == 0 || e.ModSeq > db.Highest {
				t.Fatalf("bad entry %d %+v", u, e)
			}
		}
		for i := 1; i < len(db.Vanished); i++ {
			if db.Vanished[i].ModSeq < db.Vanished[i-1].ModSeq || db.Vanished[i].ModSeq > db.Highest {
				t.Fatalf("vanished out of order: %v", db.Vanished)
			}
		}
		if len(db.Vanished) > maxVanished {
			t.Fatalf("%d vanished", len(db.Vanished))
		}
		db2, _, ok2 := ParseModSeq(FormatModSeq(db))
		if !ok2 || !reflect.DeepEqual(db, db2) {
			t.Fatalf("round trip: %+v != %+v", db, db2)
		}
		// A record appended to the compacted state reads back.
		if db.Gen != 0 && db.Highest < maxModSeq-1 {
			r := &modseqRecord{gen: db.Gen, highest: db.Highest + 1, exact: db.ExactSince, stamp: db.Stamp,
				set: []uidEntry{{7, ModSeqEntry{ModSeq: db.Highest + 1, Sig: 5}}}}
			db3, hi3, info, ok3 := parseModSeqFile(appendModSeqRecord(FormatModSeq(db), r))
			if !ok3 || info.torn || hi3 != db.Highest+1 || db3.Msgs[7].ModSeq != hi3 {
				t.Fatalf("appended record: ok=%v torn=%v hi=%d %+v", ok3, info.torn, hi3, db3.Msgs[7])
			}
		}
	})
}

// modseqFolder makes INBOX with n messages, opened read-write with
// mod-sequences on.
func modseqFolder(t *testing.T, n int) (*Maildir, *Folder) {
	t.Helper()
	m := newMaildir(t, Options{Keywords: true})
	for i := 0; i < n; i++ {
		deliver(t, m.Root(), fmt.Sprintf("%d.M1P1.test.host", 1000+i), "Subject: x\n\nbody\n")
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.EnableModSeq(); err != nil {
		t.Fatal(err)
	}
	return m, f
}

func TestModSeqOwnChanges(t *testing.T) {
	_, f := modseqFolder(t, 3)
	h0 := f.HighestModSeq()
	if h0 == 0 {
		t.Fatal("no HIGHESTMODSEQ")
	}
	for _, x := range f.Messages() {
		if ms := f.ModSeq(x.UID); ms == 0 || ms > h0 {
			t.Fatalf("uid %d modseq %d, highest %d", x.UID, ms, h0)
		}
	}
	steps := []struct {
		name string
		do   func() error
		// changed UIDs must get the new HIGHESTMODSEQ; others keep theirs
		changed []uint32
	}{
		{"flag", func() error { return f.SetFlags(1, FlagSeen, nil) }, []uint32{1}},
		{"keyword", func() error { return f.SetFlags(2, 0, []string{"Work"}) }, []uint32{2}},
		{"batch is one modseq", func() error {
			f.DeferSync()
			if err := f.SetFlags(1, FlagSeen|FlagFlagged, nil); err != nil {
				return err
			}
			if err := f.SetFlags(3, FlagAnswered, nil); err != nil {
				return err
			}
			return f.Flush()
		}, []uint32{1, 3}},
		{"no-op store keeps modseq", func() error { return f.SetFlags(3, FlagAnswered, nil) }, nil},
	}
	prev := map[uint32]uint64{1: f.ModSeq(1), 2: f.ModSeq(2), 3: f.ModSeq(3)}
	hi := h0
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		nh := f.HighestModSeq()
		if len(s.changed) == 0 {
			if nh != hi {
				t.Fatalf("%s: highest moved %d -> %d", s.name, hi, nh)
			}
		} else if nh <= hi {
			t.Fatalf("%s: highest %d not above %d", s.name, nh, hi)
		}
		for uid, old := range prev {
			want := old
			for _, c := range s.changed {
				if c == uid {
					want = nh
				}
			}
			if got := f.ModSeq(uid); got != want {
				t.Fatalf("%s: uid %d modseq %d, want %d", s.name, uid, got, want)
			}
			prev[uid] = f.ModSeq(uid)
		}
		hi = nh
	}
	// Expunge: VANISHED since the old value lists it, newer does not.
	before := f.HighestModSeq()
	if _, err := f.Expunge([]uint32{2}); err != nil {
		t.Fatal(err)
	}
	if f.HighestModSeq() <= before {
		t.Fatal("expunge did not raise HIGHESTMODSEQ")
	}
	if v, exact := f.VanishedSince(before); !exact || !reflect.DeepEqual(v, []uint32{2}) {
		t.Fatalf("VanishedSince(%d) = %v %v", before, v, exact)
	}
	if v, exact := f.VanishedSince(f.HighestModSeq()); !exact || len(v) != 0 {
		t.Fatalf("VanishedSince(highest) = %v %v", v, exact)
	}
	if _, exact := f.VanishedSince(f.ms.db.ExactSince - 1); exact {
		t.Fatal("history before the file was made claimed exact")
	}
	// The state is on disk: another session sees the same values.
	g, err := f.m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.EnableModSeq(); err != nil {
		t.Fatal(err)
	}
	if g.HighestModSeq() != f.HighestModSeq() || g.ModSeq(1) != f.ModSeq(1) || g.ModSeq(3) != f.ModSeq(3) {
		t.Fatalf("second session: %d/%d/%d, first %d/%d/%d", g.HighestModSeq(), g.ModSeq(1), g.ModSeq(3), f.HighestModSeq(), f.ModSeq(1), f.ModSeq(3))
	}
}

// TestModSeqExternalChange: Courier (or any tool) renames a file's flags
// or deletes it; the next rescan gives the change a new mod-sequence.
func TestModSeqExternalChange(t *testing.T) {
	m, f := modseqFolder(t, 3)
	x, _ := f.Message(2)
	cur := filepath.Join(m.Root(), "cur")
	ms1 := f.ModSeq(1)
	cases := []struct {
		name string
		do   func()
		uid  uint32 // the message whose modseq must rise; 0 for an expunge of 3
	}{
		{"flags renamed", func() {
			if err := os.Rename(filepath.Join(cur, x.Name+":2,"), filepath.Join(cur, x.Name+":2,FS")); err != nil {
				t.Fatal(err)
			}
		}, 2},
		{"file deleted", func() {
			y, _ := f.Message(3)
			if err := os.Remove(filepath.Join(cur, y.Name+":2,")); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"new delivery", func() { deliver(t, m.Root(), "2000.M1P1.test.host", "Subject: y\n\nz\n") }, 4},
	}
	for _, c := range cases {
		before := f.HighestModSeq()
		c.do()
		// Directory mtimes within the same tick: force the full scan.
		f.stamp = dirStamp{}
		if _, err := f.Rescan(); err != nil {
			t.Fatal(err)
		}
		if f.HighestModSeq() <= before {
			t.Fatalf("%s: highest %d not above %d", c.name, f.HighestModSeq(), before)
		}
		if c.uid != 0 && f.ModSeq(c.uid) != f.HighestModSeq() {
			t.Fatalf("%s: uid %d modseq %d, highest %d", c.name, c.uid, f.ModSeq(c.uid), f.HighestModSeq())
		}
		if c.uid == 0 {
			if v, _ := f.VanishedSince(before); !reflect.DeepEqual(v, []uint32{3}) {
				t.Fatalf("%s: vanished %v", c.name, v)
			}
		}
		if f.ModSeq(1) != ms1 {
			t.Fatalf("%s: untouched uid 1 changed modseq", c.name)
		}
	}
}

// TestModSeqLostOrCorrupt: whatever happens to the file, the values never
// go backwards and nothing crashes.
func TestModSeqLostOrCorrupt(t *testing.T) {
	// tail: the damage is in the journal; the snapshot and good records
	// are kept, so a message may keep a value it was given before.
	cases := []struct {
		name  string
		write func(path string, hi uint64)
		tail  bool
	}{
		{"deleted", func(p string, _ uint64) { os.Remove(p) }, false},
		{"garbage", func(p string, _ uint64) { os.WriteFile(p, []byte("\x00\xff garbage\n1 2 3"), 0o644) }, false},
		{"truncated snapshot", func(p string, _ uint64) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:bytes.IndexByte(b, '\n')/2], 0o644)
		}, false},
		{"truncated journal", func(p string, _ uint64) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-len(b)/4], 0o644)
		}, true},
		{"bad checksum", func(p string, _ uint64) {
			b, _ := os.ReadFile(p)
			i := bytes.LastIndex(b, []byte("\nJ "))
			b[i+5] ^= 1
			os.WriteFile(p, b, 0o644)
		}, true},
		{"bad line keeps header floor", func(p string, hi uint64) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "1 x y\n"...), 0o644)
		}, true},
		{"other uidvalidity", func(p string, hi uint64) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "gocouriermodseq 1 ", "gocouriermodseq 1 1", 1)), 0o644)
		}, false},
		{"implausible header", func(p string, hi uint64) {
			os.WriteFile(p, []byte("gocouriermodseq 1 5 9000000000000000000 1 0 0 0 0 0 0\nx\n"), 0o644)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A clock that stands still: the restart must still go above.
			defer func(n int64) { minJournalBytes = n }(minJournalBytes)
			minJournalBytes = 1 << 20 // keep the records in the journal
			clock := time.Now()
			m := newMaildir(t, Options{Keywords: true, Now: func() time.Time { return clock }})
			deliver(t, m.Root(), "1000.M1P1.test.host", "Subject: x\n\nbody\n")
			f, _ := m.OpenFolder("INBOX", false)
			if err := f.EnableModSeq(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				f.SetFlags(1, Flags(i%2)*FlagSeen, nil)
			}
			hi := f.HighestModSeq()
			f.Close()
			c.write(filepath.Join(m.Root(), ModSeqFile), hi)
			clock = clock.Add(time.Millisecond)
			g, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.EnableModSeq(); err != nil {
				t.Fatal(err)
			}
			if g.HighestModSeq() <= hi || (!c.tail && g.ModSeq(1) <= hi) || g.ModSeq(1) > g.HighestModSeq() {
				t.Fatalf("after %s: highest %d, message %d; before %d", c.name, g.HighestModSeq(), g.ModSeq(1), hi)
			}
			if _, exact := g.VanishedSince(hi); exact {
				t.Fatal("expunge history claimed exact after a restart")
			}
			data, _ := os.ReadFile(filepath.Join(m.Root(), ModSeqFile))
			if _, _, ok := ParseModSeq(data); !ok {
				t.Fatalf("rewritten file does not parse: %q", data)
			}
		})
	}
}

func TestModSeqVanishedTrim(t *testing.T) {
	old := maxVanished
	maxVanished = 3
	defer func() { maxVanished = old }()
	_, f := modseqFolder(t, 6)
	start := f.HighestModSeq()
	var marks []uint64
	for uid := uint32(1); uid <= 5; uid++ {
		marks = append(marks, f.HighestModSeq())
		if _, err := f.Expunge([]uint32{uid}); err != nil {
			t.Fatal(err)
		}
	}
	// The two oldest expunges were trimmed: asking from before them is
	// not exact; from after, exact.
	if _, exact := f.VanishedSince(start); exact {
		t.Fatal("trimmed history claimed exact")
	}
	if v, exact := f.VanishedSince(marks[2]); !exact || !reflect.DeepEqual(v, []uint32{3, 4, 5}) {
		t.Fatalf("VanishedSince = %v %v", v, exact)
	}
}

func TestStatusHighestModSeq(t *testing.T) {
	m, f := modseqFolder(t, 2)
	// Let the directory stamps leave the racy window, then rescan so
	// the file records a trustworthy stamp.
	past := time.Now().Add(-time.Minute)
	for _, d := range []string{"cur", "new", keywordDir} {
		os.Chtimes(filepath.Join(m.Root(), d), past, past)
	}
	f.stamp = dirStamp{}
	f.Rescan()
	h, err := m.StatusHighestModSeq("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if h != f.HighestModSeq() {
		t.Fatalf("STATUS %d, folder %d (nothing changed)", h, f.HighestModSeq())
	}
	// A change by someone else: STATUS must show a higher value, and the
	// next pass must go higher still.
	deliver(t, m.Root(), "3000.M1P1.test.host", "Subject: y\n\nz\n")
	h2, err := m.StatusHighestModSeq("INBOX")
	if err != nil || h2 <= h {
		t.Fatalf("STATUS after delivery %d (%v), before %d", h2, err, h)
	}
	f.stamp = dirStamp{}
	f.Rescan()
	if f.HighestModSeq() <= h2 {
		t.Fatalf("pass after STATUS gave %d, STATUS said %d", f.HighestModSeq(), h2)
	}
	// A folder never opened with CONDSTORE: a value, and a later pass
	// above it.
	if err := m.CreateFolder("INBOX.New"); err != nil {
		t.Fatal(err)
	}
	h3, err := m.StatusHighestModSeq("INBOX.New")
	if err != nil || h3 == 0 {
		t.Fatalf("STATUS of a new folder: %d %v", h3, err)
	}
	g, _ := m.OpenFolder("INBOX.New", false)
	if err := g.EnableModSeq(); err != nil || g.HighestModSeq() <= h3 {
		t.Fatalf("first pass %d (%v), STATUS said %d", g.HighestModSeq(), err, h3)
	}
}

// modseqCrashChild (MAILDIR_MODSEQ_CHILD) stores and expunges with
// mod-sequences on until killed, printing each acknowledged state:
//
//	MS uid modseq highest    STORE done
func modseqCrashChild(root string) {
	minJournalBytes = 1024 // compact every few records: both paths get killed
	m, err := Open(root, Options{UseLocks: true, Keywords: true, Hostname: "test.host"})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	f, err := m.OpenFolder("INBOX", false)
	if err == nil {
		err = f.EnableModSeq()
	}
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	r := rand.New(rand.NewSource(int64(os.Getpid())))
	for i := 0; ; i++ {
		msgs := f.Messages()
		if len(msgs) < 5 {
			if _, err := m.Append("INBOX", strings.NewReader("Subject: x\r\n\r\nb\r\n"), 0, nil, time.Time{}); err != nil {
				fmt.Fprintln(w, "ERR", err)
				w.Flush()
				os.Exit(1)
			}
			f.Rescan()
			continue
		}
		x := msgs[r.Intn(len(msgs))]
		if r.Intn(6) == 0 {
			f.Expunge([]uint32{x.UID})
			continue
		}
		f.DeferSync()
		err := f.SetFlags(x.UID, Flags(r.Intn(2))*FlagFlagged|FlagSeen, []string{"K" + strconv.Itoa(i%4)})
		if ferr := f.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			fmt.Fprintln(w, "ERR", err)
			w.Flush()
			os.Exit(1)
		}
		fmt.Fprintf(w, "MS %d %d %d\n", x.UID, f.ModSeq(x.UID), f.HighestModSeq())
		w.Flush()
	}
}

// TestModSeqCrash kills a STORE-ing process with SIGKILL at random
// moments: the file always parses (or is absent), and the values a fresh
// reader gets are never below what was acknowledged.
func TestModSeqCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	var ackHi uint64
	acked := map[uint32]uint64{} // uid -> acknowledged MODSEQ
	acks := 0
	for round := 0; round < 10; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "MAILDIR_MODSEQ_CHILD="+m.Root())
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Duration(30+r.Intn(120))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if fs[0] == "ERR" {
				t.Fatalf("child: %s", sc.Text())
			}
			hi, _ := strconv.ParseUint(fs[3], 10, 64)
			uid, _ := strconv.ParseUint(fs[1], 10, 32)
			ms, _ := strconv.ParseUint(fs[2], 10, 64)
			if ms < acked[uint32(uid)] {
				t.Fatalf("round %d: uid %d acknowledged modseq went back %d -> %d", round, uid, acked[uint32(uid)], ms)
			}
			acked[uint32(uid)] = ms
			if hi < ackHi {
				t.Fatalf("round %d: acknowledged highest went back %d -> %d", round, ackHi, hi)
			}
			ackHi = hi
			acks++
		}
		cmd.Wait()
		data, err := os.ReadFile(filepath.Join(m.Root(), ModSeqFile))
		if err == nil {
			if _, _, ok := ParseModSeq(data); !ok {
				t.Fatalf("round %d: file damaged: %q", round, data)
			}
		}
		f, err := m.OpenFolder("INBOX", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.EnableModSeq(); err != nil {
			t.Fatal(err)
		}
		if f.HighestModSeq() < ackHi {
			t.Fatalf("round %d: highest %d below acknowledged %d", round, f.HighestModSeq(), ackHi)
		}
		for _, x := range f.Messages() {
			if ms := f.ModSeq(x.UID); ms < acked[x.UID] {
				t.Fatalf("round %d: uid %d at %d, below acknowledged %d", round, x.UID, ms, acked[x.UID])
			}
			acked[x.UID] = f.ModSeq(x.UID)
		}
		ackHi = f.HighestModSeq()
		f.Close()
	}
	if acks == 0 {
		t.Error("no STORE acknowledged; test too weak")
	}
	t.Logf("%d acknowledged stores", acks)
}

// TestCourierModSeqAlternate: Courier's imapd and ours take turns on one
// folder. Courier ignores gocouriermodseq (its view equals ours, no
// folder of that name appears), and what Courier changes (a flag, a
// keyword, an expunge) gets a new mod-sequence at our next rescan while
// untouched messages keep theirs.
func TestCourierModSeqAlternate(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	m := newMaildir(t, Options{UseLocks: true, Keywords: true, TrashName: "Trash"})
	for i := 0; i < 4; i++ {
		if _, err := m.Append("INBOX", strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.EnableModSeq(); err != nil {
		t.Fatal(err)
	}
	if err := f.SetFlags(4, FlagSeen, []string{"Mine"}); err != nil {
		t.Fatal(err)
	}
	before := map[uint32]uint64{}
	for u := uint32(1); u <= 4; u++ {
		before[u] = f.ModSeq(u)
	}
	h := f.HighestModSeq()
	out := runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b UID FETCH 1:* (UID FLAGS)", `c LIST "" "*"`,
		`d UID STORE 1 +FLAGS (\Flagged)`, `e UID STORE 3 +FLAGS (Work)`, `f UID STORE 2 +FLAGS (\Deleted)`, "g EXPUNGE", "h LOGOUT")
	if strings.Contains(out, "gocourier") {
		t.Errorf("Courier shows our file:\n%s", out)
	}
	// Courier saw our state before its changes (first FETCH block).
	first := out[:strings.Index(out, "c OK")]
	if !strings.Contains(first, `UID 4 FLAGS (\Seen Mine)`) && !strings.Contains(first, `UID 4 FLAGS (Mine \Seen)`) {
		t.Errorf("Courier's view of our STORE:\n%s", first)
	}
	f.stamp = dirStamp{}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	if f.HighestModSeq() <= h {
		t.Fatalf("Courier's changes gave no new HIGHESTMODSEQ (%d, was %d)", f.HighestModSeq(), h)
	}
	for _, u := range []uint32{1, 3} {
		if f.ModSeq(u) <= h {
			t.Errorf("uid %d changed by Courier: modseq %d, highest before %d", u, f.ModSeq(u), h)
		}
	}
	if f.ModSeq(4) != before[4] {
		t.Errorf("uid 4 untouched by Courier: modseq %d -> %d", before[4], f.ModSeq(4))
	}
	if v, exact := f.VanishedSince(h); !exact || len(v) != 1 || v[0] != 2 {
		t.Errorf("VanishedSince = %v %v, want [2]", v, exact)
	}
	// And Courier reads the folder as we do afterwards.
	out = runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b UID FETCH 1:* (UID FLAGS)", "c LOGOUT")
	if cv, ov := courierView(out), ourView(f); fmt.Sprint(cv) != fmt.Sprint(ov) {
		t.Errorf("views differ:\ncourier %v\nours    %v\n%s", cv, ov, out)
	}
}

// BenchmarkStoreModSeq is one STORE (DeferSync, SetFlags, Flush) on a
// folder of n messages, without and with mod-sequences (one journal
// record per operation; run with -benchtime 5000x to include compactions).
func BenchmarkStoreModSeq(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("n=%d/modseq=%v", n, on), func(b *testing.B) {
				m := newMaildir(b, Options{Keywords: true})
				cur := filepath.Join(m.Root(), "cur")
				for i := 0; i < n; i++ {
					os.WriteFile(filepath.Join(cur, fmt.Sprintf("%d.M1P1.test.host:2,", 1000000+i)), []byte("Subject: x\n\nx\n"), 0o644)
				}
				f, err := m.OpenFolder("INBOX", false)
				if err != nil {
					b.Fatal(err)
				}
				if on {
					if err := f.EnableModSeq(); err != nil {
						b.Fatal(err)
					}
				}
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f.DeferSync()
					// (i+i/n)%2: every operation is a change, also
					// past the first round (journal compaction).
					if err := f.SetFlags(uint32(1+i%n), Flags((i+i/n)%2)*FlagSeen, nil); err != nil {
						b.Fatal(err)
					}
					if err := f.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is this process's user+system CPU time in ns (wall time on a
// shared machine is noise).
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// journalFile renders a snapshot of gen 42 (uid 1 at 400, uid 2 at 500,
// uid 3 expunged at 450) followed by the given records.
func journalFile(recs ...string) string {
	return "gocouriermodseq 1 77 500 100 1 2 3 4 5 6 42\n1 400 abc\n2 500 0\n- 3 450\n" + strings.Join(recs, "")
}

// rec frames a payload as a record with a correct length and checksum
// (whatever the payload says).
func rec(p string) string {
	return fmt.Sprintf("J %d %08x %s\n", len(p), crc32.Checksum([]byte(p), castagnoli()), p)
}

func TestParseModSeqJournal(t *testing.T) {
	r1 := rec("42 600 100 1 2 3 4 5 7 1/600/ab -2/600")
	r2 := rec("42 700 100 1 2 3 4 5 8 4/700/1")
	cases := []struct {
		name  string
		in    string
		ok    bool
		hi    uint64
		msgs  map[uint32]uint64
		van   int
		torn  bool
		stamp int64
	}{
		{"snapshot only", journalFile(), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, false, 6},
		{"two records", journalFile(r1, r2), true, 700, map[uint32]uint64{1: 600, 4: 700}, 2, false, 8},
		{"torn last record", journalFile(r1, r2[:len(r2)-4]), true, 600, map[uint32]uint64{1: 600}, 2, true, 7},
		{"torn no newline", journalFile(r1, strings.TrimSuffix(r2, "\n")), true, 600, map[uint32]uint64{1: 600}, 2, true, 7},
		{"bad checksum", journalFile(strings.Replace(r1, "1/600/ab", "1/600/ac", 1), r2), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"length mismatch", journalFile(strings.Replace(r1, "J 3", "J 4", 1)), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"other generation", journalFile(rec("43 600 100 1 2 3 4 5 7 1/600/ab")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"highest backwards", journalFile(r1, rec("42 599 100 1 2 3 4 5 8 4/599/1")), true, 600, map[uint32]uint64{1: 600}, 2, true, 7},
		{"exact backwards", journalFile(rec("42 600 99 1 2 3 4 5 7")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"modseq above record", journalFile(rec("42 600 100 1 2 3 4 5 7 1/601/ab")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"vanished backwards", journalFile(rec("42 600 100 1 2 3 4 5 7 -1/449")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"uid zero", journalFile(rec("42 600 100 1 2 3 4 5 7 0/600/1")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"bad token", journalFile(rec("42 600 100 1 2 3 4 5 7 1/600")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"short payload", journalFile(rec("42 600 100")), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"garbage after records", journalFile(r1, "1 x y\n"), true, 600, map[uint32]uint64{1: 600}, 2, true, 7},
		{"record after torn one", journalFile(r1[:10]+"\n", r2), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"generation zero takes none", strings.Replace(journalFile(rec("0 600 100 1 2 3 4 5 7")), " 42\n", " 0\n", 1), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
		{"huge length", journalFile("J 99999999 00000000 x\n"), true, 500, map[uint32]uint64{1: 400, 2: 500}, 1, true, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, hi, info, ok := parseModSeqFile([]byte(c.in))
			if ok != c.ok || hi != c.hi || len(db.Vanished) != c.van || info.torn != c.torn || db.Stamp[5] != c.stamp {
				t.Fatalf("ok=%v hi=%d vanished=%d torn=%v stamp=%d; want %v %d %d %v %d", ok, hi, len(db.Vanished), info.torn, db.Stamp[5], c.ok, c.hi, c.van, c.torn, c.stamp)
			}
			got := map[uint32]uint64{}
			for u, e := range db.Msgs {
				got[u] = e.ModSeq
			}
			if !reflect.DeepEqual(got, c.msgs) {
				t.Fatalf("msgs %v, want %v", got, c.msgs)
			}
			if info.torn == (info.valid == int64(len(c.in))) {
				t.Fatalf("valid %d of %d with torn=%v", info.valid, len(c.in), info.torn)
			}
		})
	}
}

// TestModSeqJournal: a STORE appends one small record to the same file
// (no rewrite); past the bound the file is compacted into a new snapshot;
// a fresh reader always gets the writer's state; a second session picks
// up the first one's records.
func TestModSeqJournal(t *testing.T) {
	defer func(n int64) { minJournalBytes = n }(minJournalBytes)
	minJournalBytes = 2048
	m, f := modseqFolder(t, 200)
	path := filepath.Join(m.Root(), ModSeqFile)
	st0, _ := os.Stat(path)
	ino := func() uint64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	ino0 := ino()
	check := func(when string) {
		t.Helper()
		data, _ := os.ReadFile(path)
		db, hi, info, ok := parseModSeqFile(data)
		if !ok || info.torn || hi != f.HighestModSeq() {
			t.Fatalf("%s: file ok=%v torn=%v highest %d, session %d", when, ok, info.torn, hi, f.HighestModSeq())
		}
		for _, x := range f.Messages() {
			if db.Msgs[x.UID].ModSeq != f.ModSeq(x.UID) {
				t.Fatalf("%s: uid %d file %d session %d", when, x.UID, db.Msgs[x.UID].ModSeq, f.ModSeq(x.UID))
			}
		}
	}
	if err := f.SetFlags(7, FlagSeen, []string{"Work"}); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(path)
	if ino() != ino0 || st1.Size() <= st0.Size() || st1.Size()-st0.Size() > 120 {
		t.Fatalf("STORE rewrote or grew the file too much: inode %d->%d size %d->%d", ino0, ino(), st0.Size(), st1.Size())
	}
	check("after one STORE")
	// A second session reads the record and builds on it.
	g, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.EnableModSeq(); err != nil {
		t.Fatal(err)
	}
	if g.ModSeq(7) != f.ModSeq(7) {
		t.Fatalf("second session: uid 7 at %d, want %d", g.ModSeq(7), f.ModSeq(7))
	}
	h := f.HighestModSeq()
	if err := f.SetFlags(8, FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.SetFlags(9, FlagFlagged, nil); err != nil {
		t.Fatal(err)
	}
	if g.ModSeq(8) != f.ModSeq(8) || g.ModSeq(8) <= h || g.HighestModSeq() <= f.HighestModSeq() {
		t.Fatalf("tail read: g uid 8 at %d, f %d; g highest %d, f %d", g.ModSeq(8), f.ModSeq(8), g.HighestModSeq(), f.HighestModSeq())
	}
	g.Close()
	f.stamp = dirStamp{}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	check("after the other session")
	// Expunges go to the journal too.
	h = f.HighestModSeq()
	f.SetFlags(3, FlagDeleted, nil)
	if done, err := f.Expunge([]uint32{3}); err != nil || len(done) != 1 {
		t.Fatalf("expunge: %v %v", done, err)
	}
	if ino() != ino0 {
		t.Fatal("EXPUNGE rewrote the file")
	}
	check("after EXPUNGE")
	data, _ := os.ReadFile(path)
	db, _, _ := ParseModSeq(data)
	if n := len(db.Vanished); n == 0 || db.Vanished[n-1].UID != 3 || db.Vanished[n-1].ModSeq <= h {
		t.Fatalf("vanished in file: %v", db.Vanished)
	}
	// Many STOREs: the journal stays bounded by compaction. A compaction
	// writes a snapshot with a new generation (the inode number is no
	// proof: the filesystem may hand the old one out again).
	data, _ = os.ReadFile(path)
	db0, _, _, _ := parseModSeqFile(data)
	for i := 0; i < 200; i++ {
		if err := f.SetFlags(uint32(10+i%50), []Flags{FlagFlagged, FlagSeen}[i/50%2], nil); err != nil {
			t.Fatal(err)
		}
	}
	data, _ = os.ReadFile(path)
	db1, _, info, _ := parseModSeqFile(data)
	if db1.Gen == db0.Gen {
		t.Fatal("journal never compacted")
	}
	if info.valid-info.snap > journalLimit(info.snap) {
		t.Fatalf("journal %d bytes over its bound %d", info.valid-info.snap, journalLimit(info.snap))
	}
	check("after compaction")
	if v, exact := f.VanishedSince(h); !exact || len(v) != 1 || v[0] != 3 {
		t.Fatalf("VanishedSince after compaction: %v %v", v, exact)
	}
}
