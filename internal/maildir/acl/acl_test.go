package acl

import (
	"strings"
	"testing"
)

func TestParseAndRights(t *testing.T) {
	in := "owner aceilrstwx\nadministrators aceilrstwx\nuser=bob lrz\n-user=bob r\ngroup=staff lrsw\nbogus x\nanyone l\n-administrators la\n"
	l, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 7 {
		t.Fatalf("entries %v", l)
	}
	cases := []struct {
		name string
		who  Identity
		want string
	}{
		{"owner", Identity{User: "alice", Owner: true}, "aceilrstwx"},
		{"bob negative r", Identity{User: "bob"}, "lz"},
		{"staff group", Identity{User: "carol", Groups: []string{"staff"}}, "lrsw"},
		{"anyone", Identity{User: "dave"}, "l"},
		{"admin keeps all", Identity{User: "root", Groups: []string{"administrators"}}, "aceilrstwx"},
	}
	for _, c := range cases {
		if got := l.Rights(c.who); got != c.want {
			t.Errorf("%s: %q want %q", c.name, got, c.want)
		}
	}
}

func TestModify(t *testing.T) {
	l := Default().Modify("user=bob", "lr").Modify("user=bob", "+w").Modify("user=bob", "-r")
	if r, _ := l.Get("user=bob"); r != "lw" {
		t.Errorf("got %q", r)
	}
	l = l.Modify("user=bob", "")
	if _, ok := l.Get("user=bob"); ok {
		t.Error("empty rights kept entry")
	}
	if string(Default().Bytes()) != "owner aceilrstwx\nadministrators aceilrstwx\n" {
		t.Error("default bytes")
	}
}

func TestRFC2086(t *testing.T) {
	if got := ToRFC2086("aceilrstwx"); got != "acdilrsw" {
		t.Errorf("got %q", got)
	}
	if got := ToRFC2086("lrz"); got != "lrz" {
		t.Errorf("got %q", got)
	}
	if got := FromRFC2086("lrd"); got != "elrtx" {
		t.Errorf("got %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("owner aceilrstwx\nuser=bob lrz\n-anyone r\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, _ := Parse(strings.NewReader(s))
		l2, _ := Parse(strings.NewReader(string(l.Bytes())))
		if len(l2) != len(l) {
			t.Fatalf("round trip %v vs %v", l, l2)
		}
		l.Rights(Identity{User: "x", Groups: []string{"administrators"}})
	})
}
