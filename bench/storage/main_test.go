package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole benchmark on a tiny folder: our storage API
// always, Courier's imapd when installed (skip unless CI=true), our imapd
// when STORAGE_BENCH_IMAPD names a binary. It checks that every operation
// was measured and the report renders, not the speed.
func TestSmoke(t *testing.T) {
	cfg := Config{N: 30, Batch: 5, Runs: 1, Work: t.TempDir(), Log: io.Discard}
	if testing.Verbose() {
		cfg.Log = os.Stderr
	}
	const courier = "/opt/courier-ref/root/usr/bin/imapd"
	if _, err := os.Stat(courier); err == nil {
		cfg.CourierBin = courier
		cfg.CourierAppendSample = 2
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("Courier reference missing (scripts/courier-ref.sh install): %v", err)
	} else {
		t.Log("Courier reference not installed; API only")
	}
	cfg.OursBin = os.Getenv("STORAGE_BENCH_IMAPD")
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	if cfg.CourierBin != "" {
		want++
	}
	if cfg.OursBin != "" {
		want++
	}
	if len(res) != want {
		t.Fatalf("%d implementations measured, want %d: %v", len(res), want, res)
	}
	for name, ops := range res {
		for _, op := range Ops {
			if len(ops[op]) != 1 || ops[op][0] <= 0 {
				t.Errorf("%s %s: %v", name, op, ops[op])
			}
		}
	}
	rep := Report(cfg, res)
	for _, op := range Ops {
		if !strings.Contains(rep, "| "+op+" |") {
			t.Errorf("report lacks %s:\n%s", op, rep)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{3, 1}, 3},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
