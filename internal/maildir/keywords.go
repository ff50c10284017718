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
)

// kwState caches the keyword directory of a folder between scans.
type kwState struct {
	mtime int64
	data  map[string][]string
	stamp map[string]int64 // base -> N of the newest update file seen
	files map[string][]string
	// readOnly: never consolidate (tools that only look).
	readOnly bool
}

// kwNow returns Courier's update stamp N = time/300 (§9.6).
func (m *Maildir) kwNow() int64 { return m.now().Unix() / 300 }

// load returns base -> keywords for the folder (nil map when keywords are
// disabled), consolidating update files into :list (§9.6) when the folder
// is writable.
func (s *kwState) load(m *Maildir, dir string, entries []*msg) map[string][]string {
	if !m.opts.Keywords {
		return nil
	}
	kdir := filepath.Join(dir, keywordDir)
	st, err := os.Stat(kdir)
	if err != nil {
		s.data = nil
		return nil
	}
	if s.data != nil && st.ModTime().UnixNano() == s.mtime && time.Since(st.ModTime()) > 2*time.Second {
		return s.data
	}
	s.mtime = st.ModTime().UnixNano()
	names, err := readNames(kdir)
	if err != nil {
		return s.data
	}
	list := map[string][]string{}
	listData, _ := readFileLimit(filepath.Join(kdir, keywords.ListFile), 64<<20)
	if listData != nil {
		list = keywords.ParseList(listData)
	}
	plainN := m.kwNow() + 1
	newest := map[string]int64{}
	newestName := map[string]string{}
	files := map[string][]string{}
	for _, n := range names {
		v, base, stamped, ok := keywords.ParseUpdateName(n)
		if !ok {
			continue
		}
		if !stamped {
			v = plainN
		}
		files[base] = append(files[base], n)
		if old, seen := newest[base]; !seen || v > old || (v == old && !stamped) {
			newest[base], newestName[base] = v, n
		}
	}
	for base, n := range newestName {
		b, err := readFileLimit(filepath.Join(kdir, n), 64<<10)
		if err != nil {
			continue
		}
		list[base] = keywords.ParseUpdate(b)
	}
	s.data, s.stamp, s.files = list, newest, files
	if s.readOnly {
		return list
	}
	s.consolidate(m, kdir, entries, newest, newestName, files, listData)
	return list
}

// consolidate rewrites :list, renames plain update files to stamped ones
// and removes superseded or orphaned (ctime > 15 min) update files.
// Failures are harmless: the next reader does the same work.
func (s *kwState) consolidate(m *Maildir, kdir string, entries []*msg, newest map[string]int64, newestName map[string]string, files map[string][]string, oldList []byte) {
	if len(files) == 0 {
		return
	}
	exist := make(map[string]bool, len(entries))
	order := make([]string, 0, len(entries))
	for _, e := range entries {
		exist[e.base] = true
		order = append(order, e.base)
	}
	// Rewrite :list only when it changes: an unchanged keyword
	// directory keeps its mtime, which the snapshot cache relies on.
	if nl := keywords.FormatList(order, s.data); !bytes.Equal(nl, oldList) {
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
			if st, err := os.Stat(filepath.Join(kdir, keep)); err == nil && now.Unix()-ctimeOf(st) > 15*60 {
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
func (s *kwState) dropFiles(dir, base string) {
	if s.readOnly || len(s.files[base]) == 0 {
		return
	}
	kdir := filepath.Join(dir, keywordDir)
	for _, n := range s.files[base] {
		os.Remove(filepath.Join(kdir, n))
	}
	delete(s.files, base)
}

// writeKeywords records a message's complete keyword set as
// courierimapkeywords/.N.<base> (via tmp/ and rename, §9.6).
func (m *Maildir) writeKeywords(dir, base string, kws []string) error {
	kdir := filepath.Join(dir, keywordDir)
	if err := os.Mkdir(kdir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return m.writeFileAtomic(kdir, keywords.StampName(m.kwNow(), base), keywords.FormatUpdate(kws), 0o644)
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
	kw := st.load(m, dir, entries)
	m.opts.Keywords = saved
	out := map[string][]string{}
	for _, e := range entries {
		out[e.base] = kw[e.base]
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
