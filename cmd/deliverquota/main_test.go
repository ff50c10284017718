package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gocourier/internal/testenv"
)

// state summarises a maildir: maildirsize and the new/ files with the
// volatile parts of their names (time, pid, inode, host) removed.
func state(t *testing.T, root string) string {
	var out []string
	b, _ := os.ReadFile(filepath.Join(root, "maildirsize"))
	out = append(out, strings.ReplaceAll(string(b), "\n", "$"))
	re := regexp.MustCompile(`^\d+\.M\d+P\d+V[0-9A-F]{16}I[0-9A-F]{16}\.[^,]+(,S=\d+)$`)
	for _, sub := range []string{"new", ".F/new"} {
		ents, _ := os.ReadDir(filepath.Join(root, sub))
		var names []string
		for _, e := range ents {
			n := e.Name()
			if m := re.FindStringSubmatch(n); m != nil {
				n = "NAME" + m[1]
			}
			data, _ := os.ReadFile(filepath.Join(root, sub, e.Name()))
			names = append(names, sub+"/"+n+" "+fmt.Sprint(len(data)))
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return strings.Join(out, "\n")
}

func TestSameAsCourier(t *testing.T) {
	ref := testenv.CourierBin(t, "usr/bin/deliverquota.courier")
	mk := testenv.CourierBin(t, "usr/bin/maildirmake.courier")
	ours := testenv.GoBuild(t, ".", "deliverquota")
	run := func(bin string) string {
		d := t.TempDir()
		root := filepath.Join(d, "M")
		exec.Command(mk, "-q", "100S,3C", root).Run()
		exec.Command(mk, "-f", "F", root).Run()
		var codes []string
		for i, c := range []struct{ dir, body string }{
			{root, "Subject: 1\n\nhello\n"},
			{root, "Subject: 2\r\n\r\ncrlf kept\r\n"},
			{filepath.Join(root, ".F"), "Subject: 3\n\nfolder\n"},
			{root, "Subject: 4\n\nover count\n"},
			{filepath.Join(root, ".F"), strings.Repeat("x", 200)},
		} {
			cmd := exec.Command(bin, c.dir)
			cmd.Stdin = strings.NewReader(c.body)
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			codes = append(codes, fmt.Sprintf("%d:%d", i, code))
		}
		return strings.Join(codes, " ") + "\n" + state(t, root)
	}
	a, b := run(ref), run(ours)
	if a != b {
		t.Errorf("courier:\n%s\nours:\n%s", a, b)
	}
	if !strings.Contains(a, "3:75") {
		t.Errorf("no over-quota case exercised:\n%s", a)
	}
}
