package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Courier's dot-lock (§9.15): a unique file in tmp/ is link()ed to
// tmp/courier.lock; link is atomic on NFS too. A lock older than 120 s is
// stale and removed. While waiting we poll (Courier sleeps 1 s per retry
// or uses FAM); we poll faster so that sessions in one process stay snappy.
const (
	lockName     = "courier.lock"
	lockStale    = 120 * time.Second
	lockPoll     = 50 * time.Millisecond
	lockPollMin  = time.Millisecond
	lockMaxWait  = lockStale + 10*time.Second
	lockFileMode = 0o644
	// staleCheckEvery: how often a waiter looks whether the holder died.
	staleCheckEvery = 500 * time.Millisecond
)

// dotLock holds a folder's courier.lock, and the queue turn (-1: none)
// taken before it.
type dotLock struct {
	path   string
	queue  int
	ticket uint64 // the turn's ticket, when queue >= 0
	link   string // the lock file's other name, removed after the turn is passed on
}

// lockFolder takes dir/tmp/courier.lock, waiting while someone else holds
// a fresh one.
func (m *Maildir) lockFolder(dir string) (*dotLock, error) {
	return m.takeLock(dir, true)
}

// tryLockFolder takes the lock only if nobody holds it now; nil means
// someone does (or the attempt failed: the caller goes on without it).
func (m *Maildir) tryLockFolder(dir string) *dotLock {
	if lockHeld(dir) {
		return nil
	}
	l, _ := m.takeLock(dir, false)
	return l
}

func (m *Maildir) takeLock(dir string, wait bool) (*dotLock, error) {
	return m.takeLockFor(dir, wait, nil)
}

// takeLockFor is takeLock for a commit that offers its message to the
// sessions ahead of it (req, groupcommit.go): it returns a nil lock and
// no error when one of them delivered it (req.done), having passed the
// turn on.
func (m *Maildir) takeLockFor(dir string, wait bool, req *commitRequest) (_ *dotLock, err error) {
	tmpDir := filepath.Join(dir, "tmp")
	lp := filepath.Join(tmpDir, lockName)
	// The link's source is made before queueing: its directory
	// operations in tmp/ are then not part of anyone's turn.
	uniq := filepath.Join(tmpDir, m.uniqName("courierlock"))
	f, err := os.OpenFile(uniq, os.O_CREATE|os.O_EXCL|os.O_WRONLY, lockFileMode)
	if err != nil {
		return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
	}
	f.WriteString(strconv.Itoa(os.Getpid()) + " " + m.host + "\n")
	f.Close()
	made := time.Now()
	kept := false
	defer func() {
		if !kept {
			os.Remove(uniq)
		}
	}()
	if req != nil {
		req.queuePath = filepath.Join(tmpDir, queueFileName)
	}
	q, ticket, ok := queueLockFor(tmpDir, wait, requestFor(req))
	if !ok {
		return nil, fmt.Errorf("maildir: lock %s: %w", dir, ErrLocked)
	}
	if q >= 0 && req.checkServed(q) {
		unix.Close(q) // the turn passes on
		return nil, nil
	}
	defer func() {
		if err != nil && q >= 0 {
			unix.Close(q)
		}
	}()
	deadline := time.Now().Add(lockMaxWait)
	poll := lockPollMin
	var w *unlockWatch
	var lastCheck time.Time
	for tries := 0; ; tries++ {
		// After a wait, look before trying: a failed link() takes tmp/'s
		// directory lock for writing, the one the holder needs for its
		// own files there, and with many waiters their attempts slowed
		// the holder down (perf: a third of the sessions' kernel time
		// spinning on it). Only a due check for a dead holder tries
		// anyway.
		if tries == 0 || !lockHeld(dir) || time.Since(lastCheck) >= staleCheckEvery {
			// Others judge a lock stale by its file's mtime: one made
			// before a long wait (in the queue, or behind a Courier
			// holder) must not look old the moment it is linked.
			if now := time.Now(); now.Sub(made) > time.Second {
				os.Chtimes(uniq, now, now)
				made = now
			}
			err := os.Link(uniq, lp)
			if err == nil {
				kept = true
				l := &dotLock{path: lp, queue: q, ticket: ticket, link: uniq}
				if q < 0 && req.checkServed(-1) {
					// We gave up our place, and were served meanwhile.
					l.unlock()
					return nil, nil
				}
				return l, nil
			}
			if !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
			}
			// Is the holder gone? Asked at the first refusal (a session
			// that crashed holding the lock), then at most every
			// staleCheckEvery: with many sessions waiting on a busy
			// folder, reading the lock file on every wake-up cost more
			// than the waits.
			if now := time.Now(); now.Sub(lastCheck) >= staleCheckEvery {
				lastCheck = now
				if st, serr := os.Stat(lp); serr == nil && (time.Since(st.ModTime()) > lockStale || m.lockHolderDead(lp)) {
					// Stale: its holder died. Remove and retry at once.
					os.Remove(lp)
					continue
				}
			}
		}
		if !wait || time.Now().After(deadline) {
			return nil, fmt.Errorf("maildir: lock %s: %w", dir, ErrLocked)
		}
		// Holders keep the lock for a commit, a few milliseconds: wake
		// when courier.lock is removed (inotify, as Courier uses FAM),
		// and poll as well, from 1 ms backing off to lockPoll, for
		// filesystems whose changes inotify does not see (NFS: another
		// host's holder).
		if w == nil {
			w = watchUnlock(tmpDir)
			defer w.close()
		}
		w.wait(poll)
		poll = min(2*poll, lockPoll)
	}
}

