package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocourier/internal/testenv"
)

func TestSameAsCourier(t *testing.T) {
	ref := testenv.CourierBin(t, "usr/bin/maildiracl")
	mk := testenv.CourierBin(t, "usr/bin/maildirmake.courier")
	ours := testenv.GoBuild(t, ".", "maildiracl")
	steps := [][]string{
		{"-list", "M", "INBOX"},
		{"-set", "M", "INBOX", "user=bob", "lr"},
		{"-set", "M", "INBOX", "user=bob", "+w"},
		{"-set", "M", "INBOX", "-user=bob", "r"},
		{"-set", "M", "INBOX.Sent", "anyone", "l"},
		{"-set", "M", "INBOX", "owner", "lr"},
		{"-set", "M", "INBOX", "-owner", "a"},
		{"-list", "M", "INBOX"},
		{"-list", "M", "INBOX.Sent"},
		{"-compute", "M", "INBOX", "owner", "user=bob"},
		{"-compute", "M", "INBOX", "user=bob"},
		{"-compute", "M", "INBOX.Sent", "user=carol"},
		{"-delete", "M", "INBOX", "user=bob"},
		{"-list", "M", "INBOX"},
	}
	run := func(bin string) string {
		d := t.TempDir()
		exec.Command(mk, filepath.Join(d, "M")).Run()
		exec.Command(mk, "-f", "Sent", filepath.Join(d, "M")).Run()
		var out []string
		for _, s := range steps {
			cmd := exec.Command(bin, s...)
			cmd.Dir = d
			o, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			out = append(out, fmt.Sprintf("%v -> %d\n%s", s, code, o))
		}
		for _, f := range []string{"M/courierimapacl", "M/.Sent/courierimapacl"} {
			b, _ := os.ReadFile(filepath.Join(d, f))
			out = append(out, f+":\n"+string(b))
		}
		return strings.Join(out, "")
	}
	if a, b := run(ref), run(ours); a != b {
		t.Errorf("courier:\n%s\nours:\n%s", a, b)
	}
}
