package maildir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestProbeStopsEarly: the lock-free probe scan gives up as soon as it
// knows the scan must write (no or corrupt uiddb), before it lists cur/:
// the locked scan that follows lists it anyway. cur/ is made unlistable
// (a plain file), so a probe that still lists it fails with the listing
// error instead of errNeedLock. A read-only probe writes nothing and so
// must do the whole scan.
func TestProbeStopsEarly(t *testing.T) {
	tests := []struct {
		name     string
		uiddb    string // "" = none
		ro       bool
		wantLock bool
	}{
		{name: "no uiddb", wantLock: true},
		{name: "corrupt header", uiddb: "garbage\n", wantLock: true},
		{name: "read-only no uiddb", ro: true},
		{name: "valid uiddb", uiddb: "1 1234 5\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			root := m.Root()
			if tc.uiddb != "" {
				if err := os.WriteFile(filepath.Join(root, uiddbFile), []byte(tc.uiddb), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cur := filepath.Join(root, "cur")
			if err := os.Remove(cur); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cur, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := m.scanDirProbe(root, tc.ro, 0, true)
			if got := errors.Is(err, errNeedLock); got != tc.wantLock {
				t.Fatalf("errNeedLock = %v (err %v), want %v", got, err, tc.wantLock)
			}
			if !tc.wantLock && err == nil {
				t.Fatal("probe listed an unlistable cur/ without error")
			}
		})
	}
}