// unlockWatch reports the removal of a tmp/ directory's courier.lock. The
// inotify descriptor waits in the runtime's poller (a read with a
// deadline), not in a blocking system call: with GOMAXPROCS=1 a thread
// blocked in poll() made the runtime's monitor take the processor back
// every 20 us, which with 50 sessions waiting cost more CPU than the
// commits they waited for.
type unlockWatch struct{ f *os.File }

// watchUnlock starts watching tmpDir; on failure the result only sleeps.
func watchUnlock(tmpDir string) *unlockWatch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return &unlockWatch{}
	}
	if _, err := unix.InotifyAddWatch(fd, tmpDir, unix.IN_DELETE|unix.IN_MOVED_FROM); err != nil {
		unix.Close(fd)
		return &unlockWatch{}
	}
	return &unlockWatch{f: os.NewFile(uintptr(fd), "inotify")}
}

// wait returns when courier.lock may have been removed, or after d.
func (w *unlockWatch) wait(d time.Duration) {
	if w.f == nil {
		time.Sleep(d)
		return
	}
	if w.f.SetReadDeadline(time.Now().Add(d)) != nil {
		time.Sleep(d)
		return
	}
	var buf [2048]byte
	for {
		n, err := w.f.Read(buf[:])
		if err != nil || n <= 0 {
			return // the deadline (or a broken watch: the caller polls)
		}
		// Other files come and go in tmp/ (lock attempts, messages
		// being written): only the lock's removal is worth another
		// link attempt.
		gone := false
		inotifyEvents(buf[:n], func(_ int32, mask uint32, name []byte) bool {
			gone = string(name) == lockName || mask&unix.IN_Q_OVERFLOW != 0
			return !gone
		})
		if gone {
			return
		}
	}
}

func (w *unlockWatch) close() {
	if w != nil && w.f != nil {
		w.f.Close()
	}
}

// lockHolderDead reports whether lp is one of our locks ("<pid> <host>")
// made on this host by a process that no longer exists, so that a crashed
// session does not block the folder for 120 s. Locks in any other form
// (Courier's) only go stale by age, which is safe on NFS.
func (m *Maildir) lockHolderDead(lp string) bool {
	b, err := readFileLimit(lp, 256)
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[1] != m.host {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

func (l *dotLock) unlock() {
	if l != nil {
		os.Remove(l.path)
		if l.queue >= 0 {
			unix.Close(l.queue)
			l.queue = -1
		}
		// Removing the file's last name frees its block, which can
		// wait for the device (discard): done after the next session
		// has its turn.
		if l.link != "" {
			os.Remove(l.link)
			l.link = ""
		}
	}
}

// lockHeld reports whether someone holds dir's dot-lock right now.
func lockHeld(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, "tmp", lockName))
	return err == nil
}
