package maildir

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir/acl"
)

// Maildir is an open Maildir++ root (the INBOX maildir with its folders).
// It holds no file descriptors; it is safe for use by one goroutine at a
// time (sessions are single-threaded over their store).
type Maildir struct {
	root    string
	opts    Options
	host    string
	dbCache dbCache
}

// deleteDelay is Courier's sleep(2) in DELETE/RENAME (reference §4.2,
// §9.4): a folder recreated right away must not get the same
// time-based UIDVALIDITY. Tests shorten it.
var deleteDelay = 2 * time.Second

// Open checks that root is a maildir (has cur/, new/ and tmp/) and
// returns a handle.
func Open(root string, opts Options) (*Maildir, error) {
	for _, d := range []string{"cur", "new", "tmp"} {
		st, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			return nil, fmt.Errorf("maildir: open %s: %w", root, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("maildir: open %s: %s is not a directory", root, d)
		}
	}
	m := &Maildir{root: root, opts: opts}
	m.host = opts.Hostname
	if m.host == "" {
		m.host, _ = os.Hostname()
	}
	m.host = sanitizeHost(m.host)
	if m.opts.Now == nil {
		m.opts.Now = time.Now
	}
	return m, nil
}

// sanitizeHost escapes '/' and ':' in the host part of file names, as
// the maildir specification requires ("\057", "\072").
func sanitizeHost(h string) string {
	if h == "" {
		return "localhost"
	}
	h = strings.ReplaceAll(h, "/", `\057`)
	return strings.ReplaceAll(h, ":", `\072`)
}

// Root returns the maildir's directory.
func (m *Maildir) Root() string { return m.root }

// Options returns the options the handle was opened with.
func (m *Maildir) Options() Options { return m.opts }

func (m *Maildir) now() time.Time { return m.opts.Now() }

