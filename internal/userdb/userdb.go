// Package userdb reads, looks up, watches and edits Courier's text userdb
// (makeuserdb(8), userdb(8)): a file, or a directory whose files are treated
// as one file concatenated, of lines
//
//	name<TAB>field=value|field=value...
//
// Blank lines and lines starting with '#' are ignored.
//
// Invariants:
//   - Parsing never panics and keeps memory proportional to the input;
//     lines longer than MaxLine are errors, not truncations.
//   - A name appears once across all files; a duplicate makes the whole
//     database invalid (Courier's makeuserdb fails the same way), so a
//     half-edited directory is never served.
//   - Fields keep their order, so editing a record rewrites only what was
//     asked for; every other line of the file is copied byte for byte.
//   - Lookups are exact and case-sensitive, as Courier's (reference §3.3).
//   - Writes go to .tmp.<file>, are fsynced, renamed over the file and the
//     directory is fsynced; .lock.<file> serialises writers (userdb(8)).
package userdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxLine is the longest accepted line. Courier has no documented limit;
// 64 KiB is far beyond any real record and bounds memory.
const MaxLine = 64 * 1024

// MaxFileSize bounds one userdb file we read (hostile input rule).
const MaxFileSize = 256 << 20

// Field is one field=value pair.
type Field struct {
	Name, Value string
}

// Entry is one account record.
type Entry struct {
	Name   string
	Fields []Field
	File   string // file it came from
	Line   int    // 1-based line number
}

// Get returns the value of field name.
func (e *Entry) Get(name string) (string, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Value returns the value of field name or "".
func (e *Entry) Value(name string) string {
	v, _ := e.Get(name)
	return v
}

// String renders the record as a userdb line (without newline).
func (e *Entry) String() string {
	return FormatLine(e.Name, e.Fields)
}

// FormatLine renders name and fields as a userdb line (without newline).
func FormatLine(name string, fields []Field) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('\t')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(f.Value)
	}
	return b.String()
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("userdb: syntax error")

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// ValidName reports whether name can be a userdb account name: non-empty,
// no whitespace or control characters, not starting with '#'.
func ValidName(name string) bool {
	return name != "" && !strings.HasPrefix(name, "#") && !hasControl(name) && !strings.ContainsAny(name, " ")
}

// ValidField reports whether a field name is acceptable: non-empty, no
// '=', '|' or control characters.
func ValidField(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=| ") && !hasControl(name)
}

// ValidValue reports whether a value can be stored: no '|' or control
// characters (makeuserdb(8): "Fields and values themself cannot contain
// slashes or control characters"; the separator is '|').
func ValidValue(v string) bool {
	return !strings.Contains(v, "|") && !hasControl(v)
}

// IsComment reports whether a line carries no record.
func IsComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// ParseLine parses one record line (without its newline). A line that
// IsComment is an error here; callers skip those first.
func ParseLine(line string) (name string, fields []Field, err error) {
	line = strings.TrimSuffix(line, "\r")
	name, rest, ok := strings.Cut(line, "\t")
	if !ok {
		return "", nil, fmt.Errorf("%w: no TAB after the account name", ErrSyntax)
	}
	if !ValidName(name) {
		return "", nil, fmt.Errorf("%w: bad account name %q", ErrSyntax, trunc(name))
	}
	rest = strings.TrimLeft(rest, "\t")
	if rest == "" {
		return name, nil, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, "|") {
		if part == "" {
			continue // tolerate "a=1||b=2" and a trailing '|'
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			// A bare field name is a field with an empty value.
			k, v = part, ""
		}
		if !ValidField(k) || hasControl(v) {
			return "", nil, fmt.Errorf("%w: bad field %q", ErrSyntax, trunc(k))
		}
		if seen[k] {
			return "", nil, fmt.Errorf("%w: field %q repeated", ErrSyntax, trunc(k))
		}
		seen[k] = true
		fields = append(fields, Field{k, v})
	}
	return name, fields, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Parse reads all records of one file's content. file is used in errors.
func Parse(r io.Reader, file string) ([]*Entry, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	var out []*Entry
	lineNo := 0
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return out, nil
		}
		lineNo++
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, lineNo, err)
		}
		if IsComment(line) {
			continue
		}
		name, fields, err := ParseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, lineNo, err)
		}
		out = append(out, &Entry{Name: name, Fields: fields, File: file, Line: lineNo})
	}
}

// readLine returns the next line without its newline; io.EOF at the end.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > MaxLine+1 {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrSyntax, MaxLine)
		}
		switch err {
		case nil:
			return string(buf[:len(buf)-1]), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == 0 {
				return "", io.EOF
			}
			return string(buf), nil
		default:
			return "", err
		}
	}
}

// DB is a loaded userdb: immutable once built, safe for concurrent reads.
type DB struct {
	byName map[string]*Entry
	order  []*Entry
}

// Lookup returns the record for name, or nil.
func (db *DB) Lookup(name string) *Entry {
	if db == nil {
		return nil
	}
	return db.byName[name]
}

// Entries returns all records in file order.
func (db *DB) Entries() []*Entry {
	if db == nil {
		return nil
	}
	return db.order
}

// Len is the number of records.
func (db *DB) Len() int { return len(db.Entries()) }

// Files lists the files that make up the userdb at path: path itself, or
// the regular files below it (recursively, sorted), skipping names that
// start with '.' (userdb's .lock.* and .tmp.* files) or end with '~'.
func Files(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := d.Name()
		if p != path && (strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// Load reads the userdb at path (file or directory).
func Load(path string) (*DB, error) {
	files, err := Files(path)
	if err != nil {
		return nil, err
	}
	db := &DB{byName: map[string]*Entry{}}
	for _, f := range files {
		entries, err := loadFile(f)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if prev, dup := db.byName[e.Name]; dup {
				return nil, fmt.Errorf("userdb: %s:%d: %w: duplicate account %q (first in %s:%d)",
					e.File, e.Line, ErrSyntax, trunc(e.Name), prev.File, prev.Line)
			}
			db.byName[e.Name] = e
			db.order = append(db.order, e)
		}
	}
	return db, nil
}

func loadFile(name string) ([]*Entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	defer f.Close()
	entries, err := Parse(io.LimitReader(f, MaxFileSize+1), name)
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	return entries, nil
}

// CheckPermissions returns an error for each userdb file or directory
// that has group or world permissions: it may hold password hashes, and
// makeuserdb(8) refuses such a file.
func CheckPermissions(path string) []error {
	var errs []error
	check := func(p string) {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("userdb: %w", err))
			return
		}
		if st.Mode().Perm()&0o077 != 0 {
			errs = append(errs, fmt.Errorf("userdb: %s has group or world permissions (%04o); use chmod go-rwx", p, st.Mode().Perm()))
		}
	}
	check(path)
	if files, err := Files(path); err == nil && !(len(files) == 1 && files[0] == path) {
		for _, f := range files {
			check(f)
		}
	}
	return errs
}
