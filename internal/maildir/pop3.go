package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir/pop3list"
)

// POP3Message is one message of a POP3 drop, in Courier's order (§9.10).
type POP3Message struct {
	Name   string // file name in cur/ (with ":2,flags")
	Size   int64  // CRLF size as POP3 reports it (LIST, STAT, RETR)
	UIDL   string // "UID<n>-<uidv>"
	IsUTF8 bool   // 8-bit header (Courier's SMTPUTF8 guess)
}

// POP3Drop is the INBOX as a POP3 maildrop. It holds an exclusive lock:
// flock(LOCK_EX|LOCK_NB) on the maildir directory itself, so a second
// POP3 session of ours on the same maildrop gets ErrLocked. Courier's own
// pop3d 5.0.13 takes no POP3 lock at all, so a Courier pop3d running
// beside us is not excluded (exactly as two Courier pop3d's are not);
// Courier's sessions and ours still agree on UIDLs through the shared
// courierpop3dsizelist.
type POP3Drop struct {
	m    *Maildir
	lock int
	msgs []POP3Message
	del  []bool
}

const pop3ListFile = "courierpop3dsizelist"

// OpenPOP3 opens the maildrop: takes the POP3 lock, cleans tmp/, moves
// new/ to cur/, lists cur/ sorted like Courier, matches the sizelist,
// assigns UIDs to new messages (uidv = time(NULL) of the list's creation,
// no epoch), computes their CRLF sizes and saves the list (via tmp/ and
// rename). If the list cannot be saved, new messages are hidden (Courier's
// disk-full rule, §9.10).
func (m *Maildir) OpenPOP3() (*POP3Drop, error) {
	fd, err := unix.Open(m.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("maildir: pop3 lock: %w", err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("maildir: pop3 lock: %w", err)
	}
	d := &POP3Drop{m: m, lock: fd}
	if err := d.load(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *POP3Drop) load() error {
	m := d.m
	m.cleanTmp(m.root)
	cur := filepath.Join(m.root, "cur")
	newDir := filepath.Join(m.root, "new")
	if nn, err := readNames(newDir); err == nil {
		for _, n := range nn {
			if n == "" || n[0] == '.' {
				continue
			}
			dst := n
			if !strings.Contains(n, ":") {
				dst += ":2,"
			}
			os.Rename(filepath.Join(newDir, n), filepath.Join(cur, dst))
		}
		syncDir(cur)
	}
	names, err := readNames(cur)
	if err != nil {
		return err
	}
	var files []string
	for _, n := range names {
		if n != "" && n[0] != '.' {
			files = append(files, n)
		}
	}
	sort.Slice(files, func(i, j int) bool { return pop3list.Compare(files[i], files[j]) < 0 })
	data, err := readFileLimit(filepath.Join(m.root, pop3ListFile), 256<<20)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("maildir: read %s: %w", pop3ListFile, err)
	}
	prev := pop3list.Parse(data)
	save := prev.OK && prev.Version != pop3list.Version
	nextUID, uidv := uint64(1), uint64(m.now().Unix())
	if prev.OK {
		nextUID = prev.NextUID
		if prev.UIDV != 0 {
			uidv = prev.UIDV
		}
	} else {
		prev.Entries = nil
	}
	old := prev.Entries
	sort.SliceStable(old, func(i, j int) bool { return pop3list.Compare(old[i].Name, old[j].Name) < 0 })
	entries := make([]pop3list.Entry, 0, len(files))
	isNew := make([]bool, 0, len(files))
	k := 0
	for _, fn := range files {
		for k < len(old) && pop3list.Compare(old[k].Name, fn) < 0 {
			k++
			save = true
		}
		if k < len(old) && pop3list.Compare(old[k].Name, fn) == 0 {
			e := old[k]
			if e.Name != fn {
				save = true
			}
			e.Name = fn
			entries = append(entries, e)
			isNew = append(isNew, false)
			k++
			continue
		}
		e := pop3list.Entry{Name: fn, UID: nextUID, UIDV: uidv}
		nextUID++
		if fh, err := os.Open(filepath.Join(cur, fn)); err == nil {
			// Courier's size is bytes + LFs; its "+2 for a missing
			// final newline" never applies (its seek fails), so
			// neither does ours: sizes must match Courier's.
			n, _, utf8, _ := scanMessage(fh)
			fh.Close()
			e.Size, e.IsUTF8 = n, utf8
		}
		entries = append(entries, e)
		isNew = append(isNew, true)
		save = true
	}
	if k < len(old) {
		save = true
	}
	if save {
		if err := m.writeFileAtomic(m.root, pop3ListFile, pop3list.Format(nextUID, uidv, entries), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "ERR: Error while saving courierpop3dsizelist, user=%s\n", os.Getenv("AUTHENTICATED"))
			var kept []pop3list.Entry
			for i, e := range entries {
				if !isNew[i] {
					kept = append(kept, e)
				}
			}
			entries = kept
		}
	}
	for _, e := range entries {
		d.msgs = append(d.msgs, POP3Message{Name: e.Name, Size: e.Size, UIDL: pop3list.UIDL(e.UID, e.UIDV), IsUTF8: e.IsUTF8})
	}
	d.del = make([]bool, len(d.msgs))
	return nil
}

