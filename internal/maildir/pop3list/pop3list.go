// Package pop3list parses and formats courierpop3dsizelist, Courier's
// POP3 UIDL and size cache (reference §9.10).
//
//	/3 <nextuid> <uidvalidity>\n
//	<file name as in cur/, with :2,flags> <crlf-size> <uid>:<uidv>:<isutf8>\n
//
// Version 2 lines lack ":<isutf8>" and are read as not UTF-8 (and the
// file is then rewritten as version 3). Invariants: Parse never panics;
// an unusable header makes OK false (the cache is then ignored, as
// Courier does); bad lines are skipped; file names may contain spaces
// (the last two fields are split off from the right).
package pop3list

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Version is the list version written.
const Version = 3

// Entry is one cached message.
type Entry struct {
	Name   string // file name in cur/ (flags included; matching ignores them)
	Size   int64  // CRLF size
	UID    uint64
	UIDV   uint64
	IsUTF8 bool
}

// List is a parsed sizelist.
type List struct {
	OK      bool
	Version int
	NextUID uint64
	UIDV    uint64
	Entries []Entry
}

// Parse parses the file.
func Parse(data []byte) List {
	var l List
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || len(data) == 0 || data[0] != '/' {
		return l
	}
	h := strings.Fields(string(data[1:nl]))
	if len(h) < 2 {
		return l
	}
	v, err := strconv.Atoi(h[0])
	if err != nil || (v != Version && v != Version-1) {
		return l
	}
	nu, err := strconv.ParseUint(h[1], 10, 64)
	if err != nil {
		return l
	}
	l.OK, l.Version, l.NextUID = true, v, nu
	if len(h) >= 3 {
		l.UIDV, _ = strconv.ParseUint(h[2], 10, 64)
	}
	rest := data[nl+1:]
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break // torn last line
		}
		line := string(rest[:i])
		rest = rest[i+1:]
		p := strings.LastIndexByte(line, ' ')
		if p <= 0 {
			continue
		}
		q := strings.LastIndexByte(line[:p], ' ')
		if q <= 0 {
			continue
		}
		name, sizeS, uidS := line[:q], line[q+1:p], line[p+1:]
		if strings.ContainsAny(name, "/\x00") {
			continue
		}
		size, err := strconv.ParseInt(sizeS, 10, 64)
		if err != nil || size < 0 {
			continue
		}
		parts := strings.Split(uidS, ":")
		if len(parts) == 2 {
			parts = append(parts, "0")
		}
		if len(parts) != 3 {
			continue
		}
		u, e1 := strconv.ParseUint(parts[0], 10, 64)
		uv, e2 := strconv.ParseUint(parts[1], 10, 64)
		ut, e3 := strconv.Atoi(parts[2])
		if e1 != nil || e2 != nil || e3 != nil {
			continue
		}
		l.Entries = append(l.Entries, Entry{Name: name, Size: size, UID: u, UIDV: uv, IsUTF8: ut != 0})
	}
	return l
}

// Format renders a version 3 list.
func Format(nextUID, uidv uint64, entries []Entry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/%d %d %d\n", Version, nextUID, uidv)
	for _, e := range entries {
		u := 0
		if e.IsUTF8 {
			u = 1
		}
		fmt.Fprintf(&b, "%s %d %d:%d:%d\n", e.Name, e.Size, e.UID, e.UIDV, u)
	}
	return b.Bytes()
}

// UIDL renders the POP3 UIDL string: "UID<n>-<uidv>", or "UID<n>" when
// uidv is 0.
func UIDL(uid, uidv uint64) string {
	if uidv == 0 {
		return "UID" + strconv.FormatUint(uid, 10)
	}
	return "UID" + strconv.FormatUint(uid, 10) + "-" + strconv.FormatUint(uidv, 10)
}

// Compare orders file names as Courier's POP3 server does: by the leading
// decimal number (arrival time), then bytewise up to the ':' of the info
// part. 0 means "same message".
func Compare(a, b string) int {
	na, nb := leadingNum(a), leadingNum(b)
	if na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	for i := 0; i < len(a) || i < len(b); i++ {
		var ca, cb byte
		if i < len(a) {
			ca = a[i]
		}
		if i < len(b) {
			cb = b[i]
		}
		if ca == ':' && cb == ':' {
			return 0
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return 0
}

// LeadingNum is the number Compare orders by first (callers sorting many
// names compute it once per name).
func LeadingNum(s string) int64 { return leadingNum(s) }

func leadingNum(s string) int64 {
	var n int64
	neg := false
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (1<<62)/10 {
			break
		}
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n
}
