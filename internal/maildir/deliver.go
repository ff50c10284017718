package maildir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Deliver stores a message into dir/new as a delivery agent does
// (deliverquota, §9.2): written to dir/tmp as-is (no line-end
// conversion), fsynced, named "<time>.M<usec>P<pid>V<dev>I<ino>.<host>,S=<size>"
// and renamed into new/ (no lock, the rename is atomic). dir is the root
// or one of its folder directories. With checkQuota the quota is enforced
// (ErrOverQuota); the maildirsize delta is always recorded. It returns
// the new file's path.
func (m *Maildir) Deliver(dir string, r io.Reader, checkQuota bool) (string, error) {
	p, err := m.writeTmpNamed(dir, r, false, false)
	if err != nil {
		return "", err
	}
	if checkQuota {
		if err := m.checkQuota(p.size, 1); err != nil {
			os.Remove(p.tmp)
			return "", err
		}
	}
	dst := filepath.Join(dir, "new", p.base)
	if err := os.Rename(p.tmp, dst); err != nil {
		os.Remove(p.tmp)
		return "", fmt.Errorf("maildir: deliver: %w", err)
	}
	if err := syncDir(filepath.Join(dir, "new")); err != nil {
		return "", err
	}
	m.quotaDelta(p.size, 1)
	return dst, nil
}
