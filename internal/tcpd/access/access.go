// Package access reads couriertcpd access files and answers "may this IP
// connect, and with which extra environment variables?".
//
// Format (reference §2; Courier's makeimapaccess source files): one entry
// per line, `netblock<whitespace>value`, `#` starts a comment line. The value
// is `deny`, or `allow` optionally followed by `,VAR=value,...`; a bare `VAR`
// means `VAR=` (empty) and values may be quoted with " or '. Netblocks:
//
//   - IPv4: a full address `192.168.0.1` or a dotted prefix `192.168.0` /
//     `192.168.` (a trailing dot is accepted and ignored);
//   - IPv6: Courier's `:hhhh:hhhh:...` form, a prefix of up to eight groups
//     (short groups are zero-padded, so `:fe80` equals `:FE80`);
//   - `*`: the default entry;
//   - as an extension, CIDR `a.b.c.d/n` (n a multiple of 8) and
//     `x:y::/n` (n a multiple of 16), converted to the forms above.
//
// Invariants: lookups try the full address, then ever shorter prefixes
// (dropping the last `.` or `:` component, as couriertcpd does), then `*`;
// the most specific entry wins and an address that matches nothing is
// allowed. Parsing never fails on a bad line: the line is skipped and
// reported, because one typo must not lock every client out. Lines longer
// than MaxLine bytes are rejected to keep memory bounded.
package access

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MaxLine is the longest accepted access-file line.
const MaxLine = 8192

// Entry is the decision stored for one netblock.
type Entry struct {
	Deny bool
	// Vars are "NAME=value" strings to add to the child's environment.
	Vars []string
}

// Table maps normalised netblock keys to entries.
type Table struct {
	m map[string]Entry
}

// Len is the number of entries.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}

// LineError reports a skipped line.
type LineError struct {
	Source string
	Line   int
	Err    error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Parse reads a text access file. Bad lines are skipped and returned as
// *LineError values; the error result is only for read failures.
func Parse(r io.Reader, source string) (*Table, []error, error) {
	t := &Table{m: map[string]Entry{}}
	warns, err := t.parseInto(r, source)
	return t, warns, err
}

func (t *Table) parseInto(r io.Reader, source string) ([]error, error) {
	var warns []error
	br := bufio.NewReaderSize(r, 4096)
	lineNo := 0
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return warns, nil
		}
		lineNo++
		if errors.Is(err, errLong) {
			warns = append(warns, &LineError{source, lineNo, err})
			continue
		}
		if err != nil {
			return warns, fmt.Errorf("access: reading %s: %w", source, err)
		}
		key, ent, ok, perr := ParseLine(line)
		if perr != nil {
			warns = append(warns, &LineError{source, lineNo, perr})
			continue
		}
		if ok {
			t.m[key] = ent
		}
	}
}

var errLong = errors.New("line too long")

// readLine returns one line without its terminator. Over-long lines are
// consumed and reported as errLong.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	long := false
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxLine+1 {
			long = true
		} else {
			buf = append(buf, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(buf) == 0 && !long {
				return "", io.EOF
			}
			break
		}
		if err != nil {
			return "", err
		}
		break
	}
	if long {
		return "", errLong
	}
	return strings.TrimRight(string(buf), "\r\n"), nil
}

// ParseLine parses one line. ok is false for blank and comment lines.
func ParseLine(line string) (key string, ent Entry, ok bool, err error) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return "", Entry{}, false, nil
	}
	i := strings.IndexAny(s, " \t")
	var rawKey, value string
	if i < 0 {
		rawKey = s // a netblock without a value: allow, no variables
	} else {
		rawKey, value = s[:i], strings.TrimSpace(s[i+1:])
	}
	key, err = NormalizeKey(rawKey)
	if err != nil {
		return "", Entry{}, false, err
	}
	ent, err = ParseValue(value)
	if err != nil {
		return "", Entry{}, false, err
	}
	return key, ent, true, nil
}

// ParseValue interprets `deny`, `allow[,VARS]` or a bare variable list
// (couriertcpd treats anything that is not deny as allow).
func ParseValue(v string) (Entry, error) {
	if strings.HasPrefix(v, "deny") {
		return Entry{Deny: true}, nil
	}
	rest := v
	if strings.HasPrefix(rest, "allow") {
		rest = strings.TrimPrefix(rest[5:], ",")
	}
	var vars []string
	var cur strings.Builder
	var quote byte
	flush := func() error {
		item := strings.TrimSpace(cur.String())
		cur.Reset()
		if item == "" {
			return nil
		}
		name, val, has := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !validName(name) {
			return fmt.Errorf("bad variable name %q", name)
		}
		if !has {
			val = ""
		}
		vars = append(vars, name+"="+val)
		return nil
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case quote == 0 && c == ',':
			if err := flush(); err != nil {
				return Entry{}, err
			}
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case c == 0:
			return Entry{}, errors.New("NUL byte in value")
		default:
			cur.WriteByte(c)
		}
	}
	if quote != 0 {
		return Entry{}, errors.New("unterminated quote")
	}
	if err := flush(); err != nil {
		return Entry{}, err
	}
	return Entry{Vars: vars}, nil
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// NormalizeKey turns a netblock as written by an administrator into the
// canonical lookup key: `*`, dotted decimal IPv4 (1-4 components, no
// leading zeros) or `:hhhh` groups (1-8, four lower-case hex digits each).
func NormalizeKey(k string) (string, error) {
	if k == "*" {
		return k, nil
	}
	if strings.Contains(k, "/") {
		return cidrKey(k)
	}
	if strings.HasPrefix(k, ":") && !strings.HasPrefix(k, "::") {
		return v6GroupsKey(k)
	}
	if strings.Contains(k, ":") {
		a, err := netip.ParseAddr(k)
		if err != nil {
			return "", fmt.Errorf("bad netblock %q: %w", k, err)
		}
		return AddrKey(a), nil
	}
	return v4Key(k)
}

