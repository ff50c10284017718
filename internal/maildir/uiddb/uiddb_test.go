package uiddb

import (
	"bytes"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		ok       bool
		uidv     uint32
		next     uint32
		entries  int
		badLines int
	}{
		{"courier example", "1 795687205 8\n2 a,S=1058\n5 b\n6 c\n7 d\n", true, 795687205, 8, 4, 0},
		{"header only", "1 795687184 1\n", true, 795687184, 1, 0, 0},
		{"no newline", "1 795687184 1", false, 0, 0, 0, 0},
		{"version 2", "2 5 6\n", false, 0, 0, 0, 0},
		{"next zero", "1 5 0\n", false, 0, 0, 0, 0},
		{"next below max", "1 5 3\n9 a\n", true, 5, 10, 1, 0},
		{"dup uid", "1 5 9\n3 a\n3 b\n", true, 5, 9, 1, 1},
		{"dup name", "1 5 9\n3 a\n4 a\n", true, 5, 9, 1, 1},
		{"torn", "1 5 9\n3 a\n4 b", true, 5, 9, 1, 1},
		{"slash", "1 5 9\n3 ../x\n", true, 5, 9, 0, 1},
		{"uid zero", "1 5 9\n0 a\n", true, 5, 9, 0, 1},
		{"max uid", "1 5 9\n4294967295 a\n", false, 0, 0, 0, 0},
		{"huge uid", "1 5 9\n99999999999 a\n", true, 5, 9, 0, 1},
		{"out of order", "1 5 9\n7 a\n3 b\n8 c\n", true, 5, 9, 3, 0},
		{"out of order dup uid", "1 5 9\n7 a\n3 b\n7 c\n3 d\n", true, 5, 9, 2, 2},
		{"dropped dup name still raises next", "1 5 3\n2 a\n12 a\n", true, 5, 13, 1, 1},
		{"dropped dup uid out of order", "1 5 3\n9 a\n4 b\n4 c\n", true, 5, 10, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := Parse([]byte(c.in))
			if db.HeaderOK != c.ok || (c.ok && (db.UIDValidity != c.uidv || db.NextUID != c.next || len(db.Entries) != c.entries || db.BadLines != c.badLines)) {
				t.Errorf("got %+v", db)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	in := "1 795687178 7\n1 1795687220.M881611P7908V000000000000FE00I00000000000C21F1_2.vm,S=54\n6 1795687288.M251403P9239V000000000000FE00I00000000000C2143_0.vm,S=302\n"
	if out := Format(Parse([]byte(in))); string(out) != in {
		t.Errorf("round trip %q", out)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("1 795687205 8\n2 a\n5 b\n"))
	f.Add([]byte("1 5 3\n9 a\n9 b\nx\n"))
	f.Add([]byte("1 5 3\n9 a\n4 b\n4 c\n12 a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db := Parse(data)
		if !db.HeaderOK {
			return
		}
		seen := map[uint32]bool{}
		for _, e := range db.Entries {
			if e.UID >= db.NextUID || e.UID == 0 || seen[e.UID] {
				t.Fatalf("UID %d can be reused (next %d)", e.UID, db.NextUID)
			}
			seen[e.UID] = true
		}
		if l := ParseNamesUnchecked(data); l.HeaderOK != db.HeaderOK || l.NextUID != db.NextUID || len(l.Entries) < len(db.Entries) {
			t.Fatalf("unchecked parse disagrees: %+v vs %+v", l, db)
		}
		db2 := Parse(Format(db))
		if !db2.HeaderOK || db2.NextUID != db.NextUID || len(db2.Entries) > len(db.Entries) {
			t.Fatalf("reparse lost state: %+v vs %+v", db2, db)
		}
		if bytes.Contains(Format(db), []byte{0}) && !bytes.Contains(data, []byte{0}) {
			t.Fatal("NUL invented")
		}
	})
}

func TestParseNamesUnchecked(t *testing.T) {
	in := "1 5 3\n2 a\n12 a\n4 b\n"
	strict, loose := Parse([]byte(in)), ParseNamesUnchecked([]byte(in))
	if len(strict.Entries) != 2 || strict.BadLines != 1 {
		t.Errorf("strict %+v", strict)
	}
	if len(loose.Entries) != 3 || loose.BadLines != 0 || loose.NextUID != strict.NextUID || loose.NextUID != 13 {
		t.Errorf("loose %+v", loose)
	}
}
