package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/testenv"
)

func TestMakeuserdb(t *testing.T) {
	bin := testenv.GoBuild(t, ".", "makeuserdb")
	dir := t.TempDir()
	udb := filepath.Join(dir, "userdb")
	vardir := filepath.Join(dir, "var")
	os.Mkdir(vardir, 0o750)
	rc := filepath.Join(dir, "authdaemonrc")
	os.WriteFile(rc, []byte("authdaemonvar="+vardir+"\nUSERDB="+udb+"\n"), 0o600)
	runIt := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "AUTHDAEMONRC="+rc, "AUTHDAEMONVAR=")
		out, err := cmd.CombinedOutput()
		if x, ok := err.(*exec.ExitError); ok {
			return string(out), x.ExitCode()
		}
		return string(out), 0
	}
	tests := []struct {
		name, content string
		mode          os.FileMode
		rc            int
		msg           string
	}{
		{"good", "# c\nalice\tuid=1|gid=1|home=/h\n", 0o600, 0, ""},
		{"no uid warns", "alice\tgid=1|home=/h\n", 0o600, 0, "no numeric uid"},
		{"syntax", "alice uid=1\n", 0o600, 1, "userdb:1"},
		{"duplicate", "a\tuid=1|gid=1\na\tuid=2|gid=2\n", 0o600, 1, "duplicate"},
		{"world readable", "alice\tuid=1|gid=1\n", 0o644, 1, "group or world"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(udb, []byte(tc.content), tc.mode)
			os.Chmod(udb, tc.mode)
			out, code := runIt()
			if code != tc.rc || !strings.Contains(out, tc.msg) {
				t.Errorf("rc %d out %q; want rc %d containing %q", code, out, tc.rc, tc.msg)
			}
		})
	}
	// -f checks another file.
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("x\tuid=1|gid=1\n"), 0o600)
	if out, code := runIt("-f", other); code != 0 {
		t.Errorf("-f: %d %s", code, out)
	}

	// A running authdaemond (here: a sleep whose name says authdaemond)
	// gets SIGHUP; an unrelated process named in a stale pid file does not.
	os.WriteFile(udb, []byte("alice\tuid=1|gid=1\n"), 0o600)
	os.Chmod(udb, 0o600)
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	fake := filepath.Join(dir, "authdaemond")
	data, _ := os.ReadFile(sleepBin)
	os.WriteFile(fake, data, 0o755)
	for _, tc := range []struct {
		bin     string
		wantHUP bool
	}{{fake, true}, {sleepBin, false}} {
		p := exec.Command(tc.bin, "30")
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(vardir, "pid"), []byte(strconv.Itoa(p.Process.Pid)+"\n"), 0o644)
		if out, code := runIt(); code != 0 {
			t.Fatalf("makeuserdb: %d %s", code, out)
		}
		done := make(chan error, 1)
		go func() { done <- p.Wait() }()
		select {
		case err := <-done:
			ws, _ := err.(*exec.ExitError)
			got := ws != nil && ws.Sys().(syscall.WaitStatus).Signal() == syscall.SIGHUP
			if !tc.wantHUP || !got {
				t.Errorf("%s: exit %v, want SIGHUP=%v", tc.bin, err, tc.wantHUP)
			}
		case <-time.After(time.Second):
			if tc.wantHUP {
				t.Errorf("%s: no SIGHUP", tc.bin)
			}
			p.Process.Kill()
			<-done
		}
	}
}
