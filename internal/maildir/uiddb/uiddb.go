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
func Parse(data []byte) DB {
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
	seenUID := make(map[uint32]struct{})
	seenName := make(map[string]struct{})
	var maxUID uint32
	for len(rest) > 0 {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
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
		name := line[sp+1:]
		if !ok || uid == 0 || bytes.IndexByte(name, '/') >= 0 || bytes.IndexByte(name, 0) >= 0 {
			db.BadLines++
			continue
		}
		if uid > maxUID {
			maxUID = uid
		}
		if _, dup := seenUID[uid]; dup {
			db.BadLines++
			continue
		}
		if _, dup := seenName[string(name)]; dup {
			db.BadLines++
			continue
		}
		seenUID[uid] = struct{}{}
		seenName[string(name)] = struct{}{}
		db.Entries = append(db.Entries, Entry{uid, string(name)})
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
	for _, e := range db.Entries {
		b = strconv.AppendUint(b, uint64(e.UID), 10)
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, '\n')
	}
	return b
}
