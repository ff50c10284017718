package userdb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		user   string
		fields []Field
		err    bool
	}{
		{"courier example", "alice\tuid=5000|gid=5000|home=/srv/mail/alice|systempw=$1$x$y",
			"alice", []Field{{"uid", "5000"}, {"gid", "5000"}, {"home", "/srv/mail/alice"}, {"systempw", "$1$x$y"}}, false},
		{"value with equals", "a\toptions=disableimap=1,group=x", "a", []Field{{"options", "disableimap=1,group=x"}}, false},
		{"empty value", "a\tquota=", "a", []Field{{"quota", ""}}, false},
		{"bare field", "a\tflag", "a", []Field{{"flag", ""}}, false},
		{"trailing bar and cr", "a\tuid=1|\r", "a", []Field{{"uid", "1"}}, false},
		{"no fields", "a\t", "a", nil, false},
		{"email name", "bob@example.com\tuid=1", "bob@example.com", []Field{{"uid", "1"}}, false},
		{"no tab", "alice uid=1", "", nil, true},
		{"empty name", "\tuid=1", "", nil, true},
		{"space in name", "a b\tuid=1", "", nil, true},
		{"repeated field", "a\tuid=1|uid=2", "", nil, true},
		{"control in value", "a\tuid=1\x01", "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, fields, err := ParseLine(tc.line)
			if tc.err {
				if err == nil || !errors.Is(err, ErrSyntax) {
					t.Fatalf("want syntax error, got %v", err)
				}
				return
			}
			if err != nil || user != tc.user || len(fields) != len(tc.fields) {
				t.Fatalf("got %q %v %v", user, fields, err)
			}
			for i := range fields {
				if fields[i] != tc.fields[i] {
					t.Fatalf("field %d: %v", i, fields[i])
				}
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFileAndDir(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "userdb")
	write(t, f, "# comment\n\nalice\tuid=1|gid=2|home=/h\n  # indented comment\nbob\tuid=3|gid=4|home=/b")
	db, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 2 || db.Lookup("alice").Value("home") != "/h" || db.Lookup("bob").Line != 5 {
		t.Fatalf("%+v", db.Entries())
	}
	if db.Lookup("ALICE") != nil {
		t.Error("lookup must be case-sensitive (reference §3.3)")
	}

	d := filepath.Join(dir, "userdb.d")
	os.MkdirAll(filepath.Join(d, "sub"), 0o700)
	write(t, filepath.Join(d, "a"), "a1\tuid=1|gid=1\n")
	write(t, filepath.Join(d, "sub", "b"), "b1\tuid=2|gid=2\n")
	write(t, filepath.Join(d, ".tmp.a"), "junk without tab\n")
	write(t, filepath.Join(d, "a~"), "a1\tuid=9|gid=9\n")
	db, err = Load(d)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 2 || db.Lookup("b1") == nil {
		t.Fatalf("dir: %d entries", db.Len())
	}
	write(t, filepath.Join(d, "c"), "a1\tuid=5|gid=5\n")
	if _, err := Load(d); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("duplicate across files: %v", err)
	}
	write(t, filepath.Join(dir, "long"), "a\tx="+strings.Repeat("y", MaxLine+10)+"\n")
	if _, err := Load(filepath.Join(dir, "long")); err == nil {
		t.Error("overlong line accepted")
	}
}

func TestSourceReload(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "userdb")
	write(t, f, "alice\tuid=1|gid=1\n")
	now := time.Unix(1000, 0)
	var logs []string
	s := NewSource(f)
	s.Now = func() time.Time { return now }
	s.Log = func(m string) { logs = append(logs, m) }
	db, err := s.DB()
	if err != nil || db.Lookup("alice") == nil {
		t.Fatal(err)
	}
	// Change the file: not seen before a second has passed.
	write(t, f, "alice\tuid=1|gid=1\nbob\tuid=2|gid=2\n")
	os.Chtimes(f, time.Unix(2000, 0), time.Unix(2000, 0))
	now = now.Add(500 * time.Millisecond)
	if db, _ := s.DB(); db.Lookup("bob") != nil {
		t.Error("reloaded before the check interval")
	}
	now = now.Add(time.Second)
	if db, _ := s.DB(); db.Lookup("bob") == nil {
		t.Error("change not picked up")
	}
	// A broken file keeps the last good copy and is logged once.
	write(t, f, "garbage line\n")
	os.Chtimes(f, time.Unix(3000, 0), time.Unix(3000, 0))
	for i := 0; i < 3; i++ {
		now = now.Add(2 * time.Second)
		if db, err := s.DB(); err != nil || db.Lookup("bob") == nil {
			t.Fatalf("last good copy lost: %v", err)
		}
	}
	if len(logs) != 1 {
		t.Errorf("want one log line, got %q", logs)
	}
	// Removed file: still the last good copy.
	os.Remove(f)
	now = now.Add(2 * time.Second)
	if db, err := s.DB(); err != nil || db.Lookup("bob") == nil {
		t.Fatal("lost copy after removal")
	}
	// Reload forces a re-read.
	write(t, f, "carol\tuid=3|gid=3\n")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if db, _ := s.DB(); db.Lookup("carol") == nil || db.Lookup("bob") != nil {
		t.Error("Reload did not replace the copy")
	}
	// Never loaded: error.
	if _, err := NewSource(filepath.Join(dir, "none")).DB(); err == nil {
		t.Error("missing userdb gave no error")
	}
}

