package main

import (
	"os"
	"testing"
)

func TestParseStatm(t *testing.T) {
	page := uint64(os.Getpagesize())
	tests := []struct {
		name string
		in   string
		want uint64
		ok   bool
	}{
		{"typical", "1234 300 60 200 0 500 0\n", 240 * page, true},
		{"no newline", "1 2 1", 1 * page, true},
		{"shared above resident", "10 5 9 1 0 1 0\n", 0, true},
		{"two fields", "10 5\n", 0, false},
		{"empty", "", 0, false},
		{"letters", "10 x 3\n", 0, false},
		{"huge number", "1 12345678901234567890 1\n", 0, false},
		{"leading spaces", "  7  3  1\n", 2 * page, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseStatm([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseStatm(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestAnonRSS reads this process's own figure: a Go test binary holds
// well over 64 kB of anonymous memory and far less than 64 GB.
func TestAnonRSS(t *testing.T) {
	rss, ok := anonRSS()
	if !ok {
		t.Skip("/proc/self/statm not readable")
	}
	if rss < 64<<10 || rss > 64<<30 {
		t.Fatalf("anonRSS = %d bytes, implausible", rss)
	}
	// A second read goes through the kept fd (pread at 0).
	if rss2, ok := anonRSS(); !ok || rss2 == 0 {
		t.Fatalf("second anonRSS = %d, %v", rss2, ok)
	}
}

func FuzzParseStatm(f *testing.F) {
	f.Add([]byte("1234 300 60 200 0 500 0\n"))
	f.Add([]byte(""))
	f.Add([]byte("99999999999999999999 1 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rss, ok := parseStatm(b)
		if !ok && rss != 0 {
			t.Fatalf("not ok but rss %d", rss)
		}
	})
}
