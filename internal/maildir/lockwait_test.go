package maildir

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// TestLockQueue: our sessions queue for the dot-lock on a flock of tmp/
// (lock.go). While one holds the folder lock, a non-blocking attempt
// fails; a waiter blocks in the queue (not on courier.lock, which is
// free while the queue is held by a session that has not linked yet)
// and gets the lock once the queue is released; unlock releases both.
func TestLockQueue(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	held, err := m.lockFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if held.queue < 0 {
		t.Skip("no flock on this filesystem")
	}
	if l := m.tryLockFolder(dir); l != nil {
		t.Fatal("tryLockFolder got the lock while another session held it")
	}
	held.unlock()
	if lockHeld(dir) {
		t.Fatal("courier.lock left after unlock")
	}
	l := m.tryLockFolder(dir)
	if l == nil {
		t.Fatal("tryLockFolder failed on a free folder")
	}
	l.unlock()

	// A session in the queue (flock held, courier.lock not yet linked)
	// makes the next one wait, though courier.lock does not exist.
	q, ok := queueLock(filepath.Join(dir, "tmp"), true)
	if !ok || q < 0 {
		t.Fatal("queueLock failed")
	}
	got := make(chan time.Time, 1)
	go func() {
		l, err := m.lockFolder(dir)
		if err != nil {
			t.Error(err)
		}
		got <- time.Now()
		l.unlock()
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("lockFolder did not wait for the queue")
	default:
	}
	released := time.Now()
	unix.Close(q) // as when its holder dies: the kernel drops the flock
	select {
	case at := <-got:
		if at.Before(released) {
			t.Fatal("lock taken before the queue was released")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lockFolder still waiting after the queue was released")
	}
}

// TestLockQueueCourierHolder: a holder that knows nothing of the queue
// (Courier: only courier.lock) still excludes our sessions.
func TestLockQueueCourierHolder(t *testing.T) {
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	lp := filepath.Join(dir, "tmp", lockName)
	if err := os.WriteFile(lp, []byte("courier lock\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l := m.tryLockFolder(dir); l != nil {
		t.Fatal("tryLockFolder got the lock while courier.lock existed")
	}
	got := make(chan struct{})
	go func() {
		l, err := m.lockFolder(dir)
		if err != nil {
			t.Error(err)
		}
		l.unlock()
		close(got)
	}()
	time.Sleep(30 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("lockFolder ignored courier.lock")
	default:
	}
	os.Remove(lp)
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("lockFolder still waiting after courier.lock was removed")
	}
}

// TestLockQueueStuckHolder: a session stuck in the queue's front (it holds
// the flock and never goes on) holds the others back only queueMaxWait;
// then they take the dot-lock as before the queue existed.
func TestLockQueueStuckHolder(t *testing.T) {
	defer func(old time.Duration) { queueMaxWait = old }(queueMaxWait)
	queueMaxWait = 100 * time.Millisecond
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	q, ok := queueLock(filepath.Join(dir, "tmp"), true)
	if !ok || q < 0 {
		t.Fatal("queueLock failed")
	}
	defer unix.Close(q)
	start := time.Now()
	l, err := m.lockFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	if !lockHeld(dir) {
		t.Fatal("no courier.lock after lockFolder")
	}
	l.unlock()
	if waited < queueMaxWait {
		t.Errorf("took the lock after %v, while the queue was held (max wait %v)", waited, queueMaxWait)
	}
	if waited > 5*time.Second {
		t.Errorf("waited %v for a queue stuck holder (max wait %v)", waited, queueMaxWait)
	}
}

// TestLockFreshAfterWait: a lock taken after a long wait in the queue has
// a fresh mtime, so that nobody takes it for stale (lockStale) at once.
func TestLockFreshAfterWait(t *testing.T) {
	defer func(old time.Duration) { queueMaxWait = old }(queueMaxWait)
	queueMaxWait = 1500 * time.Millisecond
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	q, ok := queueLock(filepath.Join(dir, "tmp"), true)
	if !ok || q < 0 {
		t.Fatal("queueLock failed")
	}
	defer unix.Close(q)
	l, err := m.lockFolder(dir) // waits queueMaxWait, then goes on
	if err != nil {
		t.Fatal(err)
	}
	defer l.unlock()
	st, err := os.Stat(filepath.Join(dir, "tmp", lockName))
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(st.ModTime()); age > time.Second {
		t.Errorf("courier.lock is %v old when taken", age)
	}
}
