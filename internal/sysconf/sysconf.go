// Package sysconf upgrades an installed configuration file from a newer
// ".dist" copy the way Courier's sysconftool does (reference §12.2), so
// that `make install-configure` can be run after every upgrade without
// losing an administrator's settings.
//
// A configuration file is a sh fragment made of an optional header, then
// setting blocks. A block starts with a line "##NAME: <name>:<revision>",
// continues with the comment lines that follow it (each starts with '#'),
// and its value is every line after those comments up to the next
// "##NAME:" line or the end of the file. The version stamp is a line
// "##VERSION: <id>" within the first 20 lines, before the first block.
//
// Invariants:
//   - The merged file always has the new .dist's header, block order and
//     comments; only value lines are ever carried over from the old file,
//     and only for a block whose name AND revision match.
//   - A block present only in the old file is dropped; a new revision
//     means "reset to the new default".
//   - The old file is never modified in place: it is copied to file.bak
//     first and the new file replaces it through an fsynced temporary
//     file and a rename, so a crash leaves either the old or the new file.
//   - Parsing never fails on hostile input; it is line based and bounded
//     by the input size (files over MaxFileSize are refused).
package sysconf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxFileSize bounds the files we read; real ones are a few tens of KB.
const MaxFileSize = 4 << 20

// versionWindow is how many leading lines may hold ##VERSION (reference §12.2).
const versionWindow = 20

// Block is one "##NAME: name:revision" setting.
type Block struct {
	Name     string
	Revision string
	// Comment holds the ##NAME line and the '#' lines after it, verbatim.
	Comment []string
	// Value holds everything after the comment up to the next block.
	Value []string
}

// File is a parsed configuration file. Lines keep their text without the
// trailing newline.
type File struct {
	// Version is the ##VERSION id; HasVersion tells an empty id from none.
	Version    string
	HasVersion bool
	Header     []string
	Blocks     []Block
}

// Parse reads a configuration file. It accepts any input; lines that do not
// fit the block syntax simply become header or value lines.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("sysconf: read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("sysconf: file larger than %d bytes", MaxFileSize)
	}
	return parseBytes(data), nil
}

func parseBytes(data []byte) *File {
	f := &File{}
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	var lines []string
	if len(data) > 0 {
		lines = strings.Split(text, "\n")
	}
	var cur *Block
	inComment := false
	for i, line := range lines {
		if name, rev, ok := parseNameLine(line); ok {
			f.Blocks = append(f.Blocks, Block{Name: name, Revision: rev, Comment: []string{line}})
			cur = &f.Blocks[len(f.Blocks)-1]
			inComment = true
			continue
		}
		if cur == nil {
			if i < versionWindow && !f.HasVersion {
				if id, ok := strings.CutPrefix(line, "##VERSION:"); ok {
					f.Version = strings.TrimSpace(id)
					f.HasVersion = true
				}
			}
			f.Header = append(f.Header, line)
			continue
		}
		if inComment && strings.HasPrefix(line, "#") {
			cur.Comment = append(cur.Comment, line)
			continue
		}
		inComment = false
		cur.Value = append(cur.Value, line)
	}
	return f
}

// parseNameLine recognises "##NAME: name:revision". The revision is what
// follows the last ':'; a line without one has an empty revision, which
// only ever matches another empty revision.
func parseNameLine(line string) (name, rev string, ok bool) {
	rest, found := strings.CutPrefix(line, "##NAME:")
	if !found {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		name, rev = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
	} else {
		name = rest
	}
	if name == "" {
		return "", "", false
	}
	return name, rev, true
}

// Bytes renders the file back to text, one '\n' after every line.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	w := func(ls []string) {
		for _, l := range ls {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	w(f.Header)
	for _, bl := range f.Blocks {
		w(bl.Comment)
		w(bl.Value)
	}
	return b.Bytes()
}

// ChangeKind says what happened to one setting during a merge.
type ChangeKind int

const (
	Kept    ChangeKind = iota // same name and revision: the admin's value stays
	Reset                     // revision changed: new default installed
	Added                     // only in the new .dist
	Removed                   // only in the old file: dropped
)

func (k ChangeKind) String() string {
	switch k {
	case Kept:
		return "kept"
	case Reset:
		return "reset"
	case Added:
		return "added"
	case Removed:
		return "removed"
	}
	return "unknown"
}

// Change records the fate of one setting.
type Change struct {
	Kind   ChangeKind
	Name   string
	OldRev string // empty for Added
	NewRev string // empty for Removed
}

func (c Change) String() string {
	switch c.Kind {
	case Reset:
		return fmt.Sprintf("%s: new default installed (revision %s -> %s)", c.Name, c.OldRev, c.NewRev)
	case Added:
		return fmt.Sprintf("%s: new setting, default installed", c.Name)
	case Removed:
		return fmt.Sprintf("%s: setting no longer used, removed", c.Name)
	}
	return fmt.Sprintf("%s: unchanged", c.Name)
}

