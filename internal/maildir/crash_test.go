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
	"gocourier/internal/maildir/uiddb"
)

// crashChild is the body of the child process of TestCrashSafety: it
// appends messages and changes flags/keywords forever, printing a line
// after each acknowledged operation.
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
	w := bufio.NewWriter(os.Stdout)
	r := rand.New(rand.NewSource(int64(os.Getpid())))
	for i := 0; ; i++ {
		if r.Intn(3) > 0 || f.Len() == 0 {
			res, err := m.Append("INBOX", strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)), FlagSeen, []string{"K" + strconv.Itoa(i%3)}, time.Time{})
			if err != nil {
				fmt.Fprintln(w, "ERR", err)
				w.Flush()
				os.Exit(1)
			}
			f.Rescan()
			x, _ := f.Message(res.UID)
			fmt.Fprintf(w, "ACK %d %d %s\n", res.UIDValidity, res.UID, x.Name)
		} else {
			msgs := f.Messages()
			x := msgs[r.Intn(len(msgs))]
			fl := Flags(r.Intn(2))*FlagFlagged | FlagSeen
			fmt.Fprintf(w, "BEGIN %d\n", x.UID)
			w.Flush()
			if err := f.SetFlags(x.UID, fl, []string{"S" + strconv.Itoa(i%5)}); err != nil {
				fmt.Fprintln(w, "ERR", err)
				w.Flush()
				os.Exit(1)
			}
			fmt.Fprintf(w, "FLAG %d %s S%d\n", x.UID, fl, i%5)
		}
		w.Flush()
	}
}

func TestMain(m *testing.M) {
	if d := os.Getenv("MAILDIR_CRASH_CHILD"); d != "" {
		crashChild(d)
		return
	}
	os.Exit(m.Run())
}

// TestCrashSafety kills a writer with SIGKILL at random moments, many
// rounds; afterwards every acknowledged message is there under the UID it
// was acknowledged with, acknowledged flags and keywords hold, no UID is
// reused, and all metadata parses.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	type ack struct {
		name  string
		flags string
		kw    string
	}
	acked := map[uint32]*ack{}
	var uidv uint32
	r := rand.New(rand.NewSource(1))
	// pending: flag changes begun but not acknowledged; either state is
	// then correct until a later acknowledged change.
	pending := map[uint32]bool{}
	for round := 0; round < 12; round++ {
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
			switch fs[0] {
			case "ACK":
				v, _ := strconv.Atoi(fs[1])
				u, _ := strconv.Atoi(fs[2])
				if uidv == 0 {
					uidv = uint32(v)
				}
				if uint32(v) != uidv {
					t.Fatalf("UIDVALIDITY changed: %d -> %d", uidv, v)
				}
				if old, ok := acked[uint32(u)]; ok {
					t.Fatalf("UID %d reused: %s and %s", u, old.name, fs[3])
				}
				acked[uint32(u)] = &ack{name: fs[3], flags: "S"}
			case "BEGIN":
				u, _ := strconv.Atoi(fs[1])
				pending[uint32(u)] = true
			case "FLAG":
				u, _ := strconv.Atoi(fs[1])
				delete(pending, uint32(u))
				if a := acked[uint32(u)]; a != nil {
					a.flags, a.kw = fs[2], fs[3]
				}
			case "ERR":
				t.Fatalf("child: %s", l)
			}
		}
		cmd.Wait()
		// Check the state after the crash, as a fresh reader.
		data, _ := os.ReadFile(filepath.Join(m.Root(), uiddbFile))
		db := uiddb.Parse(data)
		if len(data) > 0 && (!db.HeaderOK || db.BadLines > 0) {
			t.Fatalf("round %d: uiddb damaged: %q", round, data)
		}
		if b, err := os.ReadFile(filepath.Join(m.Root(), keywordDir, keywords.ListFile)); err == nil {
			keywords.ParseList(b)
		}
		f, err := m.OpenFolder("INBOX", true)
		if err != nil {
			t.Fatal(err)
		}
		if uidv != 0 && f.UIDValidity() != uidv {
			t.Fatalf("round %d: UIDVALIDITY %d, acknowledged %d", round, f.UIDValidity(), uidv)
		}
		for u, a := range acked {
			x, ok := f.Message(u)
			if !ok || x.Name != a.name {
				t.Fatalf("round %d: acknowledged UID %d (%s) lost or renamed: %+v", round, u, a.name, x)
			}
			if pending[u] {
				continue
			}
			if x.Flags.String() != a.flags {
				t.Errorf("round %d: UID %d flags %s, acknowledged %s", round, u, x.Flags, a.flags)
			}
			if a.kw != "" && strings.Join(x.Keywords, " ") != a.kw {
				t.Errorf("round %d: UID %d keywords %v, acknowledged %s", round, u, x.Keywords, a.kw)
			}
		}
	}
	if len(acked) < 10 {
		t.Errorf("only %d appends acknowledged; test too weak", len(acked))
	}
	t.Logf("%d messages acknowledged over 12 kills", len(acked))
}