// ValidateName checks an IMAP folder name and returns its canonical form:
// the first level is "INBOX" in any case; every personal folder lives
// under "INBOX." (reference §4.2). Empty levels (including a trailing
// separator), '/', control characters and names outside INBOX are
// ErrInvalidName. The IMAP layer handles the CREATE "INBOX.x." quirk
// itself (it answers OK and creates nothing).
func ValidateName(name string) (string, error) {
	if name == "" || len(name) > 1024 {
		return "", fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	levels := strings.Split(name, ".")
	if !strings.EqualFold(levels[0], "INBOX") {
		return "", fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	levels[0] = "INBOX"
	for _, l := range levels[1:] {
		if l == "" || strings.ContainsAny(l, "/\x00\r\n") {
			return "", fmt.Errorf("%q: %w", name, ErrInvalidName)
		}
		for _, r := range l {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%q: %w", name, ErrInvalidName)
			}
		}
	}
	return strings.Join(levels, "."), nil
}

// dirOf maps a canonical name to its directory.
func (m *Maildir) dirOf(canon string) string {
	if canon == "INBOX" {
		return m.root
	}
	return filepath.Join(m.root, canon[len("INBOX"):])
}

// FolderDir returns the directory of an IMAP folder name.
func (m *Maildir) FolderDir(name string) (string, error) {
	c, err := ValidateName(name)
	if err != nil {
		return "", err
	}
	return m.dirOf(c), nil
}

func (m *Maildir) trashCanon() string {
	if m.opts.TrashName == "" {
		return ""
	}
	return "INBOX." + m.opts.TrashName
}

// FolderExists reports whether the folder has a directory.
func (m *Maildir) FolderExists(name string) bool {
	c, err := ValidateName(name)
	if err != nil {
		return false
	}
	st, err := os.Stat(filepath.Join(m.dirOf(c), "cur"))
	return err == nil && st.IsDir()
}

// folderDirs lists the on-disk folder names (".a.b") in readdir order.
func (m *Maildir) folderDirs() ([]string, error) {
	d, err := os.Open(m.root)
	if err != nil {
		return nil, fmt.Errorf("maildir: list %s: %w", m.root, err)
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("maildir: list %s: %w", m.root, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || n == ".." || strings.Contains(n, "..") || strings.HasSuffix(n, ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(filepath.Join(m.root, n))
			isDir = err == nil && st.IsDir()
		}
		if isDir {
			out = append(out, n)
		}
	}
	return out, nil
}

// ListFolders lists every folder. Order is Courier's: real folders in
// readdir order, then INBOX, then virtual \Noselect levels (§4.2).
func (m *Maildir) ListFolders() ([]FolderInfo, error) {
	dirs, err := m.folderDirs()
	if err != nil {
		return nil, err
	}
	real := map[string]bool{"INBOX": true}
	var names []string
	for _, d := range dirs {
		n := "INBOX" + d
		real[n] = true
		names = append(names, n)
	}
	parents := map[string]bool{}
	var virtual []string
	for _, n := range names {
		for i := len(n) - 1; i > 0; i-- {
			if n[i] != '.' {
				continue
			}
			p := n[:i]
			if !parents[p] {
				parents[p] = true
				if !real[p] {
					virtual = append(virtual, p)
				}
			}
		}
	}
	sort.Strings(virtual)
	var out []FolderInfo
	for _, n := range names {
		out = append(out, FolderInfo{Name: n, HasChildren: parents[n]})
	}
	out = append(out, FolderInfo{Name: "INBOX", HasChildren: parents["INBOX"]})
	for _, v := range virtual {
		out = append(out, FolderInfo{Name: v, HasChildren: true, NoSelect: true})
	}
	return out, nil
}

// HasUnseen reports whether any message of the folder in new/ or cur/
// lacks the S flag (LIST \Marked, §4.2). It does not scan or rename.
func (m *Maildir) HasUnseen(name string) (bool, error) {
	dir, err := m.FolderDir(name)
	if err != nil {
		return false, err
	}
	for _, sub := range []string{"new", "cur"} {
		names, err := readNames(filepath.Join(dir, sub))
		if err != nil {
			return false, err
		}
		for _, n := range names {
			if n[0] == '.' {
				continue
			}
			if sub == "new" || !flagsOf(n).Has(FlagSeen) {
				return true, nil
			}
		}
	}
	return false, nil
}

// readNames lists a directory's entries except "." and "..", in readdir
// order. All names live in one backing string.
func readNames(dir string) ([]string, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", &fs.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(fd)
	// All names are copied into one arena that becomes one string, and
	// the result holds substrings of it: a folder of 100,000 messages
	// costs a few allocations instead of 100,000 (the garbage collector
	// of a GOMAXPROCS=1 session then has little to scan).
	// 8 KiB buffers (os.ReadDir's size) on the goroutine stack: 64 KiB
	// ones made a 128 KiB frame that grew every session's main stack to
	// 256 KiB, all of it zeroed and kept dirty while idle (DESIGN §7).
	var small [8 << 10]byte
	buf := small[:]
	// The directory's size bounds its names (ext4, XFS: the blocks
	// holding the entries, about 1.7 times the names of a maildir; tmpfs:
	// 20 bytes per entry, an underestimate that append then grows): the
	// arena and the end offsets start near their final size instead of
	// being copied at every doubling (a first open of 100,000 names).
	arenaCap, endsCap := 8<<10, 0
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Size > int64(arenaCap) {
		arenaCap = int(min(st.Size*5/8, 64<<20))
		endsCap = arenaCap / 32
	}
	arena := make([]byte, 0, arenaCap)
	ends := make([]int, 0, endsCap)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("maildir: readdir %s: %w", dir, err)
		}
		if n <= 0 {
			break
		}
		for off := 0; off+19 <= n; {
			// struct linux_dirent64: u64 ino, s64 off, u16 reclen,
			// u8 type, name (NUL-terminated).
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen < 19 || off+reclen > n {
				return nil, fmt.Errorf("maildir: readdir %s: bad record", dir)
			}
			name := buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			off += reclen
			if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.')) {
				continue
			}
			arena = append(arena, name...)
			ends = append(ends, len(arena))
		}
		// A big directory: the rest in 64 KiB reads from the heap (an
		// eighth of the system calls; not on the stack, see above).
		if len(buf) == len(small) && n > len(small)/2 {
			buf = make([]byte, 64<<10)
		}
	}
	if len(ends) == 0 {
		return []string{}, nil
	}
	// The arena is never written again: it becomes the string without
	// a copy.
	all := unsafe.String(&arena[0], len(arena))
	names := make([]string, len(ends))
	start := 0
	for i, e := range ends {
		names[i] = all[start:e]
		start = e
	}
	return names, nil
}

