package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gocourier/internal/testenv"
)

// TestSameAsCourier runs the same keyword edits with both tools, and
// each tool's -L on the other's result, and compares.
func TestSameAsCourier(t *testing.T) {
	ref := testenv.CourierBin(t, "usr/bin/maildirkw")
	mk := testenv.CourierBin(t, "usr/bin/maildirmake.courier")
	ours := testenv.GoBuild(t, ".", "maildirkw")
	steps := [][]string{
		{"M", "1700000000.M1P1.x:2,S", "Junk", "Foo"},
		{"-a", "M", "1700000000.M1P1.x", "Bar", "junk"},
		{"M", "1700000001.M1P1.x", "One"},
		{"-r", "M", "1700000000.M1P1.x:2,S", "foo"},
		{"-L", "M"},
		{"-c", "-r", "M", "1700000001.M1P1.x", "one"},
		{"-L", "M"},
		{"-l", "M", "1700000001.M1P1.x"},
		{"-L", "M"},
	}
	run := func(bin, lister string) string {
		d := t.TempDir()
		exec.Command(mk, filepath.Join(d, "M")).Run()
		os.WriteFile(filepath.Join(d, "M/cur/1700000000.M1P1.x:2,S"), []byte("a\n"), 0o644)
		os.WriteFile(filepath.Join(d, "M/cur/1700000001.M1P1.x:2,"), []byte("b\n"), 0o644)
		var out []string
		for _, s := range steps {
			b := bin
			if s[0] == "-L" {
				b = lister
			}
			cmd := exec.Command(b, s...)
			cmd.Dir = d
			o, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			lines := strings.Split(strings.TrimSpace(string(o)), "\n")
			sort.Strings(lines) // Courier lists in readdir order
			out = append(out, fmt.Sprintf("%v -> %d\n%s\n", s, code, strings.Join(lines, "\n")))
		}
		return strings.Join(out, "")
	}
	want := run(ref, ref)
	for _, c := range []struct{ name, bin, lister string }{{"ours", ours, ours}, {"ours listed by courier", ours, ref}, {"courier listed by ours", ref, ours}} {
		if got := run(c.bin, c.lister); got != want {
			t.Errorf("%s:\n%s\ncourier:\n%s", c.name, got, want)
		}
	}
}
