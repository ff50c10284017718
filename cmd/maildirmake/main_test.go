package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gocourier/internal/testenv"
)

// tree lists "mode size relpath" for everything under dir.
func tree(t *testing.T, dir string) string {
	var lines []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, fi.Mode().String()+" "+rel)
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			lines = append(lines, "  "+strings.ReplaceAll(string(b), "\n", "$"))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// usesShared reports whether a command line uses --add/--del (or none).
func usesShared(args []string) bool {
	if len(args) == 0 {
		return true
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--add") || strings.HasPrefix(a, "--del") {
			return true
		}
	}
	return false
}

// TestSameAsCourier runs the same command lines with Courier's
// maildirmake and ours and compares the trees, contents and exit codes.
func TestSameAsCourier(t *testing.T) {
	ref := testenv.CourierBin(t, "usr/bin/maildirmake.courier")
	ours := testenv.GoBuild(t, ".", "maildirmake")
	scripts := [][][]string{
		{{"M"}},
		{{"M"}, {"M"}},
		{{"-q", "1000S,10C", "M"}},
		{{"M"}, {"-q", "5000S", "M"}},
		{{"M"}, {"-f", "Drafts.Urgent", "M"}, {"-f", "Drafts.Urgent", "M"}},
		{{"-S", "M"}, {"-s", "write", "-f", "Weekly", "M"}, {"-s", "read,group", "-f", "R", "M"}, {"-s", "read", "-f", "P", "M"}},
		{{"-f", "X", "missing"}},
		{{}},
		// --add / --del (shared-maildirs, reference §9.11)
		{{"M"}, {"--add", "pub=/tmp", "M"}, {"--add", "pub=/", "M"}, {"--add", "two=/", "M"}, {"--del", "pub", "M"}, {"--del", "pub", "M"}},
		{{"M"}, {"--add", "a.b=/tmp", "M"}, {"--add", "a/b=/tmp", "M"}, {"--add", "rel=tmp", "M"}, {"--add", "noeq", "M"}, {"--add", "x=/nonexistent-dir", "M"}},
		{{"M"}, {"--add", "a b=/tmp", "M"}, {"--add", "a=/tmp", "M"}, {"--del", "a", "M"}, {"--add", "=/tmp", "M"}, {"--add", "\u00e9t\u00e9=/", "M"}},
		{{"M"}, {"--del", "x", "M"}, {"--add", "x=/tmp", "missing"}, {"--add", "x=/tmp"}, {"--del", "x"}},
		{{"M"}, {"--add", "x=/tmp", "--add", "y=/", "M"}, {"--del", "x", "--add", "z=/", "M"}, {"--add", "w=/", "-f", "F", "M"}, {"--add", "v=/", "M", "extra"}},
		{{"M"}, {"--add=x=/tmp", "M"}, {"--add", "", "M"}},
	}
	for i, sc := range scripts {
		run := func(bin string) string {
			d := t.TempDir()
			var codes []string
			for _, args := range sc {
				cmd := exec.Command(bin, args...)
				cmd.Dir = d
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
				codes = append(codes, strings.Join(args, " ")+" -> "+string(rune('0'+code)))
				if usesShared(args) { // output compared for the §9.11 options
					codes = append(codes, "out: "+stdout.String(), "err: "+stderr.String())
				}
			}
			return strings.Join(codes, "\n") + "\n" + tree(t, d)
		}
		if a, b := run(ref), run(ours); a != b {
			t.Errorf("script %d differs:\ncourier:\n%s\nours:\n%s", i, a, b)
		}
	}
}
