package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gocourier/internal/msggen"
)

// snapshot lists a Maildir's cur/ and new/ files with content and mtime.
func snapshot(t *testing.T, md string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(md, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(md, sub, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(p)
			out[sub+"/"+e.Name()] = fi.ModTime().UTC().String() + "\n" + string(b)
		}
	}
	return out
}

func sameSets(t *testing.T, want, got map[string]string) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d files, want %d", len(got), len(want))
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g, ok := got[n]
		if !ok {
			t.Fatalf("missing %s", n)
		}
		if !bytes.Equal([]byte(g), []byte(want[n])) {
			t.Fatalf("%s differs", n)
		}
	}
}

// The fast builders must give exactly msggen.WriteMaildir's data set, or
// the figures of a cold and a warm run would not be comparable.
func TestDataSetBuildersMatchMsggen(t *testing.T) {
	opt := msggen.Options{MaxSize: 64 << 10}
	cases := []struct {
		name     string
		n, newN  int
		workers  int
		superset int // > 0: link from a set of this many messages
	}{
		{"one-worker", 40, 4, 1, 0},
		{"three-workers", 40, 4, 3, 0},
		{"more-workers-than-messages", 3, 1, 8, 0},
		{"no-new", 25, 0, 2, 0},
		{"prefix-of-larger", 30, 3, 0, 60},
		{"prefix-same-size", 30, 3, 0, 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ref := filepath.Join(dir, "ref")
			if _, err := msggen.WriteMaildir(ref, tc.n, tc.newN, 7, opt); err != nil {
				t.Fatal(err)
			}
			got := filepath.Join(dir, "got")
			if tc.superset > 0 {
				big := filepath.Join(dir, "data", "big-s7-n60-m65536")
				if err := writeMaildirParallel(filepath.Join(big, "Maildir"), tc.superset, tc.superset/10, 7, opt, 2); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(big, "complete"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				src, err := prefixSource(filepath.Join(dir, "data"), 7, tc.n, 64<<10)
				if err != nil {
					t.Fatal(err)
				}
				if err := linkPrefixSet(src, got, tc.n, tc.newN, 7, opt); err != nil {
					t.Fatal(err)
				}
			} else if err := writeMaildirParallel(got, tc.n, tc.newN, 7, opt, tc.workers); err != nil {
				t.Fatal(err)
			}
			sameSets(t, snapshot(t, ref), snapshot(t, got))
		})
	}
}

func TestPrefixSourceRejects(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, complete bool) {
		if err := os.MkdirAll(filepath.Join(dir, name, "Maildir"), 0o755); err != nil {
			t.Fatal(err)
		}
		if complete {
			_ = os.WriteFile(filepath.Join(dir, name, "complete"), nil, 0o644)
		}
	}
	mk("big-s1-n100-m1024", false) // incomplete
	mk("big-s2-n100-m1024", true)  // other seed
	mk("big-s1-n100-m2048", true)  // other size option
	mk("big-s1-n10-m1024", true)   // too small
	mk("odd-name", true)
	if src, err := prefixSource(dir, 1, 50, 1024); err == nil {
		t.Fatalf("found %s", src)
	}
	mk("pop-s1-n50-m1024", true)
	if src, err := prefixSource(dir, 1, 50, 1024); err != nil || filepath.Base(filepath.Dir(src)) != "pop-s1-n50-m1024" {
		t.Fatalf("got %q, %v", src, err)
	}
}

func TestMsgNameFields(t *testing.T) {
	cases := []struct {
		name     string
		idx      int
		size     int64
		okI, okS bool
	}{
		{"1704186000.M000012P4001_12.bench.example,S=2048:2,S", 12, 2048, true, true},
		{"1704186000.M000012P4001_12.bench.example,S=2048", 12, 2048, true, true},
		{"1704186000.M1P2.host,S=5:2,", 0, 5, false, true},
		{"garbage", 0, 0, false, false},
		{"x_.bench.example,S=", 0, 0, false, false},
	}
	for _, tc := range cases {
		i, okI := msgIndex(tc.name)
		s, okS := msgSize(tc.name)
		if okI != tc.okI || (okI && i != tc.idx) || okS != tc.okS || (okS && s != tc.size) {
			t.Errorf("%s: index %d,%v size %d,%v", tc.name, i, okI, s, okS)
		}
	}
}

func TestPhaseTimes(t *testing.T) {
	pt := newPhaseTimes()
	pt.add("login ours", 2*time.Second)
	pt.add("stop ours", time.Second)
	pt.add("start ours", time.Second)
	pt.add("data big", 30*time.Second)
	pt.add("login ours", 3*time.Second)
	pt.add("server setup", time.Second)
	pt.add("copy data (big)", 500*time.Millisecond)
	pt.total = 50 * time.Second
	want := []string{"server setup", "data big", "copy data (big)", "start ours", "stop ours", "login ours"}
	if got := pt.ordered(); !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	tab := pt.table()
	for _, w := range []string{"| start ours | 1s | 2% |", "| data big | 30s | 60% |", "| **total** | **50s** | 100% |"} {
		if !strings.Contains(tab, w) {
			t.Errorf("table lacks %q:\n%s", w, tab)
		}
	}
	var none *phaseTimes
	if none.table() != "" || none.text() != "" {
		t.Error("nil phase times render something")
	}
}

// -report rewrites BENCHMARKS.md from results.json: the run-time table
// must survive the round trip; a -merge run keeps its own.
func TestPhasesSavedAndRestored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	r := newResults(smokeParams(), []*server{{name: "ours"}})
	r.phases = newPhaseTimes()
	r.phases.add("login ours", 3*time.Second)
	r.phases.total = 10 * time.Second
	if err := r.save(path); err != nil {
		t.Fatal(err)
	}
	back := newResults(smokeParams(), nil)
	if err := back.mergeFrom(path, nil); err != nil {
		t.Fatal(err)
	}
	if back.phases == nil || back.phases.dur["login ours"] != 3*time.Second || back.phases.total != 10*time.Second {
		t.Fatalf("phases after round trip: %+v", back.phases)
	}
	cur := newResults(smokeParams(), nil)
	cur.phases = newPhaseTimes()
	cur.phases.add("idle ours", time.Second)
	if err := cur.mergeFrom(path, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := cur.phases.dur["login ours"]; ok {
		t.Error("a merging run took the saved run's phases")
	}
}