// Messages returns the drop's messages (index i is POP3 message i+1).
func (d *POP3Drop) Messages() []POP3Message { return append([]POP3Message(nil), d.msgs...) }

// Open opens message i (0-based) for RETR/TOP.
func (d *POP3Drop) Open(i int) (*os.File, error) {
	if i < 0 || i >= len(d.msgs) {
		return nil, ErrNoSuchMessage
	}
	fh, err := os.Open(filepath.Join(d.m.root, "cur", d.msgs[i].Name))
	if errors.Is(err, fs.ErrNotExist) && d.relocate(i) {
		fh, err = os.Open(filepath.Join(d.m.root, "cur", d.msgs[i].Name))
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: pop3 open: %w", err)
	}
	return fh, nil
}

// relocate finds message i again after another process (an IMAP session,
// Courier's imapd, a mail client's flag change) renamed it within cur/:
// a flag change keeps the base name and only rewrites the ":2,..." part.
// It reports whether the file was found under a new name.
func (d *POP3Drop) relocate(i int) bool {
	base, _, _ := splitName(d.msgs[i].Name)
	ents, err := os.ReadDir(filepath.Join(d.m.root, "cur"))
	if err != nil {
		return false
	}
	for _, e := range ents {
		if b, _, _ := splitName(e.Name()); b == base {
			d.msgs[i].Name = e.Name()
			return true
		}
	}
	return false
}

// MarkSeen adds the S flag to message i after a RETR (Courier does this,
// not for TOP, and only for ":2," names). Failures are ignored.
func (d *POP3Drop) MarkSeen(i int) {
	if i < 0 || i >= len(d.msgs) {
		return
	}
	n := d.msgs[i].Name
	base, info, has := splitName(n)
	if has && (!strings.HasPrefix(info, "2,") || strings.Contains(info, "S")) {
		return
	}
	nn := withFlags(base, flagsOf(n)|FlagSeen)
	if os.Rename(filepath.Join(d.m.root, "cur", n), filepath.Join(d.m.root, "cur", nn)) == nil {
		d.msgs[i].Name = nn
	}
}

// Delete unlinks the given messages (0-based; applied at QUIT) and
// records the quota delta. It returns the first error but tries all.
func (d *POP3Drop) Delete(idx []int) error {
	var firstErr error
	var b, c int64
	for _, i := range idx {
		if i < 0 || i >= len(d.msgs) || d.del[i] {
			continue
		}
		p := filepath.Join(d.m.root, "cur", d.msgs[i].Name)
		base, _, _ := splitName(d.msgs[i].Name)
		sz := sizeFromName(base)
		if sz < 0 {
			if st, err := os.Stat(p); err == nil {
				sz = st.Size()
			}
		}
		err := os.Remove(p)
		if errors.Is(err, fs.ErrNotExist) && d.relocate(i) {
			p = filepath.Join(d.m.root, "cur", d.msgs[i].Name)
			err = os.Remove(p)
		}
		if err != nil {
			if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
				firstErr = fmt.Errorf("maildir: pop3 delete: %w", err)
			}
			continue
		}
		d.del[i] = true
		b += sz
		c++
	}
	if c > 0 {
		syncDir(filepath.Join(d.m.root, "cur"))
		d.m.quotaDelta(-b, -c)
	}
	return firstErr
}

// Close releases the POP3 lock.
func (d *POP3Drop) Close() error {
	if d.lock >= 0 {
		unix.Close(d.lock)
		d.lock = -1
	}
	return nil
}

// OpenPOP3 opens root as a maildir and its INBOX as a POP3 drop.
func OpenPOP3(root string, opts Options) (*POP3Drop, error) {
	m, err := Open(root, opts)
	if err != nil {
		return nil, err
	}
	return m.OpenPOP3()
}
