package maildir

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"gocourier/internal/maildir/pop3list"
)

// TestProbeStopsEarly: the lock-free probe scan gives up as soon as it
// knows the scan must write (no or corrupt uiddb), before it lists cur/:
// the locked scan that follows lists it anyway. cur/ is made unlistable
// (a plain file), so a probe that still lists it fails with the listing
// error instead of errNeedLock. A read-only probe writes nothing and so
// must do the whole scan.
func TestProbeStopsEarly(t *testing.T) {
	tests := []struct {
		name     string
		uiddb    string // "" = none
		ro       bool
		wantLock bool
	}{
		{name: "no uiddb", wantLock: true},
		{name: "corrupt header", uiddb: "garbage\n", wantLock: true},
		{name: "read-only no uiddb", ro: true},
		{name: "valid uiddb", uiddb: "1 1234 5\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			root := m.Root()
			if tc.uiddb != "" {
				if err := os.WriteFile(filepath.Join(root, uiddbFile), []byte(tc.uiddb), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cur := filepath.Join(root, "cur")
			if err := os.Remove(cur); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cur, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := m.scanDirProbe(root, tc.ro, 0, scanProbe)
			if got := errors.Is(err, errNeedLock); got != tc.wantLock {
				t.Fatalf("errNeedLock = %v (err %v), want %v", got, err, tc.wantLock)
			}
			if !tc.wantLock && err == nil {
				t.Fatal("probe listed an unlistable cur/ without error")
			}
		})
	}
}

// TestSortArrival: sortArrival gives pop3list.Compare's order (Courier's
// numbering order), with files of one base kept in listing order, on
// named edge cases and on shuffled lists with many ties.
func TestSortArrival(t *testing.T) {
	check := func(t *testing.T, names []string) {
		t.Helper()
		p := make([]*msg, len(names))
		for i, n := range names {
			p[i] = &msg{base: n, crlf: int64(i)} // crlf: listing position
		}
		sortArrival(p)
		for i := 1; i < len(p); i++ {
			c := pop3list.Compare(p[i-1].base, p[i].base)
			if c > 0 || c == 0 && p[i-1].crlf > p[i].crlf {
				t.Fatalf("out of order at %d: %q (#%d) before %q (#%d)", i, p[i-1].base, p[i-1].crlf, p[i].base, p[i].crlf)
			}
		}
	}
	cases := []struct {
		name  string
		names []string
	}{
		{"empty", nil},
		{"one", []string{"5.a"}},
		{"sorted", []string{"1.a", "2.a", "3.a"}},
		{"reversed", []string{"3.a", "2.a", "1.a"}},
		{"numeric not bytewise", []string{"10.a", "9.a", "100.a"}},
		{"same second bytewise", []string{"7.c", "7.a", "7.b"}},
		{"prefix shorter first", []string{"7.ab", "7.a"}},
		{"no number counts as 0", []string{"x", "1.a", "-3.a", "a"}},
		{"duplicate bases keep listing order", []string{"2.a", "1.a", "2.a", "1.a", "2.a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.names) })
	}
	t.Run("random ties", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for round := 0; round < 50; round++ {
			n := r.IntN(300)
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("%d.M%dP%d.h", 1700000000+r.IntN(20), r.IntN(5), r.IntN(3))
			}
			check(t, names)
		}
	})
}

// BenchmarkSortArrival: the sort of a first open of 100,000 names in
// readdir (hash) order.
func BenchmarkSortArrival(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	names := make([]string, 100000)
	for i := range names {
		names[i] = fmt.Sprintf("%d.M%dP%d.bench,S=%d", 1700000000+i/3, i%1000000, 1000+i%30000, 300+i%800)
	}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	store := make([]msg, len(names))
	orig := make([]*msg, len(names))
	for i, n := range names {
		store[i] = msg{base: n}
		orig[i] = &store[i]
	}
	p := make([]*msg, len(names))
	for b.Loop() {
		copy(p, orig)
		sortArrival(p)
	}
}

// TestMoveSyncDeferred: a scan that moves deliveries from new/ to cur/
// leaves the directory fsyncs to SaveDeferred (after the reply), for the
// full scan and for the cache-plus-new/ path alike; a scan that moves
// nothing leaves nothing to do.
func TestMoveSyncDeferred(t *testing.T) {
	defer func(n int) { cacheMinMessages = n }(cacheMinMessages)
	cacheMinMessages = 1
	m := newMaildir(t, Options{UseLocks: true, Keywords: true})
	root := m.Root()
	deliver(t, root, "1000000001.M1P1.h,S=2", "x\n")
	f, err := m.OpenFolder("INBOX", false)
	if err != nil || f.Len() != 1 {
		t.Fatal(err)
	}
	if !f.syncDue {
		t.Fatal("full scan: moves not left to SaveDeferred")
	}
	f.SaveDeferred()
	if f.syncDue {
		t.Fatal("SaveDeferred left the sync due")
	}
	ageDirs(t, root)
	g, err := m.OpenFolder("INBOX", false) // no moves; writes the cache later
	if err != nil || g.syncDue {
		t.Fatalf("scan without moves: syncDue=%v err=%v", g != nil && g.syncDue, err)
	}
	g.Close()
	deliver(t, root, "1000000002.M1P1.h,S=2", "y\n")
	h, err := m.OpenFolder("INBOX", false) // cache plus new/
	if err != nil || h.Len() != 2 {
		t.Fatal(err)
	}
	if !h.syncDue {
		t.Fatal("cache-plus-new path: moves not left to SaveDeferred")
	}
	if names, _ := readNames(filepath.Join(root, "new")); len(names) != 0 {
		t.Fatalf("new/ not emptied: %v", names)
	}
	h.Close()
	if h.syncDue {
		t.Fatal("Close left the sync due")
	}
}

// TestFirstOpenPacked: a first open of a big folder (files created in a
// shuffled order, so readdir order is not arrival order) lays its
// messages out in one array in UID order, and the UIDs follow arrival
// order.
func TestFirstOpenPacked(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	root := m.Root()
	const n = 1500
	r := rand.New(rand.NewPCG(3, 4))
	for _, i := range r.Perm(n) {
		name := fmt.Sprintf("%d.M%dP1.h,S=2:2,", 1000000000+i, i)
		if err := os.WriteFile(filepath.Join(root, "cur", name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := m.OpenFolder("INBOX", false)
	if err != nil || f.Len() != n {
		t.Fatalf("len %d err %v", f.Len(), err)
	}
	size := uintptr(unsafe.Sizeof(msg{}))
	for i, x := range f.msgs {
		if want := fmt.Sprintf("%d.M%dP1.h,S=2", 1000000000+i, i); x.uid != uint32(i+1) || x.base != want {
			t.Fatalf("#%d: uid %d base %s, want %d %s", i, x.uid, x.base, i+1, want)
		}
		if i > 0 && uintptr(unsafe.Pointer(x))-uintptr(unsafe.Pointer(f.msgs[i-1])) != size {
			t.Fatalf("#%d not next to #%d in memory", i, i-1)
		}
	}
}
