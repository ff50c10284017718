// Package acl reads, writes and evaluates Courier-IMAP's ACL files
// (courierimapacl in a folder, courierimaphieracl/<name> for virtual
// hierarchy levels; reference §9.7, §4.10).
//
// Invariants:
//   - A file is one entry per line, "<identifier> <rights>\n". Identifiers
//     are kept in Courier's internal form: owner, anyone, anonymous,
//     administrators, user=<id>, group=<name>, each optionally prefixed
//     by "-" for negative rights.
//   - Rights are the ACL2 letters (RFC 4314) "aceilrstwx" plus whatever
//     else was stored; unknown letters are preserved and echoed, as Courier
//     does ("lrz" stays "lrz").
//   - Parsing never fails on hostile input: malformed lines are skipped,
//     input is bounded by the caller.
//   - Evaluation is Courier's ACL2=UNION: the union of all matching
//     positive entries minus the union of all matching negative entries;
//     "administrators" always holds every right.
package acl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// AllRights is the full ACL2 right set Courier grants to the owner and
// administrators by default.
const AllRights = "aceilrstwx"

// Entry is one line of an ACL file.
type Entry struct {
	Identifier string // internal form, e.g. "owner", "user=bob", "-group=x"
	Rights     string // letters, normalised (sorted, unique)
}

// List is an ordered ACL. Order is preserved from the file so that a
// rewrite changes only what was edited.
type List []Entry

// Default is the ACL used when a folder has no file (reference §9.7).
func Default() List {
	return List{{"owner", AllRights}, {"administrators", AllRights}}
}

// Identity describes who asks, for MyRights.
type Identity struct {
	User   string   // authenticated user id (the "user=" part)
	Owner  bool     // true when User owns the maildir being evaluated
	Groups []string // from the account's group= options
	Anon   bool     // anonymous login
}

// NormalizeRights sorts and de-duplicates rights letters.
func NormalizeRights(r string) string {
	b := []byte{}
	seen := map[byte]bool{}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c <= ' ' || c >= 0x7f || seen[c] {
			continue
		}
		seen[c] = true
		b = append(b, c)
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// ValidIdentifier reports whether id (internal form) may be stored.
func ValidIdentifier(id string) bool {
	id = strings.TrimPrefix(id, "-")
	switch id {
	case "owner", "anyone", "anonymous", "administrators":
		return true
	}
	for _, p := range []string{"user=", "group="} {
		if strings.HasPrefix(id, p) && len(id) > len(p) {
			rest := id[len(p):]
			return !strings.ContainsAny(rest, " \t\r\n\x00")
		}
	}
	return false
}

// Parse reads an ACL file. Lines that do not parse are skipped.
func Parse(r io.Reader) (List, error) {
	var l List
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.IndexByte(line, ' ')
		var id, rights string
		if i < 0 {
			id = line
		} else {
			id, rights = line[:i], strings.TrimSpace(line[i+1:])
		}
		if !ValidIdentifier(id) {
			continue
		}
		l = l.Set(id, NormalizeRights(rights))
	}
	if err := sc.Err(); err != nil {
		return l, fmt.Errorf("acl: parse: %w", err)
	}
	return l, nil
}

