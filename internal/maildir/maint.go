package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tmpMaxAge is how old (by ctime) a tmp/ file must be before a scan
// deletes it (§9.2).
const tmpMaxAge = 36 * time.Hour

// removeStaleStaged removes, from a scan's listing of cur/, the messages
// a crashed commit left waiting under stagePrefix, once as old as a stale
// tmp/ file. The scan finds them in the listing it makes anyway: a glob of
// cur/ at every session's first scan cost a SELECT of a 20,000-message
// folder a third of its time.
func (m *Maildir) removeStaleStaged(cur string, names []string) {
	now := m.now().Unix()
	for _, n := range names {
		p := filepath.Join(cur, n)
		if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() && now-ctimeOf(st) > int64(tmpMaxAge/time.Second) {
			os.Remove(p)
		}
	}
}

// cleanTmp deletes files in dir/tmp whose ctime is older than 36 h. The
// live dot-lock is never touched (it is younger than 120 s or stale).
func (m *Maildir) cleanTmp(dir string) {
	td := filepath.Join(dir, "tmp")
	names, err := readNames(td)
	if err != nil {
		return
	}
	now := m.now().Unix()
	for _, n := range names {
		p := filepath.Join(td, n)
		st, err := os.Lstat(p)
		if err != nil || st.IsDir() {
			if err == nil && st.IsDir() && now-ctimeOf(st) > int64(tmpMaxAge/time.Second) && strings.Contains(n, "_deleted") {
				os.RemoveAll(p) // leftover of an interrupted DeleteFolder
			}
			continue
		}
		if now-ctimeOf(st) > int64(tmpMaxAge/time.Second) {
			os.Remove(p)
		}
	}
	// A commit's uiddb being written lives beside the uiddb
	// (createSideTmp); one left by a crash goes after the same age.
	if side, err := filepath.Glob(filepath.Join(dir, uiddbTmpPrefix+"*")); err == nil {
		for _, p := range side {
			if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() && now-ctimeOf(st) > int64(tmpMaxAge/time.Second) {
				os.Remove(p)
			}
		}
	}
}

// CleanTmp runs the tmp/ cleanup on INBOX (pop3d does this once at login).
func (m *Maildir) CleanTmp() { m.cleanTmp(m.root) }

// EmptyTrash purges old messages (IMAP_EMPTYTRASH, §9.14). spec is "N"
// (the Trash folder, N days) or "Folder:N[,Folder2:M...]" with names
// relative to INBOX ("Trash"). For each folder new/ is moved to cur/ first,
// then messages whose ctime is older than N days (N <= 0 means 1) are
// unlinked. Quota gets a delta unless the folder is Trash.
func (m *Maildir) EmptyTrash(spec string) error {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil
	}
	type item struct {
		folder string
		days   int
	}
	var items []item
	if !strings.Contains(spec, ":") {
		d, err := strconv.Atoi(spec)
		if err != nil {
			return fmt.Errorf("maildir: IMAP_EMPTYTRASH %q: bad number", spec)
		}
		t := m.opts.TrashName
		if t == "" {
			t = "Trash"
		}
		items = append(items, item{t, d})
	} else {
		for _, part := range strings.Split(spec, ",") {
			i := strings.LastIndexByte(part, ':')
			if i <= 0 {
				continue
			}
			d, err := strconv.Atoi(strings.TrimSpace(part[i+1:]))
			if err != nil {
				continue
			}
			items = append(items, item{strings.TrimSpace(part[:i]), d})
		}
	}
	var firstErr error
	for _, it := range items {
		if it.days <= 0 {
			it.days = 1
		}
		name := "INBOX." + it.folder
		if strings.EqualFold(it.folder, "INBOX") {
			name = "INBOX"
		}
		if !m.FolderExists(name) {
			continue
		}
		dir, _ := m.FolderDir(name)
		// Move new/ to cur/ (as a scan would) without giving UIDs here.
		if nn, err := readNames(filepath.Join(dir, "new")); err == nil {
			for _, n := range nn {
				if n == "" || n[0] == '.' {
					continue
				}
				dst := n
				if !strings.Contains(n, ":") {
					dst += ":2,"
				}
				os.Rename(filepath.Join(dir, "new", n), filepath.Join(dir, "cur", dst))
			}
		}
		names, err := readNames(filepath.Join(dir, "cur"))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		limit := m.now().Unix() - int64(it.days)*86400
		var b, c int64
		for _, n := range names {
			if n == "" || n[0] == '.' {
				continue
			}
			p := filepath.Join(dir, "cur", n)
			st, err := os.Lstat(p)
			if err != nil || st.IsDir() || ctimeOf(st) >= limit {
				continue
			}
			if os.Remove(p) == nil {
				base, _, _ := splitName(n)
				s := sizeFromName(base)
				if s < 0 {
					s = st.Size()
				}
				b += s
				c++
			}
		}
		if c > 0 {
			syncDir(filepath.Join(dir, "cur"))
			if name != m.trashCanon() {
				m.quotaDelta(-b, -c)
			}
		}
	}
	return firstErr
}

// ClockSkewed reports whether the clock of the filesystem holding the
// maildir is more than 30 s off ours (reference §1.3 step 8): it creates
// tmp/courier-imap.clockskew.chk, compares its mtime with our clock and
// removes it. The check is for maildirs on a file server, whose clock
// stamps the file; on a local filesystem the stamp is our own clock and
// cannot disagree, so there it is skipped: a file created and removed in
// tmp/ is two directory updates at every login, about a twentieth of a
// session stage's start-up CPU (DESIGN §7).
func (m *Maildir) ClockSkewed() bool {
	tmp := filepath.Join(m.root, "tmp")
	if localFilesystem(tmp) {
		return false
	}
	p := filepath.Join(tmp, "courier-imap.clockskew.chk")
	f, err := os.Create(p)
	if err != nil {
		return false
	}
	f.Close()
	defer os.Remove(p)
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	d := time.Since(st.ModTime())
	return d > 30*time.Second || d < -30*time.Second
}
