package logline

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in   string
		lvl  Level
		want string
	}{
		{"INFO: LOGIN, user=alice, ip=[::ffff:127.0.0.1]", Info, "LOGIN, user=alice, ip=[::ffff:127.0.0.1]"},
		{"ERR: alice: chdir", Err, "alice: chdir"},
		{"DEBUG: Connection, ip=[::1]", Debug, "Connection, ip=[::1]"},
		{"NOTICE: Disconnected during shutdown", Notice, "Disconnected during shutdown"},
		{"WARN: 36 active connections.", Warning, "36 active connections."},
		{"ALERT: 40 maximum active connections.", Alert, "40 maximum active connections."},
		{"CRIT: x", Crit, "x"},
		{"chdir /x: No such file or directory", Err, "chdir /x: No such file or directory"},
		{"info: lower case is not a prefix", Err, "info: lower case is not a prefix"},
		{"INFO:", Info, ""},
		{"", Err, ""},
	}
	for _, tc := range tests {
		l, m := Classify(tc.in)
		if l != tc.lvl || m != tc.want {
			t.Errorf("Classify(%q) = %v %q; want %v %q", tc.in, l, m, tc.lvl, tc.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add("INFO: x")
	f.Add("WARN:")
	f.Fuzz(func(t *testing.T, s string) {
		l, m := Classify(s)
		if len(m) > len(s) || l < Emerg || l > Debug || !strings.HasSuffix(s, m) {
			t.Fatalf("Classify(%q) = %v %q", s, l, m)
		}
	})
}
