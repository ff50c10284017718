package access

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNormalizeKey(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "*", want: "*"},
		{in: "192.168.0.1", want: "192.168.0.1"},
		{in: "192.168.", want: "192.168"},
		{in: "192.168", want: "192.168"},
		{in: "010.001", want: "10.1"},
		{in: "10", want: "10"},
		{in: "1.2.3.4.5", bad: true},
		{in: "256.1", bad: true},
		{in: "a.b", bad: true},
		{in: "1..2", bad: true},
		{in: ".", bad: true},
		{in: ":fe80", want: ":fe80"},
		{in: ":FE80:1:", want: ":fe80:0001"},
		{in: ":1:2:3:4:5:6:7:8", want: ":0001:0002:0003:0004:0005:0006:0007:0008"},
		{in: ":1:2:3:4:5:6:7:8:9", bad: true},
		{in: ":12345", bad: true},
		{in: ":", bad: true},
		{in: "::1", want: ":0000:0000:0000:0000:0000:0000:0000:0001"},
		{in: "2001:db8::/32", want: ":2001:0db8"},
		{in: "2001:db8::/33", bad: true},
		{in: "10.1.0.0/16", want: "10.1"},
		{in: "10.1.0.0/12", bad: true},
		{in: "0.0.0.0/0", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeKey(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("NormalizeKey(%q) = %q, want error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Entry
		bad  bool
	}{
		{"deny", "deny", Entry{Deny: true}, false},
		{"allow", "allow", Entry{}, false},
		{"empty", "", Entry{}, false},
		{"allow vars", "allow,RELAYCLIENT,FOO=bar", Entry{Vars: []string{"RELAYCLIENT=", "FOO=bar"}}, false},
		{"quoted comma", `allow,MSG="a, b",X='y'`, Entry{Vars: []string{"MSG=a, b", "X=y"}}, false},
		{"bare vars", "MAXCPERIP=50", Entry{Vars: []string{"MAXCPERIP=50"}}, false},
		{"spaces trimmed", "allow, A = 1 ", Entry{Vars: []string{"A= 1"}}, false},
		{"unterminated", `allow,A="x`, Entry{}, true},
		{"bad name", "allow,1A=2", Entry{}, true},
		{"bad name chars", "allow,A-B=2", Entry{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseValue(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseValue(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

const sample = `# test access file
*	allow,DEFAULT=1
10.	deny
10.1.2	allow,NET=10.1.2
10.1.2.3	deny
192.168.0.1	allow,HOST=yes,RELAYCLIENT
:2001:0db8	deny
:2001:0db8:0000:0001	allow,SIX=1
bogus line here
1.2.3.4.5	allow
`

func TestLookupMostSpecific(t *testing.T) {
	tab, warns, err := Parse(strings.NewReader(sample), "sample")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 2 {
		t.Fatalf("want 2 warnings (bogus, 5 components), got %v", warns)
	}
	tests := []struct {
		ip      string
		deny    bool
		vars    []string
		matched bool
	}{
		{"10.9.9.9", true, nil, true},
		{"::ffff:10.9.9.9", true, nil, true},
		{"10.1.2.4", false, []string{"NET=10.1.2"}, true},
		{"10.1.2.3", true, nil, true},
		{"192.168.0.1", false, []string{"HOST=yes", "RELAYCLIENT="}, true},
		{"192.168.0.2", false, []string{"DEFAULT=1"}, true},
		{"2001:db8::5", true, nil, true},
		{"2001:db8:0:1::5", false, []string{"SIX=1"}, true},
		{"2001:db9::1", false, []string{"DEFAULT=1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			e, ok := tab.Lookup(netip.MustParseAddr(tc.ip))
			if ok != tc.matched || e.Deny != tc.deny || !reflect.DeepEqual(e.Vars, tc.vars) {
				t.Fatalf("Lookup(%s) = %+v, %v; want deny=%v vars=%v", tc.ip, e, ok, tc.deny, tc.vars)
			}
		})
	}
}

func TestLookupNoDefaultAllows(t *testing.T) {
	tab, _, _ := Parse(strings.NewReader("10.0.0.1\tdeny\n"), "x")
	if e, ok := tab.Lookup(netip.MustParseAddr("10.0.0.2")); ok || e.Deny {
		t.Fatalf("unmatched address must be allowed, got %+v %v", e, ok)
	}
	var nilTab *Table
	if _, ok := nilTab.Lookup(netip.MustParseAddr("10.0.0.2")); ok {
		t.Fatal("nil table matched")
	}
}

func TestLongLineSkipped(t *testing.T) {
	in := "1.2.3.4\tallow,A=" + strings.Repeat("x", MaxLine+10) + "\n5.6.7.8\tdeny\n"
	tab, warns, err := Parse(strings.NewReader(in), "x")
	if err != nil || len(warns) != 1 {
		t.Fatalf("err=%v warns=%v", err, warns)
	}
	if e, _ := tab.Lookup(netip.MustParseAddr("5.6.7.8")); !e.Deny {
		t.Fatal("line after the long line lost")
	}
}

func TestLoadVariants(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "imapaccess")
	os.WriteFile(txt, []byte("1.2.3.4\tdeny\n"), 0o644)
	gdbm := filepath.Join(dir, "imapaccess.dat")
	os.WriteFile(gdbm, []byte("\x13\x57\x9a\xce\x00\x00binary"), 0o644)
	d := filepath.Join(dir, "accdir")
	os.Mkdir(d, 0o755)
	os.WriteFile(filepath.Join(d, "a"), []byte("5.6.7.8\tdeny\n"), 0o644)
	os.WriteFile(filepath.Join(d, "b"), []byte("5.6.7.8\tallow,LATER=1\n"), 0o644)
	os.WriteFile(filepath.Join(d, "b~"), []byte("9.9.9.9\tdeny\n"), 0o644)
	dirDat := filepath.Join(dir, "accdir.dat")

	t.Run("text", func(t *testing.T) {
		tab, notes, _, err := Load(txt)
		if err != nil || len(notes) != 0 || tab.Len() != 1 {
			t.Fatalf("%v %v %d", err, notes, tab.Len())
		}
	})
	t.Run("gdbm falls back to source", func(t *testing.T) {
		tab, notes, _, err := Load(gdbm)
		if err != nil || len(notes) != 1 || tab.Len() != 1 {
			t.Fatalf("%v %v", err, notes)
		}
	})
	t.Run("missing dat uses directory source", func(t *testing.T) {
		tab, notes, _, err := Load(dirDat)
		if err != nil || len(notes) != 1 {
			t.Fatalf("%v %v", err, notes)
		}
		e, _ := tab.Lookup(netip.MustParseAddr("5.6.7.8"))
		if e.Deny || len(e.Vars) != 1 {
			t.Fatalf("later file must override: %+v", e)
		}
		if e, _ := tab.Lookup(netip.MustParseAddr("9.9.9.9")); e.Deny {
			t.Fatal("backup file b~ was read")
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, _, _, err := Load(filepath.Join(dir, "nope")); err == nil {
			t.Fatal("want error")
		}
	})
	t.Run("binary without source", func(t *testing.T) {
		p := filepath.Join(dir, "other.dat")
		os.WriteFile(p, []byte("\x00\x01"), 0o644)
		if _, _, _, err := Load(p); err == nil {
			t.Fatal("want error")
		}
	})
}

func FuzzParseAccess(f *testing.F) {
	f.Add(sample)
	f.Add("*\tallow,A=\"b,c\"\n:fe80\tdeny\n")
	f.Add("1.2.3.0/24 allow,'x\n")
	f.Fuzz(func(t *testing.T, s string) {
		tab, _, err := Parse(strings.NewReader(s), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"1.2.3.4", "::1", "fe80::1", "10.0.0.1"} {
			e, _ := tab.Lookup(netip.MustParseAddr(a))
			for _, v := range e.Vars {
				if !strings.Contains(v, "=") || strings.IndexByte(v, 0) >= 0 {
					t.Fatalf("bad var %q", v)
				}
			}
		}
	})
}
