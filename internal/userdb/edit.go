package userdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotFound: the record to change does not exist.
var ErrNotFound = errors.New("userdb: no such account")

// Edit is one change to a record. Set adds or replaces fields (in place,
// new ones appended); Unset removes fields; Delete removes the record.
type Edit struct {
	Set    []Field
	Unset  []string
	Delete bool
}

// Apply changes the record for name in file, creating the file (mode 0600)
// and appending the record when it does not exist and the edit sets
// fields, as userdb(8) does. Other lines are copied unchanged. The write is
// atomic and durable: .tmp.<file>, fsync, rename, fsync of the directory,
// under the lock .lock.<file>.
func Apply(file, name string, ed Edit) error {
	if !ValidName(name) {
		return fmt.Errorf("userdb: invalid account name %q", trunc(name))
	}
	for _, f := range ed.Set {
		if !ValidField(f.Name) || !ValidValue(f.Value) {
			return fmt.Errorf("userdb: invalid field %q or its value", trunc(f.Name))
		}
	}
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock."+base), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("userdb: lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("userdb: lock %s: %w", file, err)
	}

	old, err := os.ReadFile(file)
	mode := os.FileMode(0o600)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("userdb: %w", err)
	}
	uid, gid := -1, -1
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	}
	var out bytes.Buffer
	found := false
	br := bufio.NewReader(bytes.NewReader(old))
	lineNo := 0
	for {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		lineNo++
		if err != nil {
			return fmt.Errorf("userdb: %s:%d: %w", file, lineNo, err)
		}
		if !IsComment(line) {
			n, fields, perr := ParseLine(line)
			if perr == nil && n == name {
				if found {
					return fmt.Errorf("userdb: %s:%d: account %q appears twice", file, lineNo, name)
				}
				found = true
				if ed.Delete {
					continue
				}
				line = FormatLine(name, change(fields, ed))
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if !found {
		if ed.Delete || len(ed.Unset) > 0 && len(ed.Set) == 0 {
			return fmt.Errorf("%w: %q in %s", ErrNotFound, name, file)
		}
		out.WriteString(FormatLine(name, change(nil, ed)))
		out.WriteByte('\n')
	}
	return writeAtomic(dir, base, out.Bytes(), mode, uid, gid)
}

func change(fields []Field, ed Edit) []Field {
	var out []Field
	drop := map[string]bool{}
	for _, u := range ed.Unset {
		drop[u] = true
	}
	set := map[string]string{}
	for _, f := range ed.Set {
		set[f.Name] = f.Value
	}
	done := map[string]bool{}
	for _, f := range fields {
		if drop[f.Name] {
			continue
		}
		if v, ok := set[f.Name]; ok {
			f.Value = v
			done[f.Name] = true
		}
		out = append(out, f)
	}
	for _, f := range ed.Set {
		if !done[f.Name] && !drop[f.Name] {
			out = append(out, f)
			done[f.Name] = true
		}
	}
	return out
}

// writeAtomic replaces dir/base with data; uid/gid >= 0 keep the old
// owner (root editing a file owned by another user).
func writeAtomic(dir, base string, data []byte, mode os.FileMode, uid, gid int) error {
	tmp := filepath.Join(dir, ".tmp."+base)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("userdb: write %s: %w", tmp, err)
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := f.Chown(uid, gid); err != nil {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("userdb: chown %s: %w", tmp, err)
		}
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("userdb: chmod %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("userdb: fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("userdb: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, base)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("userdb: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("userdb: fsync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("userdb: fsync dir %s: %w", dir, err)
	}
	return nil
}
