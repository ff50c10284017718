// Package uiddb parses and formats courierimapuiddb, Courier-IMAP's
// per-folder UID database (reference §9.4).
//
// Format (IMAPDBVERSION 1):
//
//	1 <uidvalidity> <nextuid>\n
//	<uid> <base file name>\n   (one per message)
//
// Invariants: Parse never fails and never panics. A header that is not
// version 1 or does not parse makes HeaderOK false: the caller must treat
// the database as missing (a new UIDVALIDITY), exactly as Courier does, so
// Courier and we renumber the same way. When the header parses, NextUID is
// raised to at least max(UID seen in any line)+1 so that a UID can never
// be handed out twice under one UIDVALIDITY, even if the header was
// damaged or hand-edited. Lines that do not parse, repeat a UID or repeat a
// name are dropped (their files then get fresh UIDs >= NextUID).
package uiddb

import (
	"bytes"
	"strconv"
)

// Entry maps a UID to a message's base file name (no ":2,flags").
type Entry struct {
	UID  uint32
	Name string
}

// DB is a parsed uiddb.
type DB struct {
	HeaderOK    bool
	UIDValidity uint32
	NextUID     uint32
	Entries     []Entry // in file order
	BadLines    int
}

func parseU32(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	return uint32(n), err == nil
}

// Parse parses data (the whole file).
func Parse(data []byte) DB { return parse(data, true) }

// ParseNamesUnchecked is Parse except that a repeated name is kept (every
// other rule holds, and the repeated line's UID still raises NextUID). It
// spares a map of every name for a caller that matches the entries
// against the directory anyway and drops a repeat there (the folder
// scan): a 100,000-line file costs 100,000 fewer map inserts.
func ParseNamesUnchecked(data []byte) DB { return parse(data, false) }

func parse(data []byte, checkNames bool) DB {
	var db DB
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return db
	}
	h := bytes.Fields(data[:nl])
	if len(h) != 3 || string(h[0]) != "1" {
		return db
	}
	uv, ok1 := parseU32(h[1])
	nx, ok2 := parseU32(h[2])
	if !ok1 || !ok2 || nx == 0 {
		return db
	}
	db.HeaderOK, db.UIDValidity, db.NextUID = true, uv, nx
	rest := data[nl+1:]
	// One string for all names (substrings of it), entries sized from
	// the line count, and no UID set while UIDs ascend (as Courier and we
	// write them): a 100,000-line file costs a few allocations, not
	// 200,000 map inserts and 100,000 strings.
	text := string(rest)
	lines := bytes.Count(rest, []byte{'\n'})
	db.Entries = make([]Entry, 0, lines)
	var seenUID map[uint32]struct{}
	var seenName map[string]struct{}
	if checkNames {
		seenName = make(map[string]struct{}, lines)
	}
	var maxUID uint32
	off := 0
	for off < len(rest) {
		var line []byte
		var lineOff int
		if i := bytes.IndexByte(rest[off:], '\n'); i >= 0 {
			line, lineOff = rest[off:off+i], off
			off += i + 1
		} else {
			// Torn last line (crash during a non-atomic write by
			// someone else): ignore it.
			db.BadLines++
			break
		}
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 || sp == len(line)-1 {
			db.BadLines++
			continue
		}
		uid, ok := parseU32(line[:sp])
		nameB := line[sp+1:]
		if !ok || uid == 0 || bytes.IndexByte(nameB, '/') >= 0 || bytes.IndexByte(nameB, 0) >= 0 {
			db.BadLines++
			continue
		}
		name := text[lineOff+sp+1 : lineOff+len(line)]
		// Every well-formed line raises NextUID, even one dropped
		// below as a repeat: its UID may have been handed out.
		prevMax := maxUID
		if uid > maxUID {
			maxUID = uid
		}
		if uid <= prevMax {
			// Out of order: from here on, UIDs are checked in a set
			// (built once from the entries so far).
			if seenUID == nil {
				seenUID = make(map[uint32]struct{}, len(db.Entries)+1)
				for _, e := range db.Entries {
					seenUID[e.UID] = struct{}{}
				}
			}
			if _, dup := seenUID[uid]; dup {
				db.BadLines++
				continue
			}
		}
		if checkNames {
			if _, dup := seenName[name]; dup {
				db.BadLines++
				continue
			}
			seenName[name] = struct{}{}
		}
		if seenUID != nil {
			seenUID[uid] = struct{}{}
		}
		db.Entries = append(db.Entries, Entry{uid, name})
	}
	if maxUID != 0 && db.NextUID <= maxUID {
		if maxUID == ^uint32(0) {
			// No UID left under this UIDVALIDITY: force a new one.
			db.HeaderOK = false
			db.Entries = nil
			return db
		}
		db.NextUID = maxUID + 1
	}
	return db
}

// Header returns the header line.
func Header(uidv, next uint32) []byte {
	return []byte("1 " + strconv.FormatUint(uint64(uidv), 10) + " " + strconv.FormatUint(uint64(next), 10) + "\n")
}

// Format renders db; entries are written in the given order (callers
// keep them sorted by UID, as Courier does).
func Format(db DB) []byte {
	n := 32
	for _, e := range db.Entries {
		n += len(e.Name) + 12
	}
	b := make([]byte, 0, n)
	b = append(b, Header(db.UIDValidity, db.NextUID)...)
	return AppendLines(b, db.Entries)
}

// AppendLines appends the entry lines of es to b (Format without the
// header): a writer that keeps the lines it wrote last time adds only
// the new ones.
func AppendLines(b []byte, es []Entry) []byte {
	for _, e := range es {
		b = strconv.AppendUint(b, uint64(e.UID), 10)
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, '\n')
	}
	return b
}
