package procfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFields(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status")
	content := "Name:\timapd\nThreads:\t6\nRssAnon:\t    1000 kB\nSigBlk:\tnot-a-number\nEmpty:\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Fields(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		want float64
		ok   bool
	}{
		{"Threads", 6, true},
		{"RssAnon", 1000, true},
		{"Name", 0, false},   // not numeric
		{"SigBlk", 0, false}, // not numeric
		{"Empty", 0, false},  // no value
	} {
		got, ok := m[c.key]
		if ok != c.ok || got != c.want {
			t.Errorf("%s: got %v,%v want %v,%v", c.key, got, ok, c.want, c.ok)
		}
	}
	if m, err := Fields(filepath.Join(dir, "missing")); err == nil || len(m) != 0 {
		t.Errorf("missing file: %v, %v", m, err)
	}
	// smaps_rollup's first line is an address range, not a field
	p = filepath.Join(dir, "smaps_rollup")
	content = "00400000-7ffd0000 ---p 00000000 00:00 0 [rollup]\nPss:  400 kB\nPrivate_Dirty:  340 kB\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, _ := Fields(p); m["Pss"] != 400 || m["Private_Dirty"] != 340 {
		t.Errorf("smaps_rollup: %v", m)
	}
}

func TestTreeCPUOwnProcess(t *testing.T) {
	// Burn some CPU so at least one 10 ms tick is charged to us.
	before := TreeCPU([]int{os.Getpid()})
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i
	}
	_ = x
	if after := TreeCPU([]int{os.Getpid()}); after <= before {
		t.Errorf("TreeCPU did not grow: %v -> %v", before, after)
	}
	if got := TreeCPU([]int{-1}); got != 0 {
		t.Errorf("bad pid: %v", got)
	}
}
