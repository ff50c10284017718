package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Filesystem shared folders (reference §9.11): a maildir lists the
// sharable maildirs it subscribes to in "shared-maildirs", one
// "nick<TAB>path" per line; the system-wide list has the same format.
// Invariants (Courier's maildirmake --add/--del, checked by hand against
// maildirmake.courier 5.0.13): a line's name is its text up to the first
// blank; a name never contains '.' or '/'; a name is defined at most once
// across both lists; --add appends, --del rewrites the file through tmp/
// and rename, removing every line with that name.

// SharedMaildirsFile is the per-maildir list of sharable maildirs.
const SharedMaildirsFile = "shared-maildirs"

// GlobalSharedMaildirs is the system-wide list, hard-coded in Courier
// (§9.11). A variable so that tests can point it elsewhere.
var GlobalSharedMaildirs = "/etc/courier/maildirshared"

var (
	ErrSharedName     = errors.New("invalid name")
	ErrSharedExists   = errors.New("already defined as a sharable maildir")
	ErrSharedNotFound = errors.New("not found")
)

// SharedMaildir is one line of a shared-maildirs list.
type SharedMaildir struct {
	Name, Path string
}

// maxSharedList bounds what is read of a list (hostile input).
const maxSharedList = 1 << 20

// ParseSharedMaildirs parses a shared-maildirs list; lines without a path
// are kept with an empty Path (they still define the name).
func ParseSharedMaildirs(data []byte) []SharedMaildir {
	var out []SharedMaildir
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxSharedList)
	for sc.Scan() {
		l := sc.Text()
		if strings.Trim(l, " \t") == "" {
			continue
		}
		name, rest := l, ""
		if i := strings.IndexAny(l, " \t"); i >= 0 {
			name, rest = l[:i], strings.TrimLeft(l[i:], " \t")
		}
		out = append(out, SharedMaildir{Name: name, Path: rest})
	}
	return out
}

// ValidSharedName reports whether name can be a shared maildir nick.
func ValidSharedName(name string) bool {
	return !strings.ContainsAny(name, "./\n")
}

func sharedDefined(file, name string) bool {
	data, err := readFileLimit(file, maxSharedList)
	if err != nil {
		return false
	}
	for _, e := range ParseSharedMaildirs(data) {
		if e.Name == name {
			return true
		}
	}
	return false
}

// AddSharedMaildir appends "name<TAB>path" to root/shared-maildirs
// (maildirmake --add). path must be absolute.
func AddSharedMaildir(root, name, path string) error {
	if !ValidSharedName(name) || strings.ContainsAny(path, "\n") || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%s: %w", name, ErrSharedName)
	}
	list := filepath.Join(root, SharedMaildirsFile)
	if sharedDefined(GlobalSharedMaildirs, name) || sharedDefined(list, name) {
		return fmt.Errorf("%s: %w", name, ErrSharedExists)
	}
	f, err := os.OpenFile(list, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		return fmt.Errorf("maildir: add shared %s: %w", name, err)
	}
	_, err = f.WriteString(name + "\t" + path + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("maildir: add shared %s: %w", name, err)
	}
	return syncDir(root)
}

// DelSharedMaildir removes every line named name from root/shared-maildirs
// (maildirmake --del). A missing list is an fs.ErrNotExist error.
func DelSharedMaildir(root, name string) error {
	list := filepath.Join(root, SharedMaildirsFile)
	data, err := readFileLimit(list, maxSharedList)
	if err != nil {
		return fmt.Errorf("maildir: del shared %s: %w", name, err)
	}
	var keep bytes.Buffer
	found := false
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		if e := ParseSharedMaildirs(l); len(e) == 1 && e[0].Name == name {
			found = true
			continue
		}
		keep.Write(l)
	}
	if !found {
		return fmt.Errorf("%s: %w", name, ErrSharedNotFound)
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(list); err == nil {
		mode = st.Mode().Perm()
	}
	host, _ := os.Hostname()
	m := &Maildir{root: root, host: sanitizeHost(host), opts: Options{Now: time.Now}}
	if err := m.writeFileAtomic(root, SharedMaildirsFile, keep.Bytes(), mode); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("maildir: del shared %s: %w", name, err)
		}
		return err
	}
	return nil
}