func TestApply(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "userdb")
	orig := "# keep me\nalice\tuid=1|gid=1|home=/h\n\nbob\tuid=2|gid=2\n"
	write(t, f, orig)
	if err := Apply(f, "alice", Edit{Set: []Field{{"home", "/new"}, {"quota", "10S"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f)
	if string(got) != "# keep me\nalice\tuid=1|gid=1|home=/new|quota=10S\n\nbob\tuid=2|gid=2\n" {
		t.Fatalf("set: %q", got)
	}
	if err := Apply(f, "alice", Edit{Unset: []string{"quota", "nosuch"}}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(f, "carol", Edit{Set: []Field{{"uid", "3"}}}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(f, "bob", Edit{Delete: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(f)
	if string(got) != "# keep me\nalice\tuid=1|gid=1|home=/new\n\ncarol\tuid=3\n" {
		t.Fatalf("after edits: %q", got)
	}
	if err := Apply(f, "nobody", Edit{Delete: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	if err := Apply(f, "x", Edit{Set: []Field{{"home", "a|b"}}}); err == nil {
		t.Error("value with | accepted")
	}
	st, _ := os.Stat(f)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	// New file is created 0600.
	nf := filepath.Join(dir, "new")
	if err := Apply(nf, "z", Edit{Set: []Field{{"uid", "1"}}}); err != nil {
		t.Fatal(err)
	}
	if errs := CheckPermissions(nf); len(errs) != 0 {
		t.Errorf("new file permissions: %v", errs)
	}
	os.Chmod(nf, 0o644)
	if errs := CheckPermissions(nf); len(errs) != 1 {
		t.Errorf("world-readable file not reported")
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("alice\tuid=5000|gid=5000|home=/srv/mail/alice|systempw=$1$x$y")
	f.Add("a\t|=|x")
	f.Fuzz(func(t *testing.T, line string) {
		name, fields, err := ParseLine(line)
		if err != nil {
			return
		}
		// A parsed line re-formats to a line that parses the same.
		n2, f2, err := ParseLine(FormatLine(name, fields))
		if err != nil || n2 != name || len(f2) != len(fields) {
			t.Fatalf("reformat of %q: %q %v %v", line, n2, f2, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("# c\nalice\tuid=1\n\nbob\tgid=2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(strings.NewReader(string(data)), "fuzz")
	})
}
