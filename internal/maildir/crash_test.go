package maildir

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/maildir/keywords"
	"gocourier/internal/maildir/quota"
	"gocourier/internal/maildir/uiddb"
)

// crashDst is the COPY destination of the crash test.
const crashDst = "INBOX.Dst"

// crashChild is the body of the child process of TestCrashSafety: it
// appends, changes flags/keywords, copies and expunges forever, printing
// a BEGIN line before and an acknowledgement line after each operation
// (the acknowledgement is what an IMAP client would have been told).
//
//	ACK uidv uid name        APPEND done
//	FLAG uid flags kw        STORE done
//	COPY srcuid dstuid name  COPY done (name = base name in crashDst)
//	XACK uid                 EXPUNGE done
func crashChild(root string) {
	m, err := Open(root, Options{UseLocks: true, Keywords: true, Hostname: "test.host"})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	dst, err := m.OpenFolder(crashDst, false)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	fail := func(err error) {
		fmt.Fprintln(w, "ERR", err)
		w.Flush()
		os.Exit(1)
	}
	r := rand.New(rand.NewSource(int64(os.Getpid())))
	for i := 0; ; i++ {
		op := r.Intn(8)
		if f.Len() == 0 {
			op = 0
		}
		msgs := f.Messages()
		var x MessageInfo
		if len(msgs) > 0 {
			x = msgs[r.Intn(len(msgs))]
		}
		switch {
		case op < 4: // APPEND
			res, err := m.Append("INBOX", strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)), FlagSeen, []string{"K" + strconv.Itoa(i%3)}, time.Time{})
			if err != nil {
				fail(err)
			}
			f.Rescan()
			y, _ := f.Message(res.UID)
			fmt.Fprintf(w, "ACK %d %d %s\n", res.UIDValidity, res.UID, y.Name)
		case op < 6: // STORE
			fl := Flags(r.Intn(2))*FlagFlagged | FlagSeen
			fmt.Fprintf(w, "BEGIN %d\n", x.UID)
			w.Flush()
			if err := f.SetFlags(x.UID, fl, []string{"S" + strconv.Itoa(i%5)}); err != nil {
				fail(err)
			}
			fmt.Fprintf(w, "FLAG %d %s S%d\n", x.UID, fl, i%5)
		case op < 7: // COPY
			_, src, dstUIDs, err := f.CopyTo(crashDst, []uint32{x.UID})
			if err != nil {
				fail(err)
			}
			if len(src) != 1 {
				fail(fmt.Errorf("copy of %d copied %v", x.UID, src))
			}
			dst.Rescan()
			y, ok := dst.Message(dstUIDs[0])
			if !ok {
				fail(fmt.Errorf("copied UID %d not in destination", dstUIDs[0]))
			}
			fmt.Fprintf(w, "COPY %d %d %s\n", x.UID, dstUIDs[0], y.Name)
		default: // STORE +FLAGS \Deleted, EXPUNGE
			fmt.Fprintf(w, "BEGIN %d\n", x.UID)
			w.Flush()
			if err := f.SetFlags(x.UID, x.Flags|FlagDeleted, x.Keywords); err != nil {
				fail(err)
			}
			done, err := f.Expunge([]uint32{x.UID})
			if err != nil || len(done) != 1 {
				fail(fmt.Errorf("expunge %d: %v %v", x.UID, done, err))
			}
			fmt.Fprintf(w, "XACK %d\n", x.UID)
		}
		w.Flush()
	}
}

func TestMain(m *testing.M) {
	if d := os.Getenv("MAILDIR_CRASH_CHILD"); d != "" {
		crashChild(d)
		return
	}
	if d := os.Getenv("MAILDIR_MODSEQ_CHILD"); d != "" {
		modseqCrashChild(d)
		return
	}
	os.Exit(m.Run())
}

// crashRounds is 15 by default (about 2 s); MAILDIR_CRASH_ROUNDS=N runs
// a longer campaign.
func crashRounds(t *testing.T) int {
	if s := os.Getenv("MAILDIR_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MAILDIR_CRASH_ROUNDS=%q", s)
		}
		return n
	}
	return 15
}

// checkMeta parses every metadata file of a folder directory as a fresh
// reader would, failing on damage.
func checkMeta(t *testing.T, round int, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, uiddbFile))
	if err == nil {
		if db := uiddb.Parse(data); !db.HeaderOK || db.BadLines > 0 {
			t.Fatalf("round %d: %s damaged: %q", round, filepath.Join(dir, uiddbFile), data)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, keywordDir, keywords.ListFile)); err == nil {
		keywords.ParseList(b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "maildirsize")); err == nil {
		if _, err := quota.Parse(strings.NewReader(string(b))); err != nil {
			t.Fatalf("round %d: maildirsize damaged: %v\n%q", round, err, b)
		}
	}
}

