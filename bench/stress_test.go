package main

import (
	"strings"
	"testing"
)

// TestStressObserve checks that the stress client's response checks can
// fail: UID order within a FETCH response, and its view of EXISTS.
func TestStressObserve(t *testing.T) {
	cases := []struct {
		name       string
		lines      []string
		wantErrs   int
		wantExists int
		wantMaxUID int
	}{
		{"ascending", []string{"* 1 FETCH (UID 3 FLAGS ())", "* 2 FETCH (UID 7 FLAGS ())"}, 0, 10, 7},
		{"descending UID", []string{"* 1 FETCH (UID 9 FLAGS ())", "* 2 FETCH (UID 7 FLAGS ())"}, 1, 10, 9},
		{"equal UID for two seqs", []string{"* 1 FETCH (FLAGS () UID 4)", "* 2 FETCH (FLAGS () UID 4)"}, 1, 10, 4},
		{"one seq two UIDs", []string{"* 2 FETCH (UID 4)", "* 2 FETCH (UID 5)"}, 1, 10, 5},
		{"out of order lines, consistent", []string{"* 2 FETCH (UID 8)", "* 1 FETCH (UID 5)"}, 0, 10, 8},
		{"expunge skips the check", []string{"* 1 FETCH (UID 9)", "* 3 EXPUNGE", "* 2 FETCH (UID 7)"}, 0, 9, 9},
		{"exists and uidnext", []string{"* 12 EXISTS", "* OK [UIDNEXT 40] next"}, 0, 12, 39},
		{"no UID item", []string{"* 1 FETCH (FLAGS (\\Seen))", "* 2 FETCH (FLAGS ())"}, 0, 10, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &stressLog{}
			s := &stressClient{c: &imapConn{lines: tc.lines}, log: log, exists: 10}
			s.observe("FETCH")
			if log.n != tc.wantErrs {
				t.Errorf("errors = %d (%s), want %d", log.n, strings.Join(log.first, "; "), tc.wantErrs)
			}
			if s.exists != tc.wantExists {
				t.Errorf("exists = %d, want %d", s.exists, tc.wantExists)
			}
			if s.maxUID != tc.wantMaxUID {
				t.Errorf("maxUID = %d, want %d", s.maxUID, tc.wantMaxUID)
			}
		})
	}
}
