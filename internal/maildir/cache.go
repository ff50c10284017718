package maildir

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// The snapshot cache makes a new session's SELECT of an unchanged big
// folder cheap: it records the folder's state (UIDs, file names with
// flags, keywords) together with the stamps of cur/, new/, the keyword
// directory and the uiddb's identity. When all stamps are equal and none
// is "racy" (modified within 2 s of being recorded, so a later change in
// the same clock tick cannot hide), the cache is used instead of readdir
// + uiddb parse + match. Any change by anyone (delivery, Courier's
// imapd, a flag rename, a keyword update, a uiddb rewrite) changes a
// stamp and the cache is ignored. It is only a cache: a damaged or
// unexpected file is ignored, and Courier never reads it.
const cacheFile = "gocourierimapcache"

const cacheMagic = "GOCOURIERCACHE1"

func cacheHeader(s dirStamp, kwOn bool, uidv, next uint32, n int) string {
	return fmt.Sprintf("%s %d %d %d %d %d %d %t %d %d %d\n", cacheMagic, s.cur, s.new, s.kw, s.dbIno, s.dbSize, s.dbM, kwOn, uidv, next, n)
}

// loadCache returns the cached state if it matches stamp exactly.
func (m *Maildir) loadCache(dir string, stamp dirStamp) (scanResult, bool) {
	var res scanResult
	if !stamp.valid || stamp.dbM < 0 {
		return res, false
	}
	data, err := readFileLimit(filepath.Join(dir, cacheFile), maxMetaFile)
	if err != nil {
		return res, false
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return res, false
	}
	h := strings.Fields(string(data[:nl]))
	if len(h) != 11 || h[0] != cacheMagic {
		return res, false
	}
	uidv, e1 := strconv.ParseUint(h[8], 10, 32)
	next, e2 := strconv.ParseUint(h[9], 10, 32)
	n, e3 := strconv.Atoi(h[10])
	if e1 != nil || e2 != nil || e3 != nil || n < 0 || n > len(data) {
		return res, false
	}
	if string(data[:nl+1]) != cacheHeader(stamp, m.opts.Keywords, uint32(uidv), uint32(next), n) {
		return res, false
	}
	res.uidv, res.next, res.saved = uint32(uidv), uint32(next), true
	// One string for the whole body: names and keywords are substrings
	// of it, and all messages live in one slice (few allocations).
	// The bytes are never written again, so they become that string
	// without a copy (a 100,000-message cache is ~4.5 MB).
	body := data[nl+1:]
	var rest string
	if len(body) > 0 {
		rest = unsafe.String(&body[0], len(body))
	}
	store := make([]msg, n)
	res.entries = make([]*msg, 0, n)
	var prev uint32
	for k := 0; len(rest) > 0; k++ {
		i := strings.IndexByte(rest, '\n')
		if i < 0 || k >= n {
			return res, false
		}
		line := rest[:i]
		rest = rest[i+1:]
		sp := strings.IndexByte(line, ' ')
		if sp <= 0 {
			return res, false
		}
		u, err := strconv.ParseUint(line[:sp], 10, 32)
		if err != nil || uint32(u) <= prev || uint32(u) >= res.next {
			return res, false
		}
		prev = uint32(u)
		line = line[sp+1:]
		name := line
		var kw []string
		if sp = strings.IndexByte(line, ' '); sp >= 0 {
			name = line[:sp]
			kw = strings.Fields(line[sp+1:])
		}
		if name == "" {
			return res, false
		}
		b, _, _ := splitName(name)
		x := &store[k]
		*x = msg{uid: uint32(u), base: b, name: name, flags: flagsOf(name), kw: kw, crlf: -1}
		res.entries = append(res.entries, x)
	}
	if len(res.entries) != n {
		return res, false
	}
	return res, true
}

// saveCache writes the state of f if stamp (taken before the scan) still
// describes the directories and nothing is racy.
func (f *Folder) saveCache(pre dirStamp) {
	post, ok := statStamp(f.dir)
	if !ok || !pre.valid || post.cur != pre.cur || post.new != pre.new || post.kw != pre.kw || post.dbM < 0 {
		os.Remove(filepath.Join(f.dir, cacheFile))
		return
	}
	if nn, err := readNames(filepath.Join(f.dir, "new")); err != nil || len(nn) > 0 {
		return
	}
	var b bytes.Buffer
	b.Grow(len(f.msgs) * 100)
	b.WriteString(cacheHeader(post, f.m.opts.Keywords, f.uidv, f.next, len(f.msgs)))
	for _, x := range f.msgs {
		if strings.ContainsAny(x.name, " \n") {
			os.Remove(filepath.Join(f.dir, cacheFile))
			return // names with spaces: do not cache
		}
		b.WriteString(strconv.FormatUint(uint64(x.uid), 10))
		b.WriteByte(' ')
		b.WriteString(x.name)
		for _, k := range x.kw {
			b.WriteByte(' ')
			b.WriteString(k)
		}
		b.WriteByte('\n')
	}
	// No fsync: the cache is never the only copy of anything, and a file
	// lost or cut short by a crash fails the header/count checks.
	f.m.writeFileRename(f.dir, cacheFile, b.Bytes(), 0o600, false)
}
