package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProcFields(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status")
	content := "Name:\timapd\nThreads:\t6\nRssAnon:\t    1000 kB\nSigBlk:\tnot-a-number\nEmpty:\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	m := procFields(p)
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
	if len(procFields(filepath.Join(dir, "missing"))) != 0 {
		t.Error("missing file: want empty map")
	}
}

func TestTreeCPUOwnProcess(t *testing.T) {
	// Burn some CPU so at least one 10 ms tick is charged to us.
	before := treeCPU([]int{os.Getpid()})
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i
	}
	_ = x
	if after := treeCPU([]int{os.Getpid()}); after <= before {
		t.Errorf("treeCPU did not grow: %v -> %v", before, after)
	}
	if got := treeCPU([]int{-1}); got != 0 {
		t.Errorf("bad pid: %v", got)
	}
}