// TestCrashSafety kills a writer with SIGKILL at random moments during
// APPEND, STORE, COPY and EXPUNGE, many rounds; afterwards every
// acknowledged message is there under the UID it was acknowledged with
// (in INBOX and in the COPY destination), acknowledged flags and keywords
// hold, acknowledged expunges stay expunged, no UID is reused or changed,
// and every metadata file parses.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	if err := m.CreateFolder(crashDst); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RecalcQuota("1000000000S"); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		name  string
		flags string
		kw    string
		gone  bool // expunge acknowledged
	}
	acked := map[uint32]*ack{}  // INBOX
	copied := map[uint32]*ack{} // crashDst
	var uidv uint32
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	// pending: changes begun but not acknowledged; either state is then
	// correct until a later acknowledged change.
	pending := map[uint32]bool{}
	var nAck, nFlag, nCopy, nExp int
	rounds := crashRounds(t)
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "MAILDIR_CRASH_CHILD="+m.Root())
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		time.AfterFunc(time.Duration(30+r.Intn(150))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		for l := range lines {
			fs := strings.Fields(l)
			num := func(i int) uint32 { v, _ := strconv.Atoi(fs[i]); return uint32(v) }
			switch fs[0] {
			case "ACK":
				nAck++
				if uidv == 0 {
					uidv = num(1)
				}
				if num(1) != uidv {
					t.Fatalf("UIDVALIDITY changed: %d -> %d", uidv, num(1))
				}
				if old, ok := acked[num(2)]; ok {
					t.Fatalf("UID %d reused: %s and %s", num(2), old.name, fs[3])
				}
				acked[num(2)] = &ack{name: fs[3], flags: "S"}
			case "BEGIN":
				pending[num(1)] = true
			case "FLAG":
				nFlag++
				delete(pending, num(1))
				if a := acked[num(1)]; a != nil {
					a.flags, a.kw = fs[2], fs[3]
				}
			case "COPY":
				nCopy++
				if old, ok := copied[num(2)]; ok {
					t.Fatalf("destination UID %d reused: %s and %s", num(2), old.name, fs[3])
				}
				copied[num(2)] = &ack{name: fs[3]}
			case "XACK":
				nExp++
				delete(pending, num(1))
				if a := acked[num(1)]; a != nil {
					a.gone = true
				}
			case "ERR":
				t.Fatalf("child: %s", l)
			}
		}
		cmd.Wait()
		// Check the state after the crash, as a fresh reader.
		checkMeta(t, round, m.Root())
		checkMeta(t, round, filepath.Join(m.Root(), ".Dst"))
		f, err := m.OpenFolder("INBOX", true)
		if err != nil {
			t.Fatal(err)
		}
		if uidv != 0 && f.UIDValidity() != uidv {
			t.Fatalf("round %d: UIDVALIDITY %d, acknowledged %d", round, f.UIDValidity(), uidv)
		}
		for u, a := range acked {
			x, ok := f.Message(u)
			switch {
			case a.gone && ok:
				t.Fatalf("round %d: UID %d expunged (acknowledged) but back: %+v", round, u, x)
			case a.gone:
			case pending[u] && !ok:
				// an unacknowledged EXPUNGE may have happened
			case !ok || x.Name != a.name:
				t.Fatalf("round %d: acknowledged UID %d (%s) lost or renamed: %+v", round, u, a.name, x)
			case pending[u]:
			case x.Flags.String() != a.flags:
				t.Errorf("round %d: UID %d flags %s, acknowledged %s", round, u, x.Flags, a.flags)
			case a.kw != "" && strings.Join(x.Keywords, " ") != a.kw:
				t.Errorf("round %d: UID %d keywords %v, acknowledged %s", round, u, x.Keywords, a.kw)
			}
		}
		for _, x := range f.Messages() {
			if _, ok := acked[x.UID]; !ok && x.UID < f.UIDNext() {
				// An unacknowledged APPEND that completed: fine, but
				// remember it so a later reuse of its UID is caught.
				acked[x.UID] = &ack{name: x.Name, flags: x.Flags.String(), kw: strings.Join(x.Keywords, " ")}
				pending[x.UID] = true
			}
		}
		d, err := m.OpenFolder(crashDst, true)
		if err != nil {
			t.Fatal(err)
		}
		for u, a := range copied {
			if x, ok := d.Message(u); !ok || x.Name != a.name {
				t.Fatalf("round %d: acknowledged copy UID %d (%s) lost or renamed: %+v", round, u, a.name, x)
			}
		}
		for _, x := range d.Messages() {
			if a, ok := copied[x.UID]; ok && a.name != x.Name {
				t.Fatalf("round %d: copy UID %d changed file", round, x.UID)
			} else if !ok {
				copied[x.UID] = &ack{name: x.Name} // unacknowledged copy that completed
			}
		}
	}
	if nAck < 10 || nCopy == 0 || nExp == 0 || nFlag == 0 {
		t.Errorf("acknowledged %d appends, %d stores, %d copies, %d expunges; test too weak", nAck, nFlag, nCopy, nExp)
	}
	t.Logf("%d rounds: acknowledged %d appends, %d stores, %d copies, %d expunges", rounds, nAck, nFlag, nCopy, nExp)
}
