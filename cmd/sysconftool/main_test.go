package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRunStatus(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "imapd.dist")
	os.WriteFile(good, []byte("##VERSION: 1\n##NAME: A:0\nA=1\n"), 0644)
	bad := filepath.Join(dir, "nover.dist")
	os.WriteFile(bad, []byte("A=1\n"), 0644)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no arguments", nil, 2},
		{"help", []string{"--help"}, 2},
		{"good file", []string{good}, 0},
		{"rerun is fine", []string{good}, 0},
		{"missing file", []string{filepath.Join(dir, "missing.dist")}, 1},
		{"bad file does not stop the others", []string{bad, good}, 1},
		{"not a .dist name", []string{filepath.Join(dir, "imapd")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("run(%v) = %d, want %d", tt.args, got, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(dir, "imapd")); err != nil || string(b) != "##VERSION: 1\n##NAME: A:0\nA=1\n" {
		t.Errorf("imapd not installed: %q %v", b, err)
	}
}
