package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

var statusRE = regexp.MustCompile(`\* STATUS "[^"]*" \(MESSAGES (\d+) RECENT (\d+) UIDNEXT (\d+) UIDVALIDITY (\d+) UNSEEN (\d+)\)`)

func courierStatus(t *testing.T, out string) Status {
	t.Helper()
	m := statusRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no STATUS in:\n%s", out)
	}
	n := func(i int) uint32 { v, _ := strconv.Atoi(m[i]); return uint32(v) }
	return Status{Messages: n(1), Recent: n(2), UIDNext: n(3), UIDValidity: n(4), Unseen: n(5)}
}

var recentRE = regexp.MustCompile(`(?m)^\* (\d+) RECENT`)

func courierRecent(t *testing.T, out string) int {
	t.Helper()
	m := recentRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no RECENT in:\n%s", out)
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

func countDir(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestStatusNoSideEffects: STATUS moves nothing, writes no uiddb and
// leaves \Recent to the next SELECT (Courier's behaviour, checked by hand
// and in TestCourierStatusRecent).
func TestStatusNoSideEffects(t *testing.T) {
	cases := []struct {
		name              string
		selectFirst       bool // a SELECT numbers the first batch
		newFiles, curOnly int
		want              Status
	}{
		{name: "never opened", newFiles: 3, want: Status{Messages: 3, Recent: 3, UIDNext: 4, Unseen: 3}},
		{name: "empty", want: Status{UIDNext: 1}},
		{name: "selected then delivery", selectFirst: true, newFiles: 2, want: Status{Messages: 4, Recent: 2, UIDNext: 5, Unseen: 4}},
		{name: "unknown cur file", selectFirst: true, newFiles: 1, curOnly: 1, want: Status{Messages: 4, Recent: 2, UIDNext: 5, Unseen: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			if c.selectFirst {
				deliver(t, m.Root(), "1000.M1P1.h", "a\n")
				deliver(t, m.Root(), "1000.M2P1.h", "b\n")
				if _, err := m.OpenFolder("INBOX", false); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < c.newFiles; i++ {
				deliver(t, m.Root(), fmt.Sprintf("2000.M%dP1.h", i), "c\n")
			}
			for i := 0; i < c.curOnly; i++ {
				os.WriteFile(filepath.Join(m.Root(), "cur", fmt.Sprintf("3000.M%dP1.h:2,S", i)), []byte("d\n"), 0o644)
			}
			db0, _ := os.ReadFile(filepath.Join(m.Root(), uiddbFile))
			for i := 0; i < 2; i++ { // twice: the first must not change the second
				st, err := m.Status("INBOX")
				if err != nil {
					t.Fatal(err)
				}
				st.UIDValidity = 0
				if st != c.want {
					t.Errorf("status %+v, want %+v", st, c.want)
				}
			}
			if n := countDir(t, filepath.Join(m.Root(), "new")); n != c.newFiles {
				t.Errorf("new/ has %d files after STATUS, want %d", n, c.newFiles)
			}
			if db1, _ := os.ReadFile(filepath.Join(m.Root(), uiddbFile)); string(db0) != string(db1) {
				t.Errorf("STATUS rewrote the uiddb:\n%s\n->\n%s", db0, db1)
			}
			f, err := m.OpenFolder("INBOX", false)
			if err != nil {
				t.Fatal(err)
			}
			recent := 0
			for _, x := range f.Messages() {
				if x.Recent {
					recent++
				}
			}
			if uint32(recent) != c.want.Recent || f.UIDNext() != c.want.UIDNext {
				t.Errorf("SELECT after STATUS: %d recent, UIDNEXT %d; want %d, %d", recent, f.UIDNext(), c.want.Recent, c.want.UIDNext)
			}
		})
	}
	t.Run("missing folder", func(t *testing.T) {
		m := newMaildir(t, Options{})
		if _, err := m.Status("INBOX.nope"); err == nil {
			t.Error("STATUS of a missing folder succeeded")
		}
	})
}

// TestCourierStatusRecent: whichever of Courier and us does STATUS, the
// other's SELECT still gets \Recent, and both report the same counters;
// EXAMINE moves new/ but saves no UIDs, so a later SELECT gets \Recent too.
func TestCourierStatusRecent(t *testing.T) {
	needCourier(t, "usr/bin/imapd")
	const q = "a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"
	for _, who := range []string{"courier", "ours"} {
		t.Run(who+"-status", func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			deliver(t, m.Root(), "1000.M1P1.h", "a\n")
			runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b LOGOUT")
			for i := 0; i < 3; i++ {
				deliver(t, m.Root(), fmt.Sprintf("2000.M%dP1.h", i), "c\n")
			}
			os.WriteFile(filepath.Join(m.Root(), "cur", "3000.M1P1.h:2,S"), []byte("d\n"), 0o644)
			cst := courierStatus(t, runCourierIMAP(t, m.Root(), q, "b LOGOUT"))
			ost, err := m.Status("INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if cst != ost {
				t.Errorf("STATUS courier %+v, ours %+v", cst, ost)
			}
			if who == "ours" {
				f, err := m.OpenFolder("INBOX", true) // EXAMINE: moves, saves nothing
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else {
				runCourierIMAP(t, m.Root(), "a EXAMINE INBOX", "b LOGOUT")
			}
			if n := countDir(t, filepath.Join(m.Root(), "new")); n != 0 {
				t.Errorf("EXAMINE left %d files in new/", n)
			}
			var recent int
			if who == "ours" {
				recent = courierRecent(t, runCourierIMAP(t, m.Root(), "a SELECT INBOX", "b LOGOUT"))
			} else {
				f, err := m.OpenFolder("INBOX", false)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range f.Messages() {
					if x.Recent {
						recent++
					}
				}
			}
			if recent != 4 {
				t.Errorf("SELECT after STATUS and EXAMINE: %d recent, want 4", recent)
			}
		})
	}
}

// TestDeferSync: flag changes made under DeferSync are applied at once
// (renames) and Flush/Close complete them; a later SetFlags without
// DeferSync is synchronous again.
func TestDeferSync(t *testing.T) {
	m := newMaildir(t, Options{})
	for i := 0; i < 3; i++ {
		deliver(t, m.Root(), fmt.Sprintf("1000.M%dP1.h", i), "x\n")
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	f.DeferSync()
	for _, x := range f.Messages() {
		if err := f.SetFlags(x.UID, FlagSeen|FlagDeleted, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !f.syncPending {
		t.Error("no sync pending after deferred renames")
	}
	if err := f.Flush(); err != nil || f.syncPending || f.deferSync {
		t.Fatalf("flush: %v pending=%v defer=%v", err, f.syncPending, f.deferSync)
	}
	g, _ := m.OpenFolder("INBOX", true)
	for _, x := range g.Messages() {
		if x.Flags != FlagSeen|FlagDeleted {
			t.Errorf("UID %d flags %s after deferred STORE", x.UID, x.Flags)
		}
	}
	f.SetFlags(1, FlagSeen, nil)
	if f.syncPending {
		t.Error("SetFlags after Flush still deferred")
	}
	f.DeferSync()
	f.SetFlags(2, FlagSeen, nil)
	if err := f.Close(); err != nil || f.syncPending {
		t.Errorf("close did not flush: %v", err)
	}
}
