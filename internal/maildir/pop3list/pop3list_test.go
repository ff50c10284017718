package pop3list

import (
	"testing"
)

func TestParse(t *testing.T) {
	// From transcript 50 (carol's courierpop3dsizelist).
	in := "/3 2 1795687645\n1795687520.M127617P18598V000000000000FE00I00000000000DA008.vm,S=305:2, 319 1:1795687645:0\n"
	l := Parse([]byte(in))
	if !l.OK || l.NextUID != 2 || l.UIDV != 1795687645 || len(l.Entries) != 1 {
		t.Fatalf("got %+v", l)
	}
	e := l.Entries[0]
	if e.Size != 319 || e.UID != 1 || e.UIDV != 1795687645 || e.IsUTF8 || UIDL(e.UID, e.UIDV) != "UID1-1795687645" {
		t.Errorf("entry %+v", e)
	}
	if string(Format(l.NextUID, l.UIDV, l.Entries)) != in {
		t.Error("round trip")
	}
	cases := []struct {
		name string
		in   string
		ok   bool
		n    int
	}{
		{"version 2", "/2 3 7\nname with space:2, 10 2:7\n", true, 1},
		{"version 1", "/1 3 7\n", false, 0},
		{"no slash", "3 2 7\n", false, 0},
		{"bad lines", "/3 3 7\nx\na b\na 1 x:y:z\na -1 1:2:0\n", true, 0},
		{"torn", "/3 3 7\na 1 1:2:0", true, 0},
	}
	for _, c := range cases {
		l := Parse([]byte(c.in))
		if l.OK != c.ok || len(l.Entries) != c.n {
			t.Errorf("%s: %+v", c.name, l)
		}
	}
	if UIDL(4, 0) != "UID4" {
		t.Error("uidv 0")
	}
}

func TestCompare(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"9.x:2,S", "10.x:2,", -1},
		{"10.a:2,S", "10.a:2,", 0},
		{"10.a", "10.b", -1},
		{"10.b:2,", "10.a:2,", 1},
	}
	for _, c := range cases {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%q,%q)=%d", c.a, c.b, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("/3 2 1795687645\nname:2, 319 1:1795687645:0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := Parse(data)
		if !l.OK {
			return
		}
		l2 := Parse(Format(l.NextUID, l.UIDV, l.Entries))
		if !l2.OK || len(l2.Entries) != len(l.Entries) {
			t.Fatalf("round trip lost entries: %d vs %d", len(l2.Entries), len(l.Entries))
		}
	})
}