// CreateFolder creates a folder the way Courier's CREATE does (§9.1):
// the directory with tmp/new/cur, maildirfolder, courierimapuiddb (which
// fixes the UIDVALIDITY), courierimapacl with the default ACL,
// courierimapkeywords/, and courierimaphieracl/ files for virtual
// parent levels.
func (m *Maildir) CreateFolder(name string) error {
	c, err := ValidateName(name)
	if err != nil {
		return err
	}
	if c == "INBOX" {
		return ErrInboxExists
	}
	dir := m.dirOf(c)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", c, ErrFolderExists)
		}
		return fmt.Errorf("maildir: create %s: %w", c, err)
	}
	for _, sub := range []string{"tmp", "new", "cur", keywordDir} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("maildir: create %s: %w", c, err)
		}
	}
	mf, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: create %s: %w", c, err)
	}
	mf.Close()
	uidv := uint32(m.now().Unix() - imapEpoch)
	if err := m.writeFileAtomic(dir, "courierimapuiddb", formatUIDDBHeader(uidv, 1), 0o644); err != nil {
		return fmt.Errorf("maildir: create %s: %w", c, err)
	}
	// maildiracl(1): a new folder's ACL is its parent's.
	parentACL, err := m.GetACL(c[:strings.LastIndexByte(c, '.')])
	if err != nil {
		parentACL = acl.Default()
	}
	if err := m.writeFileAtomic(dir, aclFile, parentACL.Bytes(), 0o644); err != nil {
		return fmt.Errorf("maildir: create %s: %w", c, err)
	}
	// Virtual parents get a hieracl entry (Courier writes one for each
	// level that has no directory of its own).
	for i := len(c) - 1; i > len("INBOX"); i-- {
		if c[i] != '.' {
			continue
		}
		p := c[:i]
		if m.FolderExists(p) {
			continue
		}
		hname := toMUTF7(p[len("INBOX."):]) // Courier's spelling, §9.7
		hp := filepath.Join(m.root, hierACLDir, hname)
		if _, err := os.Stat(hp); err == nil {
			continue
		}
		os.MkdirAll(filepath.Join(m.root, hierACLDir), 0o755)
		if err := m.writeFileAtomic(filepath.Join(m.root, hierACLDir), hname, acl.Default().Bytes(), 0o644); err != nil {
			return fmt.Errorf("maildir: create %s: %w", c, err)
		}
	}
	return syncDir(m.root)
}

// DeleteFolder removes a folder and its messages (not its children,
// which stay as folders, making this level virtual). INBOX and Trash are
// ErrCannotDelete; a missing folder is ErrNoSuchFolder. The directory is
// first renamed into tmp/ so that it disappears atomically.
func (m *Maildir) DeleteFolder(name string) error {
	c, err := ValidateName(name)
	if err != nil {
		return err
	}
	if c == "INBOX" || c == m.trashCanon() {
		return fmt.Errorf("delete %s: %w", c, ErrCannotDelete)
	}
	if !m.FolderExists(c) {
		return fmt.Errorf("delete %s: %w", c, ErrNoSuchFolder)
	}
	dir := m.dirOf(c)
	// Quota: the deleted messages leave the maildir.
	b, n := dirUsage(dir)
	gone := filepath.Join(m.root, "tmp", m.uniqName("deleted"))
	if err := os.Rename(dir, gone); err != nil {
		return fmt.Errorf("maildir: delete %s: %w", c, err)
	}
	syncDir(m.root)
	os.RemoveAll(gone)
	if c != m.trashCanon() && (b != 0 || n != 0) {
		m.quotaDelta(-b, -n)
	}
	m.pruneHierACL()
	time.Sleep(deleteDelay)
	return nil
}

