package login

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocourier/internal/authproto"
)

// When GO_LOGIN_EXEC_HELPER is set, the test binary acts as a login stage:
// it calls ExecSession with the account described in the environment.
func TestMain(m *testing.M) {
	if dir := os.Getenv("GO_LOGIN_EXEC_HELPER"); dir != "" {
		u := &authproto.UserInfo{UID: 65534, GID: 65534, Home: dir, Address: "alice", Options: "disableshared=1", Quota: "5000S"}
		err := ExecSession(u, filepath.Join(dir, "session"), "Maildir", []string{"IMAPLOGINTAG=a001"})
		fmt.Fprintln(os.Stderr, "ExecSession returned:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestExecSessionAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root to drop privileges")
	}
	dir, err := os.MkdirTemp("", "login-exec-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	script := "#!/bin/sh\necho \"argv1=$1\"\necho \"cwd=$(pwd)\"\necho \"ids=$(id -u) $(id -g) $(id -G)\"\nenv\n"
	if err := os.WriteFile(filepath.Join(dir, "session"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GO_LOGIN_EXEC_HELPER="+dir, "MAILDIRQUOTA=stale", "AUTHENTICATED=evil")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"argv1=Maildir\n", "cwd=" + dir + "\n", "ids=65534 65534 65534\n",
		"AUTHENTICATED=alice\n", "OPTIONS=disableshared=1\n", "MAILDIRQUOTA=5000S\n", "IMAPLOGINTAG=a001\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("session output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "MAILDIRQUOTA=stale") || strings.Contains(s, "AUTHENTICATED=evil") {
		t.Errorf("stale variables passed:\n%s", s)
	}
}