func v4Key(k string) (string, error) {
	k = strings.TrimSuffix(k, ".")
	parts := strings.Split(k, ".")
	if len(parts) > 4 || k == "" {
		return "", fmt.Errorf("bad IPv4 netblock %q", k)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || p == "" || len(p) > 3 {
			return "", fmt.Errorf("bad IPv4 netblock %q", k)
		}
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, "."), nil
}

func v6GroupsKey(k string) (string, error) {
	k = strings.TrimSuffix(k[1:], ":")
	parts := strings.Split(k, ":")
	if len(parts) > 8 || k == "" {
		return "", fmt.Errorf("bad IPv6 netblock %q", k)
	}
	var b strings.Builder
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 16, 16)
		if err != nil || p == "" || len(p) > 4 {
			return "", fmt.Errorf("bad IPv6 netblock %q", ":"+k)
		}
		fmt.Fprintf(&b, ":%04x", n)
	}
	return b.String(), nil
}

func cidrKey(k string) (string, error) {
	p, err := netip.ParsePrefix(k)
	if err != nil {
		return "", fmt.Errorf("bad netblock %q: %w", k, err)
	}
	p = p.Masked()
	a := p.Addr()
	if a.Is4() {
		if p.Bits()%8 != 0 || p.Bits() == 0 {
			return "", fmt.Errorf("netblock %q: IPv4 prefix length must be 8, 16, 24 or 32", k)
		}
		b := a.As4()
		parts := make([]string, p.Bits()/8)
		for i := range parts {
			parts[i] = strconv.Itoa(int(b[i]))
		}
		return strings.Join(parts, "."), nil
	}
	if p.Bits()%16 != 0 || p.Bits() == 0 {
		return "", fmt.Errorf("netblock %q: IPv6 prefix length must be a multiple of 16", k)
	}
	full := AddrKey(a)
	return full[:5*(p.Bits()/16)], nil
}

// AddrKey is the most specific key for an address: dotted decimal for IPv4
// and IPv4-mapped IPv6 peers, `:hhhh` x 8 otherwise (couriertcpd's form).
func AddrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var sb strings.Builder
	for i := 0; i < 16; i += 2 {
		fmt.Fprintf(&sb, ":%02x%02x", b[i], b[i+1])
	}
	return sb.String()
}

// Lookup returns the entry for a, and whether any entry (including `*`)
// matched. No match means allow.
func (t *Table) Lookup(a netip.Addr) (Entry, bool) {
	if t == nil || len(t.m) == 0 {
		return Entry{}, false
	}
	k := AddrKey(a)
	for k != "" {
		if e, ok := t.m[k]; ok {
			return e, true
		}
		i := strings.LastIndexAny(k, ".:")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	e, ok := t.m["*"]
	return e, ok
}

// Load reads path, which may be a text file, a directory of text files
// (read in name order, later files override earlier ones), or a Courier
// `x.dat` gdbm file, for which the text source `x` (file or directory) is
// read instead: we do not read gdbm. notes describe what was done (for the
// log) and warns the skipped lines.
func Load(path string) (t *Table, notes []string, warns []error, err error) {
	t = &Table{m: map[string]Entry{}}
	st, err := os.Stat(path)
	if err != nil || (st.Mode().IsRegular() && isBinary(path)) {
		if src, ok := strings.CutSuffix(path, ".dat"); ok {
			if _, serr := os.Stat(src); serr == nil {
				if err != nil {
					notes = append(notes, fmt.Sprintf("%s not found; reading the text source %s", path, src))
				} else {
					notes = append(notes, fmt.Sprintf("%s is a gdbm file; reading its text source %s instead", path, src))
				}
				w, lerr := t.loadPath(src)
				return t, notes, w, lerr
			}
		}
		if err != nil {
			return nil, notes, nil, fmt.Errorf("access: %w", err)
		}
		return nil, notes, nil, fmt.Errorf("access: %s is a binary (gdbm?) file and no text source %s exists",
			path, strings.TrimSuffix(path, ".dat"))
	}
	w, err := t.loadPath(path)
	return t, notes, w, err
}

func (t *Table) loadPath(path string) ([]error, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	if !st.IsDir() {
		return t.loadFile(path)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		n := e.Name()
		// Skip editor backups and hidden files, as Courier's makedat does.
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") || e.IsDir() {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var warns []error
	for _, n := range names {
		w, err := t.loadFile(filepath.Join(path, n))
		warns = append(warns, w...)
		if err != nil {
			return warns, err
		}
	}
	return warns, nil
}

func (t *Table) loadFile(path string) ([]error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	defer f.Close()
	return t.parseInto(f, path)
}

// isBinary reports whether the start of the file has a NUL byte, which no
// text access file has and every gdbm file does.
func isBinary(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := io.ReadFull(f, buf)
	return bytes.IndexByte(buf[:n], 0) >= 0
}