// RenameFolder renames a folder and all its children (§4.2). INBOX
// cannot be renamed (ErrInboxRename, Courier: "INBOX rename not
// implemented"). An existing target is ErrFolderExists; a source that
// neither exists nor has children is ErrNoSuchFolder (Courier itself
// answers OK there; the IMAP layer may keep that quirk).
func (m *Maildir) RenameFolder(oldName, newName string) error {
	o, err := ValidateName(oldName)
	if err != nil {
		return err
	}
	n, err := ValidateName(newName)
	if err != nil {
		return err
	}
	if o == "INBOX" {
		return ErrInboxRename
	}
	if n == "INBOX" || strings.HasPrefix(n+".", o+".") {
		return fmt.Errorf("rename %s to %s: %w", o, n, ErrInvalidName)
	}
	if m.FolderExists(n) {
		return fmt.Errorf("rename %s to %s: %w", o, n, ErrFolderExists)
	}
	dirs, err := m.folderDirs()
	if err != nil {
		return err
	}
	oldDisk := o[len("INBOX"):]
	newDisk := n[len("INBOX"):]
	type mv struct{ from, to string }
	var moves []mv
	for _, d := range dirs {
		if d == oldDisk || strings.HasPrefix(d, oldDisk+".") {
			moves = append(moves, mv{d, newDisk + d[len(oldDisk):]})
		}
	}
	if len(moves) == 0 {
		return fmt.Errorf("rename %s: %w", o, ErrNoSuchFolder)
	}
	for _, mvv := range moves {
		if _, err := os.Lstat(filepath.Join(m.root, mvv.to)); err == nil {
			return fmt.Errorf("rename %s to %s: %w", o, n, ErrFolderExists)
		}
	}
	for _, mvv := range moves {
		if err := os.Rename(filepath.Join(m.root, mvv.from), filepath.Join(m.root, mvv.to)); err != nil {
			return fmt.Errorf("maildir: rename %s: %w", mvv.from, err)
		}
	}
	syncDir(m.root)
	m.pruneHierACL()
	time.Sleep(deleteDelay)
	return nil
}

const subscribedFile = "courierimapsubscribed"

// Subscriptions returns the subscribed names, as stored (§9.1).
func (m *Maildir) Subscriptions() ([]string, error) {
	data, err := readFileLimit(filepath.Join(m.root, subscribedFile), 1<<20)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("maildir: subscriptions: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// Subscribe adds a name (it need not exist, like Courier).
func (m *Maildir) Subscribe(name string) error {
	subs, err := m.Subscriptions()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s == name {
			return nil
		}
	}
	return m.writeSubs(append(subs, name))
}

// Unsubscribe removes a name; removing a name that is not there is fine.
func (m *Maildir) Unsubscribe(name string) error {
	subs, err := m.Subscriptions()
	if err != nil {
		return err
	}
	out := subs[:0]
	for _, s := range subs {
		if s != name {
			out = append(out, s)
		}
	}
	return m.writeSubs(out)
}

func (m *Maildir) writeSubs(subs []string) error {
	var b bytes.Buffer
	for _, s := range subs {
		if strings.ContainsAny(s, "\r\n") {
			continue
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return m.writeFileAtomic(m.root, subscribedFile, b.Bytes(), 0o644)
}

// readFileLimit reads at most limit bytes of a file. The buffer is sized
// from fstat once (a 100,000-message uiddb or cache is 4-5 MB: growing a
// buffer by doubling copied and cleared it several times over); a file
// that grows while being read is still read to its end or the limit.
func readFileLimit(path string, limit int64) ([]byte, error) {
	// Raw system calls, as for message files (rawread.go): every rescan
	// of a busy folder reads the uiddb, keyword files and \Recent file,
	// and os.File's bookkeeping cost more than the reads. O_NONBLOCK in
	// rawOpen and the type check keep a FIFO or device planted in the
	// maildir from hanging or flooding the session.
	fd, err := rawOpen(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer rawClose(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errNotRegular}
	}
	size := min(st.Size+1, limit) // +1: EOF is seen without a regrowth
	if size <= 0 {
		size = min(512, limit)
	}
	b := make([]byte, 0, size)
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := min(int64(cap(b)-len(b)), limit-int64(len(b)))
		n, err := rawRead(fd, b[len(b):len(b)+int(room)])
		if err != nil {
			return b, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
	return b, nil
}

// errNotRegular: a metadata file that is not a regular file.
var errNotRegular = errors.New("not a regular file")