// Bytes serialises the list in Courier's format.
func (l List) Bytes() []byte {
	var b bytes.Buffer
	for _, e := range l {
		b.WriteString(e.Identifier)
		b.WriteByte(' ')
		b.WriteString(e.Rights)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Get returns the rights for an identifier and whether it is present.
func (l List) Get(id string) (string, bool) {
	for _, e := range l {
		if e.Identifier == id {
			return e.Rights, true
		}
	}
	return "", false
}

// Set returns a list with id's rights replaced (appended when new).
// Empty rights remove the entry, as in RFC 4314 SETACL with "".
func (l List) Set(id, rights string) List {
	rights = NormalizeRights(rights)
	out := make(List, 0, len(l)+1)
	done := false
	for _, e := range l {
		if e.Identifier == id {
			if !done && rights != "" {
				out = append(out, Entry{id, rights})
			}
			done = true
			continue
		}
		out = append(out, e)
	}
	if !done && rights != "" {
		out = append(out, Entry{id, rights})
	}
	return out
}

// Modify applies an RFC 4314 SETACL rights argument: "+xyz" adds,
// "-xyz" removes, anything else replaces.
func (l List) Modify(id, mod string) List {
	cur, _ := l.Get(id)
	switch {
	case strings.HasPrefix(mod, "+"):
		return l.Set(id, cur+mod[1:])
	case strings.HasPrefix(mod, "-"):
		return l.Set(id, Subtract(cur, mod[1:]))
	}
	return l.Set(id, mod)
}

// Delete removes id.
func (l List) Delete(id string) List { return l.Set(id, "") }

// Subtract removes the letters of b from a.
func Subtract(a, b string) string {
	var out []byte
	for i := 0; i < len(a); i++ {
		if strings.IndexByte(b, a[i]) < 0 {
			out = append(out, a[i])
		}
	}
	return string(out)
}

// matches reports whether a (positive form) identifier applies to who.
func matches(id string, who Identity) bool {
	switch {
	case id == "anyone":
		return true
	case id == "anonymous":
		return true // maildiracl(1): a synonym for anyone
	case id == "owner":
		return who.Owner
	case id == "administrators":
		return inGroups("administrators", who.Groups)
	case strings.HasPrefix(id, "user="):
		return who.User != "" && id[5:] == who.User
	case strings.HasPrefix(id, "group="):
		return inGroups(id[6:], who.Groups)
	}
	return false
}

func inGroups(g string, gs []string) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// Rights computes ACL2=UNION for who. Members of the administrators group
// always get AllRights (reference §9.7).
func (l List) Rights(who Identity) string {
	var pos, neg string
	for _, e := range l {
		if strings.HasPrefix(e.Identifier, "-") {
			if matches(e.Identifier[1:], who) {
				r := e.Rights
				if e.Identifier == "-administrators" {
					r = Subtract(r, "la")
				}
				neg += r
			}
			continue
		}
		if matches(e.Identifier, who) {
			pos += e.Rights
		}
	}
	if inGroups("administrators", who.Groups) {
		pos += AllRights
	}
	return NormalizeRights(Subtract(pos, neg))
}

// Compute is maildiracl -compute: the union of the rights of the given
// identifiers (internal form, e.g. "owner", "user=tom") minus their
// negative rights. "anyone"/"anonymous" entries always apply.
func (l List) Compute(ids []string) string {
	has := map[string]bool{"anyone": true, "anonymous": true}
	for _, id := range ids {
		has[id] = true
		if id == "group=administrators" {
			has["administrators"] = true
		}
	}
	var pos, neg string
	for _, e := range l {
		id := e.Identifier
		if strings.HasPrefix(id, "-") {
			if has[id[1:]] {
				neg += e.Rights
			}
		} else if has[id] {
			pos += e.Rights
		}
	}
	if has["administrators"] {
		return AllRights
	}
	return NormalizeRights(Subtract(pos, neg))
}

// CheckInvariants enforces maildiracl(1)'s irrevocable rights: the owner
// keeps "a" and "l" (also against negative entries) and administrators
// keep every right. It returns the identifier that violates them.
func (l List) CheckInvariants() (string, bool) {
	owner := l.Compute([]string{"owner"})
	if strings.IndexByte(owner, 'a') < 0 || strings.IndexByte(owner, 'l') < 0 {
		return "owner", false
	}
	if r, ok := l.Get("administrators"); ok && NormalizeRights(r+AllRights) != r && Subtract(AllRights, r) != "" {
		return "administrators", false
	}
	return "", true
}

// ToRFC2086 renders ACL2 rights in the compatibility form Courier shows
// over IMAP (reference §4.10): c stays, d = any of e,t,x; e,t,x dropped.
func ToRFC2086(r string) string {
	var b []byte
	d := false
	for i := 0; i < len(r); i++ {
		switch c := r[i]; c {
		case 'e', 't', 'x':
			d = true
		default:
			b = append(b, c)
		}
	}
	if d {
		b = append(b, 'd')
	}
	return NormalizeRights(string(b))
}

// FromRFC2086 expands an IMAP rights string: d -> e t x. Other letters are
// kept as given.
func FromRFC2086(r string) string {
	return NormalizeRights(strings.ReplaceAll(r, "d", "etx"))
}