// Merge builds the upgraded file from the old installed file and the new
// .dist (reference §12.2 steps 1-3). A name should appear once per file;
// if the old file repeats one (a hand edit), its first block is the one
// matched, and the others are neither kept nor reported.
func Merge(old, dist *File) (*File, []Change) {
	oldBy := map[string]*Block{}
	for i := range old.Blocks {
		b := &old.Blocks[i]
		if _, dup := oldBy[b.Name]; !dup {
			oldBy[b.Name] = b
		}
	}
	out := &File{Version: dist.Version, HasVersion: dist.HasVersion, Header: clone(dist.Header)}
	var changes []Change
	seen := map[string]bool{}
	for _, nb := range dist.Blocks {
		b := Block{Name: nb.Name, Revision: nb.Revision, Comment: clone(nb.Comment), Value: clone(nb.Value)}
		ob, ok := oldBy[nb.Name]
		switch {
		case !ok:
			changes = append(changes, Change{Kind: Added, Name: nb.Name, NewRev: nb.Revision})
		case ob.Revision == nb.Revision:
			b.Value = clone(ob.Value)
			changes = append(changes, Change{Kind: Kept, Name: nb.Name, OldRev: ob.Revision, NewRev: nb.Revision})
		default:
			changes = append(changes, Change{Kind: Reset, Name: nb.Name, OldRev: ob.Revision, NewRev: nb.Revision})
		}
		seen[nb.Name] = true
		out.Blocks = append(out.Blocks, b)
	}
	for _, ob := range old.Blocks {
		if !seen[ob.Name] {
			seen[ob.Name] = true
			changes = append(changes, Change{Kind: Removed, Name: ob.Name, OldRev: ob.Revision})
		}
	}
	return out, changes
}

func clone(s []string) []string { return append([]string(nil), s...) }

// Action is what Install did to the target file.
type Action int

const (
	Created  Action = iota // target did not exist: .dist copied
	UpToDate               // same ##VERSION: nothing done
	Replaced               // target had no ##VERSION: backed up, .dist copied
	Merged                 // settings merged, old file in .bak
)

func (a Action) String() string {
	return [...]string{"created", "up to date", "replaced (no ##VERSION in old file)", "merged"}[a]
}

// Result reports one Install.
type Result struct {
	Dist, Target string
	Action       Action
	Changes      []Change // only for Merged
}

// TargetOf maps "dir/imapd.dist" to "dir/imapd".
func TargetOf(dist string) (string, error) {
	t, ok := strings.CutSuffix(dist, ".dist")
	if !ok || filepath.Base(t) == "" || strings.HasSuffix(t, "/") {
		return "", fmt.Errorf("sysconf: %s: name does not end in .dist", dist)
	}
	return t, nil
}

// Install applies the sysconftool rules for one .dist file.
func Install(dist string) (*Result, error) {
	target, err := TargetOf(dist)
	if err != nil {
		return nil, err
	}
	distData, distMode, err := readFile(dist)
	if err != nil {
		return nil, err
	}
	newF := parseBytes(distData)
	if !newF.HasVersion {
		return nil, fmt.Errorf("sysconf: %s: no ##VERSION line in the first %d lines", dist, versionWindow)
	}
	res := &Result{Dist: dist, Target: target}
	oldData, oldMode, err := readFile(target)
	if errors.Is(err, os.ErrNotExist) {
		res.Action = Created
		return res, writeAtomic(target, distData, distMode, -1, -1)
	}
	if err != nil {
		return nil, err
	}
	uid, gid := owner(target)
	oldF := parseBytes(oldData)
	switch {
	case oldF.HasVersion && oldF.Version == newF.Version:
		res.Action = UpToDate
		return res, nil
	case !oldF.HasVersion:
		res.Action = Replaced
		if err := writeAtomic(target+".bak", oldData, oldMode, uid, gid); err != nil {
			return nil, err
		}
		return res, writeAtomic(target, distData, oldMode, uid, gid)
	}
	merged, changes := Merge(oldF, newF)
	res.Action = Merged
	res.Changes = changes
	if err := writeAtomic(target+".bak", oldData, oldMode, uid, gid); err != nil {
		return nil, err
	}
	return res, writeAtomic(target, merged.Bytes(), oldMode, uid, gid)
}

func readFile(path string) ([]byte, os.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("sysconf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("sysconf: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("sysconf: %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("sysconf: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, 0, fmt.Errorf("sysconf: %s: larger than %d bytes", path, MaxFileSize)
	}
	return data, st.Mode().Perm(), nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory: write, fsync, chmod/chown, rename, fsync the directory.
// uid/gid of -1 leave the owner as created.
func writeAtomic(path string, data []byte, mode os.FileMode, uid, gid int) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("sysconf: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	bw := bufio.NewWriter(tmp)
	if _, err := bw.Write(data); err != nil {
		return fmt.Errorf("sysconf: write %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sysconf: write %s: %w", name, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("sysconf: chmod %s: %w", name, err)
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			return fmt.Errorf("sysconf: chown %s: %w", name, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sysconf: fsync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sysconf: close %s: %w", name, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("sysconf: %w", err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sysconf: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sysconf: fsync %s: %w", dir, err)
	}
	return nil
}
