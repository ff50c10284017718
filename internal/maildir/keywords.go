package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gocourier/internal/maildir/keywords"

	"golang.org/x/sys/unix"
)

// kwState caches the keyword directory of a folder between scans.
type kwState struct {
	mtime int64
	data  *kwMaps
	stamp map[string]int64 // base -> N of the newest update file seen
	files map[string][]string
	// listID identifies the :list file that data.list was parsed from:
	// it is only ever replaced by rename, so an unchanged identity means
	// unchanged contents, and a 100,000-line :list is not parsed again
	// each time an update file comes or goes.
	listID [4]int64
	// readOnly: never consolidate (tools that only look).
	readOnly bool
	// gone: base names of messages this folder saw expunged (noteGone);
	// their update files are orphans to remove at once (consolidate).
	gone map[string]bool
}

// maxGoneBases bounds kwState.gone; past it the set starts over (the
// 15-minute rule still removes what it forgets).
const maxGoneBases = 20000

// noteGone records that the message with this base name was expunged:
// its file left cur/ after being numbered, and base names are never
// given twice (§9.2), so no message will have it again.
func (s *kwState) noteGone(base string) {
	if s.gone == nil || len(s.gone) >= maxGoneBases {
		s.gone = map[string]bool{}
	}
	s.gone[base] = true
}

// kwMaps is a folder's keywords: the consolidated :list with the update
// files laid over it (an update file holds a message's whole set, so an
// empty one removes what :list says). An update file is read when its
// message is first asked for: files of messages that are gone (Courier
// keeps them 15 minutes, §9.6; under a steady APPEND/EXPUNGE load they
// outnumber the live ones) are never read.
type kwMaps struct {
	kdir  string
	list  map[string][]string
	names map[string]string   // base -> newest update file
	upd   map[string][]string // the update files read so far
	// stale: an update file was gone when read (folded into a :list
	// newer than ours): the next load must not trust the cached state.
	stale bool
}

// get returns the keywords of the message with base name b.
func (k *kwMaps) get(b string) []string {
	if k == nil {
		return nil
	}
	n, ok := k.names[b]
	if !ok {
		return k.list[b]
	}
	if v, ok := k.upd[b]; ok {
		return v
	}
	data, err := readFileLimit(filepath.Join(k.kdir, n), 64<<10)
	if err != nil {
		k.stale = true
		return k.list[b]
	}
	v := keywords.ParseUpdate(data)
	k.upd[b] = v
	return v
}

// kwConsolidateAt: update files are folded into :list once there are
// this many (or any plain one). Courier folds on every read; with many
// sessions on one folder that made each of them rewrite and fsync
// :list after every keyword change anyone made (imaptest stress: a
// quarter of the sessions' CPU). Readers overlay the files either way
// (§9.6), so waiting changes nothing they see.
const kwConsolidateAt = 32

// kwNow returns Courier's update stamp N = time/300 (§9.6).
func (m *Maildir) kwNow() int64 { return m.now().Unix() / 300 }

// load returns the folder's keywords (ok=false when keywords are
// disabled or the folder has no keyword directory), consolidating update
// files into :list (§9.6) when the folder is writable and enough of them
// piled up.
func (s *kwState) load(m *Maildir, dir string, entries []*msg) (*kwMaps, bool) {
	if !m.opts.Keywords {
		return nil, false
	}
	kdir := filepath.Join(dir, keywordDir)
	st, err := os.Stat(kdir)
	if err != nil {
		s.data, s.mtime = nil, 0
		return nil, false
	}
	mt := st.ModTime().UnixNano()
	if s.data != nil && !s.data.stale && mt == s.mtime && !racyAt(mt, time.Now().UnixNano(), fineTimestamps(kdir)) {
		return s.data, true
	}
	s.mtime = mt
	names, err := readNames(kdir)
	if err != nil {
		return s.data, s.data != nil
	}
	listPath := filepath.Join(kdir, keywords.ListFile)
	var list map[string][]string
	if s.data != nil {
		list = s.data.list
	}
	if id, ok := fileIdent(listPath); !ok || id != s.listID || list == nil {
		listData, _ := readFileLimit(listPath, 64<<20)
		list = map[string][]string{}
		if listData != nil {
			list = keywords.ParseList(listData)
		}
		// Remembered only if it did not change while read.
		if id2, ok2 := fileIdent(listPath); ok && ok2 && id2 == id {
			s.listID = id
		} else {
			s.listID = [4]int64{}
		}
	}
	plainN := m.kwNow() + 1
	plain := false
	newest := map[string]int64{}
	newestName := map[string]string{}
	files := map[string][]string{}
	nfiles := 0
	for _, n := range names {
		v, base, stamped, ok := keywords.ParseUpdateName(n)
		if !ok {
			continue
		}
		if !stamped {
			v = plainN
			plain = true
		}
		nfiles++
		files[base] = append(files[base], n)
		if old, seen := newest[base]; !seen || v > old || (v == old && !stamped) {
			newest[base], newestName[base] = v, n
		}
	}
	s.data = &kwMaps{kdir: kdir, list: list, names: newestName, upd: make(map[string][]string, len(newestName))}
	s.stamp, s.files = newest, files
	if s.readOnly || (!plain && nfiles < kwConsolidateAt) {
		return s.data, true
	}
	s.consolidate(m, kdir, entries, newest, newestName, files)
	return s.data, true
}

