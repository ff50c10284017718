package maildir

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"sync"
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

// lockedWithQueue makes a maildir and takes its INBOX lock through the
// queue; the test is skipped where the filesystem has no queue.
func lockedWithQueue(t *testing.T) (*Maildir, string, *dotLock) {
	t.Helper()
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	held, err := m.lockFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if held.queue < 0 {
		t.Skip("no lock queue on this filesystem")
	}
	return m, dir, held
}

// TestLockQueue: our sessions queue for the dot-lock in the ticket queue
// of tmp/ (lockqueue.go). While one holds the folder lock, a non-blocking attempt
// fails; a waiter blocks in the queue (not on courier.lock, which is
// free while the queue is held by a session that has not linked yet)
// and gets the lock once the queue is released; unlock releases both.
func TestLockQueue(t *testing.T) {
	m, dir, held := lockedWithQueue(t)
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

	// A session in the queue (its turn, courier.lock not yet linked)
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
	unix.Close(q) // as when its holder dies: the kernel drops its locks
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

// stuckQueue makes a maildir whose queue has a session that took its turn
// and never goes on, with queueMaxWait set to maxWait for the test.
func stuckQueue(t *testing.T, maxWait time.Duration) (*Maildir, string) {
	t.Helper()
	old := queueMaxWait
	queueMaxWait = maxWait
	t.Cleanup(func() { queueMaxWait = old })
	m := newMaildir(t, Options{UseLocks: true})
	dir := m.Root()
	q, ok := queueLock(filepath.Join(dir, "tmp"), true)
	if !ok || q < 0 {
		t.Fatal("queueLock failed")
	}
	t.Cleanup(func() { unix.Close(q) })
	return m, dir
}

// TestLockQueueStuckHolder: a session stuck in the queue's front (it has
// its turn and never goes on) holds the others back only queueMaxWait;
// then they take the dot-lock as before the queue existed.
func TestLockQueueStuckHolder(t *testing.T) {
	m, dir := stuckQueue(t, 100*time.Millisecond)
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
	m, dir := stuckQueue(t, 1500*time.Millisecond)
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

// TestLockQueueFIFO: sessions get the folder lock in the order they
// queued for it, each woken by the release of the one before (the flock
// queue this replaced let any waiter win, and one session could lose over
// and over: imaptest stress APPENDs waiting over a second).
func TestLockQueueFIFO(t *testing.T) {
	m, dir, held := lockedWithQueue(t)
	qf := filepath.Join(dir, "tmp", queueFileName)
	nextTicket := func() uint64 {
		b, _ := os.ReadFile(qf)
		if len(b) < 8 {
			return 0
		}
		return binary.LittleEndian.Uint64(b)
	}
	first := nextTicket() // the holder's ticket is first-1
	const n = 6
	order := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l, err := m.lockFolder(dir)
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			time.Sleep(2 * time.Millisecond)
			l.unlock()
		}(i)
		// Waiter i has queued once it has taken its ticket.
		deadline := time.Now().Add(5 * time.Second)
		for nextTicket() != first+uint64(i)+1 {
			if time.Now().After(deadline) {
				t.Fatalf("waiter %d took no ticket", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	held.unlock()
	wg.Wait()
	close(order)
	var got []int
	for i := range order {
		got = append(got, i)
	}
	for i, w := range got {
		if w != i {
			t.Fatalf("lock order %v, want 0..%d in turn", got, n-1)
		}
	}
	if len(got) != n {
		t.Fatalf("%d of %d waiters got the lock", len(got), n)
	}
}

// TestLockQueueHostileFile: whatever sits at tmp/courier.lock.queue (a
// directory, a symlink to elsewhere, a file full of garbage) the folder
// lock still works: the queue is skipped, or its counter taken as any
// number, and nothing outside tmp/ is written.
func TestLockQueueHostileFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, qf string)
	}{
		{"directory", func(t *testing.T, qf string) { os.Mkdir(qf, 0o755) }},
		{"symlink", func(t *testing.T, qf string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			os.WriteFile(target, []byte("keep"), 0o644)
			os.Symlink(target, qf)
			t.Cleanup(func() {
				if b, _ := os.ReadFile(target); string(b) != "keep" {
					t.Errorf("symlink target written: %q", b)
				}
			})
		}},
		{"garbage", func(t *testing.T, qf string) { os.WriteFile(qf, []byte("\xff\xff\xff\xff\xff\xff\xff\xffjunk"), 0o644) }},
		{"empty", func(t *testing.T, qf string) { os.WriteFile(qf, nil, 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true})
			dir := m.Root()
			tc.make(t, filepath.Join(dir, "tmp", queueFileName))
			for i := 0; i < 3; i++ {
				l, err := m.lockFolder(dir)
				if err != nil {
					t.Fatal(err)
				}
				if other := m.tryLockFolder(dir); other != nil {
					t.Fatal("a second lock while the first is held")
				}
				l.unlock()
			}
		})
	}
}
