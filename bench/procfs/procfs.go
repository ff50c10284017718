// Package procfs reads the few /proc figures the benchmarks compare:
// CPU time of a process tree, its children, and the "Key: value [kB]"
// files (status, smaps_rollup). Shared by the harness (bench) and the
// diagnostic tool bench/session. Linux only; a process that is gone
// reads as nothing.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// TreeCPU returns the CPU time in ms used so far by roots, their reaped
// children (cutime/cstime: the per-connection chains couriertcpd or
// Dovecot's master forked and waited for) and their live descendants
// (/proc/<pid>/stat fields 14-17, in clock ticks of 10 ms).
func TreeCPU(roots []int) float64 {
	ticks := 0.0
	seen := map[int]bool{}
	var add func(pid int)
	add = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		f, ok := StatFields(pid)
		if !ok {
			return
		}
		// f[0] is field 3 (state): utime, stime, cutime, cstime are
		// fields 14..17
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseFloat(f[k], 64)
			ticks += v
		}
		for _, c := range ChildPids(pid) {
			add(c)
		}
	}
	for _, r := range roots {
		add(r)
	}
	return ticks * 10
}

// StatFields returns the fields of /proc/pid/stat after the command name
// (which may hold spaces and parentheses), starting with the state.
func StatFields(pid int) ([]string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(string(b)[i+1:])
	return f, len(f) >= 15
}

// ChildPids lists the live children of pid (all its threads').
func ChildPids(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Fields reads a "Key: value [kB]" file such as /proc/pid/status or
// /proc/pid/smaps_rollup into numbers by key (kB for sizes, counts for
// Threads and the like); lines whose value is not a number are left out.
func Fields(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if x, err := strconv.ParseFloat(f[0], 64); err == nil {
			m[k] = x
		}
	}
	return m, nil
}
