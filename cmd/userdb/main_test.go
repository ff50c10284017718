package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocourier/internal/testenv"
)

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// build compiles this command once per test run.
func build(t *testing.T, pkg string) string {
	t.Helper()
	goTool := testenv.NeedProgram(t, "go", "golang")
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "userdb-test-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "userdb")
		cmd := exec.Command(goTool, "build", "-o", buildBin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
}

type result struct {
	out, err string
	rc       int
}

func run(t *testing.T, bin, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	rc := 0
	if x, ok := err.(*exec.ExitError); ok {
		rc = x.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{o.String(), e.String(), rc}
}

func TestUserdbEdits(t *testing.T) {
	bin := build(t, ".")
	dir := t.TempDir()
	f := filepath.Join(dir, "userdb")
	steps := []struct {
		stdin string
		args  []string
		rc    int
		file  string
	}{
		{"", []string{"-f", f, "alice", "set", "uid=1", "gid=2", "home=/h"}, 0, "alice\tuid=1|gid=2|home=/h\n"},
		{"", []string{"-f", f, "bob", "set", "uid=3"}, 0, "alice\tuid=1|gid=2|home=/h\nbob\tuid=3\n"},
		{"s3cret\n", []string{"-f", f, "alice", "set", "systempw", "home=/new"}, 0, "alice\tuid=1|gid=2|home=/new|systempw=s3cret\nbob\tuid=3\n"},
		{"", []string{"-f", f, "alice", "unset", "systempw", "home"}, 0, "alice\tuid=1|gid=2\nbob\tuid=3\n"},
		{"", []string{"-f", f, "nobody", "del"}, 0, "alice\tuid=1|gid=2\nbob\tuid=3\n"},
		{"", []string{"-f", f, "nobody", "unset", "uid"}, 0, "alice\tuid=1|gid=2\nbob\tuid=3\n"},
		{"", []string{"-f", f, "alice", "set", "x=a|b"}, 22, "alice\tuid=1|gid=2\nbob\tuid=3\n"},
		{"", []string{"-f", f, "bob", "del"}, 0, "alice\tuid=1|gid=2\n"},
		{"", []string{"-f", f, "alice"}, 1, "alice\tuid=1|gid=2\n"},
	}
	for i, s := range steps {
		r := run(t, bin, s.stdin, nil, s.args...)
		if r.rc != s.rc {
			t.Fatalf("step %d %v: rc %d want %d (%s)", i, s.args, r.rc, s.rc, r.err)
		}
		b, _ := os.ReadFile(f)
		if string(b) != s.file {
			t.Fatalf("step %d %v: file %q want %q", i, s.args, b, s.file)
		}
	}
	st, _ := os.Stat(f)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if r := run(t, bin, "", nil, "-show", "-f", f); r.out != "alice\n" {
		t.Errorf("-show: %q", r.out)
	}
	if r := run(t, bin, "", nil, "-show", "-f", f, "alice"); r.out != "uid=1\ngid=2\n" {
		t.Errorf("-show alice: %q", r.out)
	}
}

// The USERDB directory form: "path/name" edits the file path inside it.
func TestUserdbDirectory(t *testing.T) {
	bin := build(t, ".")
	dir := t.TempDir()
	udb := filepath.Join(dir, "userdb")
	os.Mkdir(udb, 0o700)
	rc := filepath.Join(dir, "authdaemonrc")
	os.WriteFile(rc, []byte("USERDB="+udb+"\n"), 0o600)
	env := []string{"AUTHDAEMONRC=" + rc}
	if r := run(t, bin, "", env, "example.com/info", "set", "uid=1", "gid=1", "mail=/m"); r.rc != 0 {
		t.Fatalf("rc %d %s", r.rc, r.err)
	}
	b, err := os.ReadFile(filepath.Join(udb, "example.com"))
	if err != nil || string(b) != "info\tuid=1|gid=1|mail=/m\n" {
		t.Fatalf("%q %v", b, err)
	}
	if r := run(t, bin, "", env, "info", "set", "uid=1"); r.rc == 0 {
		t.Error("name without path accepted for a directory userdb")
	}
	if r := run(t, bin, "", env, "../x/info", "set", "uid=1"); r.rc == 0 {
		t.Error("path escaping the userdb directory accepted")
	}
	if r := run(t, bin, "", env, "-show", "example.com", "info"); r.out != "uid=1\ngid=1\nmail=/m\n" {
		t.Errorf("-show: %q", r.out)
	}
}

// Debian's userdb script and ours read each other's files the same way.
func TestUserdbCompatWithDebian(t *testing.T) {
	const deb = "/usr/sbin/userdb"
	testenv.NeedFile(t, deb, "Debian package courier-authlib-userdb")
	bin := build(t, ".")
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "ours"), filepath.Join(dir, "theirs")
	for _, f := range []string{ours, theirs} {
		os.WriteFile(f, nil, 0o600)
	}
	ops := [][]string{
		{"alice", "set", "uid=5000", "gid=5000", "home=/srv/mail/alice", "mail=/srv/mail/alice/Maildir"},
		{"bob@example.com", "set", "uid=5001", "gid=5001", "home=/srv/b", "options=disableimap=1,group=x"},
		{"alice", "set", "quota=1000S", "home=/srv/new"},
		{"alice", "unset", "mail"},
		{"carol", "set", "uid=1", "gid=1", "home=/c"},
		{"carol", "del"},
	}
	for _, op := range ops {
		a := run(t, bin, "", nil, append([]string{"-f", ours}, op...)...)
		b := run(t, deb, "", nil, append([]string{"-f", theirs}, op...)...)
		if a.rc != b.rc {
			t.Fatalf("%v: rc ours %d theirs %d", op, a.rc, b.rc)
		}
	}
	for _, file := range []string{ours, theirs} {
		for _, tool := range []string{bin, deb} {
			list := run(t, tool, "", nil, "-show", "-f", file)
			if list.out != "alice\nbob@example.com\n" {
				t.Errorf("%s -show %s: %q", tool, filepath.Base(file), list.out)
			}
			for _, name := range []string{"alice", "bob@example.com"} {
				a := sorted(run(t, tool, "", nil, "-show", "-f", file, name).out)
				want := map[string]string{"alice": "gid=5000\nhome=/srv/new\nquota=1000S\nuid=5000",
					"bob@example.com": "gid=5001\nhome=/srv/b\noptions=disableimap=1,group=x\nuid=5001"}[name]
				if a != want {
					t.Errorf("%s -show %s %s: %q", tool, filepath.Base(file), name, a)
				}
			}
		}
	}
}

func sorted(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j] < l[j-1]; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
	return strings.Join(l, "\n")
}
