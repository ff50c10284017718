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
)

// dotLock holds a folder's courier.lock.
type dotLock struct{ path string }

// lockFolder takes dir/tmp/courier.lock, waiting while someone else holds
// a fresh one.
func (m *Maildir) lockFolder(dir string) (*dotLock, error) {
	tmpDir := filepath.Join(dir, "tmp")
	lp := filepath.Join(tmpDir, lockName)
	uniq := filepath.Join(tmpDir, m.uniqName("courierlock"))
	f, err := os.OpenFile(uniq, os.O_CREATE|os.O_EXCL|os.O_WRONLY, lockFileMode)
	if err != nil {
		return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
	}
	f.WriteString(strconv.Itoa(os.Getpid()) + " " + m.host + "\n")
	f.Close()
	defer os.Remove(uniq)
	deadline := time.Now().Add(lockMaxWait)
	wait := lockPollMin
	for {
		err := os.Link(uniq, lp)
		if err == nil {
			return &dotLock{path: lp}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
		}
		if st, serr := os.Stat(lp); serr == nil && (time.Since(st.ModTime()) > lockStale || m.lockHolderDead(lp)) {
			// Stale: its holder died. Remove and retry at once.
			os.Remove(lp)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("maildir: lock %s: %w", dir, ErrLocked)
		}
		// Holders keep the lock for a scan or a commit, usually
		// about a millisecond: start polling fast and back off to
		// lockPoll, so that sessions contending for one folder do not
		// each lose 50 ms per command (bench stress).
		time.Sleep(wait)
		wait = min(2*wait, lockPoll)
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
	}
}

// lockHeld reports whether someone holds dir's dot-lock right now.
func lockHeld(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, "tmp", lockName))
	return err == nil
}
