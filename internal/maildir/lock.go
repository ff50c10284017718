package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	f.Close()
	defer os.Remove(uniq)
	deadline := time.Now().Add(lockMaxWait)
	for {
		err := os.Link(uniq, lp)
		if err == nil {
			return &dotLock{path: lp}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("maildir: lock %s: %w", dir, err)
		}
		if st, serr := os.Stat(lp); serr == nil && time.Since(st.ModTime()) > lockStale {
			// Stale: its holder died. Remove and retry at once.
			os.Remove(lp)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("maildir: lock %s: %w", dir, ErrLocked)
		}
		time.Sleep(lockPoll)
	}
}

func (l *dotLock) unlock() {
	if l != nil {
		os.Remove(l.path)
	}
}
