package maildir

import (
	"sort"
	"testing"
	"time"
)

// TestLockWaitShort: a session waiting for a folder lock that is released
// after a millisecond or two gets it well before the 50 ms poll interval
// (median of several trials, so one slow wake-up on a loaded machine does
// not decide).
func TestLockWaitShort(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	var waits []time.Duration
	for i := 0; i < 9; i++ {
		held, err := m.lockFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(2 * time.Millisecond)
			held.unlock()
		}()
		start := time.Now()
		l, err := m.lockFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, time.Since(start))
		l.unlock()
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	if med := waits[len(waits)/2]; med >= lockPoll/2 {
		t.Errorf("median lock wait %v (all %v), want < %v", med, waits, lockPoll/2)
	}
}
