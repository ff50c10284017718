package quota

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	// From transcript 50 (alice's maildirsize).
	in := "10000000S,1000C\n        1665            3\n         546            1\n         556            1\n          54            1\n           1            1\n        -302           -1\n        1363            2\n        1102            2\n         305            1\n        -305           -1\n        -546           -1\n         302            1\n"
	f, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if f.Spec != (Spec{10000000, 1000}) || f.Bytes != 4741 || f.Count != 10 || f.Lines != 12 {
		t.Errorf("got %+v", f)
	}
	cases := []struct {
		name  string
		in    string
		bytes int64
		bad   int
		trunc bool
	}{
		{"torn last", "100S\n 5 1\n 7", 5, 0, true},
		{"garbage", "100S\nx y\n1 2 3\n4 1\n", 4, 2, false},
		{"empty", "", 0, 0, false},
	}
	for _, c := range cases {
		f, _ := Parse(strings.NewReader(c.in))
		if f.Bytes != c.bytes || f.BadLines != c.bad || f.Truncated != c.trunc {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}

func TestSpec(t *testing.T) {
	cases := []struct {
		in   string
		want Spec
		ok   bool
	}{
		{"10000000S,1000C", Spec{10000000, 1000}, true},
		{"1000C", Spec{0, 1000}, true},
		{"", Spec{}, true},
		{"5X", Spec{}, false},
		{"-5S", Spec{}, false},
	}
	for _, c := range cases {
		got, err := ParseSpec(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%q: %+v %v", c.in, got, err)
		}
	}
	if DeltaLine(-302, -1) != "        -302           -1\n" || len(DeltaLine(1, 1)) != 26 {
		t.Error("delta line format")
	}
	s := Spec{100, 2}
	if s.Over(50, 1, 50, 1) || !s.Over(50, 1, 51, 0) || !s.Over(0, 2, 1, 1) || s.Over(500, 9, -5, -1) {
		t.Error("Over")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("10000000S,1000C\n        1665            3\n")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		ParseSpec(q.SpecLine)
	})
}
