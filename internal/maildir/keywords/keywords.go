// Package keywords parses and formats Courier-IMAP's keyword store
// courierimapkeywords/ (reference §9.6, README.imapkeywords).
//
// Files: ":list" (consolidated state), "<base>" (fresh update) and
// ".<N>.<base>" (update stamped N = time/300). A ":list" is a keyword
// table (one per line) ended by an empty line, then "<base>:<i> <j>..."
// lines of 0-based indexes into the table. An update file holds the
// message's whole keyword set, one per line; empty means none.
//
// Invariants: parsers never panic; out-of-range indexes, empty keywords
// and keywords containing IMAP specials are dropped; sizes are bounded by
// the caller.
package keywords

import (
	"bytes"
	"strconv"
	"strings"
)

// ListFile is the consolidated file name.
const ListFile = ":list"

// Valid reports whether k may be stored as a keyword: an IMAP atom
// (RFC 3501 §9 flag-keyword) without "\".
func Valid(k string) bool {
	if k == "" || len(k) > 256 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// ParseList parses a ":list" file into base name -> keywords.
func ParseList(data []byte) map[string][]string {
	out := make(map[string][]string)
	var table []string
	inTable := true
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
			if !inTable {
				break // torn last line
			}
		}
		if inTable {
			if len(line) == 0 {
				inTable = false
				continue
			}
			table = append(table, string(line))
			continue
		}
		c := bytes.LastIndexByte(line, ':')
		if c <= 0 {
			continue
		}
		base := string(line[:c])
		var kws []string
		for _, f := range bytes.Fields(line[c+1:]) {
			n, err := strconv.Atoi(string(f))
			if err != nil || n < 0 || n >= len(table) || !Valid(table[n]) {
				continue
			}
			kws = appendUnique(kws, table[n])
		}
		if len(kws) > 0 {
			out[base] = kws
		}
	}
	return out
}

func appendUnique(l []string, k string) []string {
	for _, x := range l {
		if x == k {
			return l
		}
	}
	return append(l, k)
}

// FormatList renders base -> keywords in ":list" form. order gives the
// base names to write (messages without keywords are skipped); the table
// lists keywords in order of first use.
func FormatList(order []string, kw map[string][]string) []byte {
	idx := map[string]int{}
	var table []string
	var body bytes.Buffer
	for _, base := range order {
		ks := kw[base]
		if len(ks) == 0 {
			continue
		}
		body.WriteString(base)
		body.WriteByte(':')
		for j, k := range ks {
			n, ok := idx[k]
			if !ok {
				n = len(table)
				idx[k] = n
				table = append(table, k)
			}
			if j > 0 {
				body.WriteByte(' ')
			}
			body.WriteString(strconv.Itoa(n))
		}
		body.WriteByte('\n')
	}
	var b bytes.Buffer
	for _, k := range table {
		b.WriteString(k)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(body.Bytes())
	return b.Bytes()
}

// ParseUpdate parses an update file (one keyword per line).
func ParseUpdate(data []byte) []string {
	var out []string
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		k := string(bytes.TrimRight(l, "\r"))
		if Valid(k) {
			out = appendUnique(out, k)
		}
	}
	return out
}

// FormatUpdate renders an update file.
func FormatUpdate(kws []string) []byte {
	var b bytes.Buffer
	for _, k := range kws {
		b.WriteString(k)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseUpdateName splits an update file name. Plain "<base>" gives
// stamped=false. ok is false for ":list" and other non-update names.
func ParseUpdateName(name string) (n int64, base string, stamped, ok bool) {
	if name == "" || name == ListFile || name == "." || name == ".." {
		return 0, "", false, false
	}
	if name[0] != '.' {
		if name[0] == ':' {
			return 0, "", false, false
		}
		return 0, name, false, true
	}
	rest := name[1:]
	i := strings.IndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return 0, "", false, false
	}
	v, err := strconv.ParseInt(rest[:i], 10, 64)
	if err != nil || v < 0 {
		return 0, "", false, false
	}
	return v, rest[i+1:], true, true
}

// StampName returns ".<N>.<base>".
func StampName(n int64, base string) string {
	return "." + strconv.FormatInt(n, 10) + "." + base
}
