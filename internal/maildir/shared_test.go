package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseSharedMaildirs(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []SharedMaildir
	}{
		{"empty", "", nil},
		{"one", "pub\t/srv/pub\n", []SharedMaildir{{"pub", "/srv/pub"}}},
		{"space separated, no final newline", "a b /x", []SharedMaildir{{"a", "b /x"}}},
		{"blank lines", "\n\nx\t/y\n\n", []SharedMaildir{{"x", "/y"}}},
		{"name only", "lonely\n", []SharedMaildir{{"lonely", ""}}},
		{"empty name", "\t/p\n", []SharedMaildir{{"", "/p"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ParseSharedMaildirs([]byte(c.in)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func FuzzParseSharedMaildirs(f *testing.F) {
	f.Add([]byte("pub\t/srv/pub\nx y\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, e := range ParseSharedMaildirs(b) {
			if e.Name == "" && e.Path == "" {
				t.Fatalf("empty entry from %q", b)
			}
		}
	})
}

func TestAddDelSharedMaildir(t *testing.T) {
	old := GlobalSharedMaildirs
	GlobalSharedMaildirs = filepath.Join(t.TempDir(), "maildirshared")
	defer func() { GlobalSharedMaildirs = old }()
	os.WriteFile(GlobalSharedMaildirs, []byte("global\t/srv/g\n"), 0o644)
	m := newMaildir(t, Options{})
	root := m.Root()
	read := func() string { b, _ := os.ReadFile(filepath.Join(root, SharedMaildirsFile)); return string(b) }
	if err := DelSharedMaildir(root, "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("del without a list: %v", err)
	}
	steps := []struct {
		add, path, del string
		err            error
		want           string
	}{
		{add: "pub", path: "/srv/pub", want: "pub\t/srv/pub\n"},
		{add: "pub", path: "/srv/other", err: ErrSharedExists, want: "pub\t/srv/pub\n"},
		{add: "global", path: "/srv/x", err: ErrSharedExists, want: "pub\t/srv/pub\n"},
		{add: "a.b", path: "/srv/x", err: ErrSharedName, want: "pub\t/srv/pub\n"},
		{add: "a/b", path: "/srv/x", err: ErrSharedName, want: "pub\t/srv/pub\n"},
		{add: "rel", path: "srv/x", err: ErrSharedName, want: "pub\t/srv/pub\n"},
		{add: "two", path: "/srv/two", want: "pub\t/srv/pub\ntwo\t/srv/two\n"},
		{del: "nope", err: ErrSharedNotFound, want: "pub\t/srv/pub\ntwo\t/srv/two\n"},
		{del: "pub", want: "two\t/srv/two\n"},
		{del: "two", want: ""},
	}
	for i, s := range steps {
		var err error
		if s.add != "" {
			err = AddSharedMaildir(root, s.add, s.path)
		} else {
			err = DelSharedMaildir(root, s.del)
		}
		if !errors.Is(err, s.err) || (s.err == nil && err != nil) {
			t.Errorf("step %d: err %v, want %v", i, err, s.err)
		}
		if got := read(); got != s.want {
			t.Errorf("step %d: list %q, want %q", i, got, s.want)
		}
	}
	if es, _ := os.ReadDir(filepath.Join(root, "tmp")); len(es) != 0 {
		t.Errorf("tmp/ not clean: %v", es)
	}
}

// TestReadNames: the getdents arena reader lists exactly what os.ReadDir
// lists, over several getdents buffers, and reports a missing directory.
func TestReadNames(t *testing.T) {
	dir := t.TempDir()
	want := map[string]bool{}
	for i := 0; i < 3000; i++ { // > 64 KiB of dirents
		n := fmt.Sprintf("%d.M%dP1.host,S=%d:2,S", 1700000000+i, i, i)
		if i%7 == 0 {
			n = fmt.Sprintf(".hidden%d", i)
		}
		if i%11 == 0 {
			n = fmt.Sprintf("été %d", i)
		}
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
		want[n] = true
	}
	got, err := readNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d names, want %d", len(got), len(want))
	}
	for _, n := range got {
		if !want[n] {
			t.Fatalf("unexpected name %q", n)
		}
		delete(want, n)
	}
	if _, err := readNames(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}