// consolidate rewrites :list, renames plain update files to stamped ones
// and removes superseded or orphaned (ctime > 15 min) update files. One
// session at a time does it (a non-blocking flock of the keyword
// directory; the others go on reading the overlay). Failures are
// harmless: the next reader does the same work.
func (s *kwState) consolidate(m *Maildir, kdir string, entries []*msg, newest map[string]int64, newestName map[string]string, files map[string][]string) {
	if len(files) == 0 {
		return
	}
	fd, err := unix.Open(kdir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // someone else is at it (or no flock here: next time)
	}
	exist := make(map[string]bool, len(entries))
	order := make([]string, 0, len(entries))
	for _, e := range entries {
		exist[e.base] = true
		order = append(order, e.base)
	}
	merged := make(map[string][]string, len(entries))
	for _, e := range entries {
		if kw := s.data.get(e.base); len(kw) > 0 {
			merged[e.base] = kw
		}
	}
	// Rewrite :list only when it changes: an unchanged keyword
	// directory keeps its mtime, which the snapshot cache relies on.
	// The update files are removed only once the new :list is durable.
	listPath := filepath.Join(kdir, keywords.ListFile)
	oldList, _ := readFileLimit(listPath, 64<<20)
	if nl := keywords.FormatList(order, merged); !bytes.Equal(nl, oldList) {
		if err := m.writeFileAtomic(kdir, keywords.ListFile, nl, 0o644); err != nil {
			return
		}
	}
	now := m.now()
	for base, fs := range files {
		keep := newestName[base]
		for _, n := range fs {
			if n != keep {
				os.Remove(filepath.Join(kdir, n))
			}
		}
		if !exist[base] {
			// An orphan. Courier removes it after 15 minutes (a message
			// may still be on its way to cur/: an APPEND writes its
			// keywords before it is numbered). One whose message this
			// folder saw expunged goes now: under 50 sessions'
			// APPEND/STORE/EXPUNGE (imaptest stress) hundreds piled up
			// within minutes, and every session listed them after every
			// keyword change anyone made.
			if s.gone[base] {
				os.Remove(filepath.Join(kdir, keep))
				delete(s.gone, base)
			} else if st, err := os.Stat(filepath.Join(kdir, keep)); err == nil && now.Unix()-ctimeOf(st) > 15*60 {
				os.Remove(filepath.Join(kdir, keep))
			}
			continue
		}
		if !strings.HasPrefix(keep, ".") {
			os.Rename(filepath.Join(kdir, keep), filepath.Join(kdir, keywords.StampName(newest[base]-1, base)))
		}
	}
}

// dropFiles removes the keyword update files of a message this session
// has just expunged. Courier leaves them for 15 minutes (§9.6), but a
// message that is gone needs none, and under a steady APPEND/EXPUNGE load
// (imaptest stress: 785 files for 28 messages) every reader re-read all
// of them whenever the directory changed. An update written by another
// session after our last load stays until the 15-minute rule removes it.
func (s *kwState) dropFiles(dir, base string) (removed []string) {
	if s.readOnly || len(s.files[base]) == 0 {
		return nil
	}
	kdir := filepath.Join(dir, keywordDir)
	for _, n := range s.files[base] {
		if os.Remove(filepath.Join(kdir, n)) == nil {
			removed = append(removed, n)
		}
	}
	delete(s.files, base)
	return removed
}

// writeKeywords records a message's complete keyword set as
// courierimapkeywords/.N.<base> (via tmp/ and rename, §9.6).
// It returns the update file's name.
func (m *Maildir) writeKeywords(dir, base string, kws []string) (string, error) {
	kdir := filepath.Join(dir, keywordDir)
	if err := os.Mkdir(kdir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	name := keywords.StampName(m.kwNow(), base)
	return name, m.writeFileAtomic(kdir, name, keywords.FormatUpdate(kws), 0o644)
}

// MessageKeywords returns base name -> keywords for every message of a
// folder (maildirkw -L). It does not scan, rename or consolidate.
func (m *Maildir) MessageKeywords(name string) (map[string][]string, error) {
	dir, err := m.FolderDir(name)
	if err != nil {
		return nil, err
	}
	names, err := readNames(filepath.Join(dir, "cur"))
	if err != nil {
		return nil, err
	}
	var entries []*msg
	for _, n := range names {
		if n != "" && n[0] != '.' {
			b, _, _ := splitName(n)
			entries = append(entries, &msg{base: b})
		}
	}
	saved := m.opts.Keywords
	m.opts.Keywords = true
	var st kwState
	st.readOnly = true
	kw, _ := st.load(m, dir, entries)
	m.opts.Keywords = saved
	out := map[string][]string{}
	for _, e := range entries {
		out[e.base] = kw.get(e.base)
	}
	return out, nil
}

// SetMessageKeywords replaces one message's keywords by its file name
// (with or without ":2,flags"), as maildirkw does: a plain "<base>" update
// file via tmp/ and rename. With lock the folder's dot-lock is held.
func (m *Maildir) SetMessageKeywords(name, file string, kws []string, lock bool) error {
	dir, err := m.FolderDir(name)
	if err != nil {
		return err
	}
	for _, k := range kws {
		if !keywords.Valid(k) {
			return fmt.Errorf("%q: %w", k, ErrBadKeyword)
		}
	}
	base, _, _ := splitName(filepath.Base(file))
	if lock {
		l, err := m.lockFolder(dir)
		if err != nil {
			return err
		}
		defer l.unlock()
	}
	kdir := filepath.Join(dir, keywordDir)
	if err := os.Mkdir(kdir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("maildir: keywords: %w", err)
	}
	return m.writeFileAtomic(kdir, base, keywords.FormatUpdate(kws), 0o644)
}
