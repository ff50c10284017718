package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// phaseTimes records where the wall-clock time of a harness run goes
// (issue 8 asks for a full run well under 30 minutes): data generation,
// server setup, and each workload on each server summed over its runs
// (copy of the data, server start, the workload itself, server stop).
// Phases keep the order in which they first appear.
type phaseTimes struct {
	start time.Time
	names []string
	dur   map[string]time.Duration
	total time.Duration // set by finish
}

func newPhaseTimes() *phaseTimes {
	return &phaseTimes{start: time.Now(), dur: map[string]time.Duration{}}
}

// add charges d to the phase name.
func (pt *phaseTimes) add(name string, d time.Duration) {
	if _, ok := pt.dur[name]; !ok {
		pt.names = append(pt.names, name)
	}
	pt.dur[name] += d
}

// since charges the time since t to name and returns now, so consecutive
// phases chain: t = pt.since("x", t).
func (pt *phaseTimes) since(name string, t time.Time) time.Time {
	now := time.Now()
	pt.add(name, now.Sub(t))
	return now
}

func (pt *phaseTimes) finish() { pt.total = time.Since(pt.start) }

// ordered lists the phases grouped: setup and data generation, copies,
// server starts and stops, then the workloads in the order they ran.
func (pt *phaseTimes) ordered() []string {
	rank := func(n string) int {
		for i, p := range []string{"server setup", "data ", "copy data", "start ", "stop "} {
			if strings.HasPrefix(n, p) {
				return i
			}
		}
		return 5
	}
	out := slices.Clone(pt.names)
	slices.SortStableFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}

// table renders the phases as Markdown rows with their share of the total.
func (pt *phaseTimes) table() string {
	if pt == nil || len(pt.names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| phase | time | share |\n|---|---|---|\n")
	for _, n := range pt.ordered() {
		d := pt.dur[n]
		share := 0.0
		if pt.total > 0 {
			share = float64(d) / float64(pt.total) * 100
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f%% |\n", n, fmtDur(d), share)
	}
	fmt.Fprintf(&b, "| **total** | **%s** | 100%% |\n", fmtDur(pt.total))
	return b.String()
}

// text renders the phases for the terminal.
func (pt *phaseTimes) text() string {
	if pt == nil || len(pt.names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("phase timings:\n")
	for _, n := range pt.ordered() {
		fmt.Fprintf(&b, "  %-28s %9s\n", n, fmtDur(pt.dur[n]))
	}
	fmt.Fprintf(&b, "  %-28s %9s\n", "total", fmtDur(pt.total))
	return b.String()
}

// fmtDur shows whole seconds above 10 s, tenths below.
func fmtDur(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
