package keywords

import (
	"reflect"
	"testing"
)

func TestParseList(t *testing.T) {
	// From transcript 50 (.Sent/courierimapkeywords/:list).
	in := "Junk\nNonJunk\n$Label1\n\n1795687247.M606050P8541V000000000000FE00I00000000000C20E1_0.vm,S=305:0\n1795687247.M606822P8541V000000000000FE00I00000000000C2151_2.vm,S=546:2 1\n"
	got := ParseList([]byte(in))
	want := map[string][]string{
		"1795687247.M606050P8541V000000000000FE00I00000000000C20E1_0.vm,S=305": {"Junk"},
		"1795687247.M606822P8541V000000000000FE00I00000000000C2151_2.vm,S=546": {"$Label1", "NonJunk"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	cases := []struct{ name, in string }{
		{"bad index", "a\n\nm:0 7 -1 x\n"},
		{"no table end", "a\nb\n"},
		{"torn", "a\n\nm:0"},
		{"quote keyword", "\"\n\nm:0\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseList([]byte(c.in))
			for _, ks := range got {
				for _, k := range ks {
					if !Valid(k) {
						t.Errorf("invalid keyword %q", k)
					}
				}
			}
			if c.name == "bad index" && !reflect.DeepEqual(got["m"], []string{"a"}) {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestFormatList(t *testing.T) {
	kw := map[string][]string{"b": {"$Label1", "NonJunk"}, "a": {"Junk"}, "c": nil}
	out := string(FormatList([]string{"a", "b", "c"}, kw))
	if out != "Junk\n$Label1\nNonJunk\n\na:0\nb:1 2\n" {
		t.Errorf("got %q", out)
	}
	if !reflect.DeepEqual(ParseList([]byte(out)), map[string][]string{"a": {"Junk"}, "b": {"$Label1", "NonJunk"}}) {
		t.Error("round trip")
	}
}

func TestUpdateName(t *testing.T) {
	cases := []struct {
		in      string
		n       int64
		base    string
		stamped bool
		ok      bool
	}{
		{".5985625.1795686934.M1.vm,S=305", 5985625, "1795686934.M1.vm,S=305", true, true},
		{"1795686934.M1.vm", 0, "1795686934.M1.vm", false, true},
		{":list", 0, "", false, false},
		{".x.base", 0, "", false, false},
		{".12.", 0, "", false, false},
		{".", 0, "", false, false},
	}
	for _, c := range cases {
		n, base, st, ok := ParseUpdateName(c.in)
		if n != c.n || base != c.base || st != c.stamped || ok != c.ok {
			t.Errorf("%q: %d %q %v %v", c.in, n, base, st, ok)
		}
	}
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte("Junk\nNonJunk\n\nm:0 1\n"))
	f.Add([]byte("\n\n:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := ParseList(data)
		var order []string
		for b := range m {
			order = append(order, b)
		}
		m2 := ParseList(FormatList(order, m))
		for b, ks := range m {
			if len(b) > 0 && !containsNL(b) && !reflect.DeepEqual(m2[b], ks) {
				t.Fatalf("round trip of %q: %v vs %v", b, m2[b], ks)
			}
		}
		ParseUpdate(data)
		ParseUpdateName(string(data))
	})
}

func containsNL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == ':' {
			return true
		}
	}
	return false
}
