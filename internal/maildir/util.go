package maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// imapEpoch is subtracted from time(NULL) to make a UIDVALIDITY
	// (Courier's IMAP_EPOCH, §9.4).
	imapEpoch  = 1000000000
	uiddbFile  = "courierimapuiddb"
	aclFile    = "courierimapacl"
	hierACLDir = "courierimaphieracl"
	keywordDir = "courierimapkeywords"
	sizeFile   = "maildirsize"
)

var uniqCounter atomic.Uint64

// uniqName makes a tmp file name in Courier's form for internal files,
// "<time>.M<usec>P<pid>_<what><N>.<host>" (§9.2).
func (m *Maildir) uniqName(what string) string {
	t := m.now()
	return fmt.Sprintf("%d.M%dP%d_%s%d.%s", t.Unix(), t.Nanosecond()/1000, os.Getpid(), what, uniqCounter.Add(1)-1, m.host)
}

// syncDir fsyncs a directory so that renames/creates/unlinks in it are
// durable.
func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("maildir: sync dir %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("maildir: sync dir %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes dir/name via <folder-of-dir>/tmp, fsync, rename
// and directory fsync. The tmp file is made in dir's own tmp/ when it has
// one (same filesystem as Courier does), else in dir.
func (m *Maildir) writeFileAtomic(dir, name string, data []byte, mode os.FileMode) error {
	return m.writeFileRename(dir, name, data, mode, true)
}

// createTmp makes a new file, to be renamed into dir, in dir's own tmp/
// when it has one (same filesystem, as Courier does), else in the
// maildir's tmp/.
func (m *Maildir) createTmp(dir string, mode os.FileMode) (*os.File, error) {
	tmpDir := filepath.Join(dir, "tmp")
	if st, err := os.Stat(tmpDir); err != nil || !st.IsDir() {
		tmpDir = filepath.Join(m.root, "tmp")
	}
	return os.OpenFile(filepath.Join(tmpDir, m.uniqName("tmp")), os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
}

// uiddbTmpPrefix starts the name of a commit's new uiddb while it is
// written (createSideTmp).
const uiddbTmpPrefix = uiddbFile + ".tmp"

// createSideTmp makes a commit's new uiddb beside the uiddb, in the
// folder's own directory, not in tmp/: renaming it into place is then a
// rename within one directory, which does not take the filesystem-wide
// rename mutex that every cross-directory rename holds while it waits
// for both directories' locks (imaptest stress, 50 sessions on one
// folder: the uiddb's rename out of tmp/ took 3.2 ms on average, 0.5 ms
// of it on a CPU, while the folder lock was held). Neither Courier nor
// we read anything but the uiddb and "."-folders there; a leftover of a
// crash is removed by cleanTmp like an old tmp/ file.
func (m *Maildir) createSideTmp(dir string, mode os.FileMode) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, uiddbTmpPrefix+m.uniqName("")), os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
}

// writeFileRename is writeFileAtomic; without sync it skips both fsyncs
// (for caches: a lost or short file is detected and ignored).
func (m *Maildir) writeFileRename(dir, name string, data []byte, mode os.FileMode, sync bool) error {
	f, err := m.createTmp(dir, mode)
	if err != nil {
		return fmt.Errorf("maildir: write %s: %w", name, err)
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: write %s: %w", name, err)
	}
	if !sync {
		return nil
	}
	return syncDir(dir)
}

func ioLimit(r io.Reader, n int64) io.Reader { return io.LimitReader(r, n) }

// sizeFromName returns the ",S=" value of a base name, or -1.
func sizeFromName(base string) int64 {
	i := strings.LastIndex(base, ",S=")
	if i < 0 {
		return -1
	}
	s := base[i+3:]
	if j := strings.IndexByte(s, ','); j >= 0 {
		s = s[:j]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// dirUsage sums message sizes and counts in dir/new and dir/cur using
// ",S=" when present, else stat (maildirquota(7)).
func dirUsage(dir string) (bytes, count int64) {
	for _, sub := range []string{"new", "cur"} {
		p := filepath.Join(dir, sub)
		names, err := readNames(p)
		if err != nil {
			continue
		}
		for _, n := range names {
			if n == "" || n[0] == '.' {
				continue
			}
			base, _, _ := splitName(n)
			s := sizeFromName(base)
			if s < 0 {
				st, err := os.Stat(filepath.Join(p, n))
				if err != nil {
					continue
				}
				s = st.Size()
			}
			bytes += s
			count++
		}
	}
	return
}

// ctimeOf returns a file's status change time.
func ctimeOf(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Sec
	}
	return fi.ModTime().Unix()
}

// maxMetaFile bounds how much of a uiddb or snapshot cache is read (a
// 1,000,000-message uiddb is about 90 MB); a larger file is hostile and
// is read truncated, which the parsers treat as a torn file.
const maxMetaFile = 256 << 20
