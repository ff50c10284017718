package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gocourier/internal/maildir/acl"
)

// aclPath returns where a folder's ACL lives: <dir>/courierimapacl for a
// real folder (INBOX: the root), courierimaphieracl/<name> for a virtual
// level (§9.7).
func (m *Maildir) aclPath(name string) (string, string, error) {
	c, err := ValidateName(name)
	if err != nil {
		return "", "", err
	}
	if c == "INBOX" || m.FolderExists(c) {
		d := m.dirOf(c)
		return d, aclFile, nil
	}
	return filepath.Join(m.root, hierACLDir), toMUTF7(c[len("INBOX."):]), nil
}

// GetACL returns a folder's ACL. A folder without a stored ACL has its
// parent's (maildiracl(1): "a new folder's ACL is the same as its
// parent's"), up to INBOX, whose default is acl.Default().
func (m *Maildir) GetACL(name string) (acl.List, error) {
	dir, file, err := m.aclPath(name)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c, _ := ValidateName(name)
			if c == "INBOX" {
				return acl.Default(), nil
			}
			return m.GetACL(c[:strings.LastIndexByte(c, '.')])
		}
		return nil, fmt.Errorf("maildir: acl of %s: %w", name, err)
	}
	defer fh.Close()
	l, err := acl.Parse(ioLimit(fh, 1<<20))
	if err != nil {
		return nil, err
	}
	return l, nil
}

// SetACL stores a folder's ACL (atomically). The administrators entry
// and the owner's "a" right cannot be removed through IMAP; that policy
// belongs to the caller (Courier: "Cannot modify ACLs on this mailbox").
func (m *Maildir) SetACL(name string, l acl.List) error {
	dir, file, err := m.aclPath(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("maildir: acl of %s: %w", name, err)
	}
	return m.writeFileAtomic(dir, file, l.Bytes(), 0o644)
}

// MyRights computes who's ACL2 rights on a folder (ACL2=UNION, §9.7).
func (m *Maildir) MyRights(name string, who acl.Identity) (string, error) {
	l, err := m.GetACL(name)
	if err != nil {
		return "", err
	}
	return l.Rights(who), nil
}

// pruneHierACL removes courierimaphieracl entries for levels that no
// longer have any folder below them (Courier prunes at open).
func (m *Maildir) pruneHierACL() {
	hd := filepath.Join(m.root, hierACLDir)
	names, err := readNames(hd)
	if err != nil {
		return
	}
	dirs, err := m.folderDirs()
	if err != nil {
		return
	}
	for _, n := range names {
		keep := false
		for _, d := range dirs {
			if strings.HasPrefix(d[1:]+".", n+".") || strings.HasPrefix(toMUTF7(d[1:])+".", n+".") {
				keep = true
				break
			}
		}
		if !keep {
			os.Remove(filepath.Join(hd, n))
		}
	}
}

// ResetACLs removes stale courierimaphieracl entries (maildiracl -reset).
func (m *Maildir) ResetACLs() error {
	m.pruneHierACL()
	return nil
}
