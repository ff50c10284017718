package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/testenv"
)

// buildOther builds another engineer's program for the full-chain test.
// Those packages may be mid-edit; a build failure skips the test unless
// CI=true.
func buildOther(t *testing.T, name, dir string) string {
	t.Helper()
	out := filepath.Join(binDir, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	b := exec.Command("go", "build", "-o", out, dir)
	b.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := b.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("build %s: %v\n%s", dir, err, msg)
		}
		t.Skipf("build %s: %v\n%s", dir, err, msg)
	}
	return out
}

// freePort: see testenv.FreePort (why not a port from Listen(":0")).
func freePort(t *testing.T) int { return testenv.FreePort(t) }

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestFullChainFetchmail runs the real chain, couriertcpd -> pop3login ->
// authdaemond (userdb) -> pop3d, and fetchmail against it: 1,000 messages
// in keep mode, a second keep run fetching none (UIDL), then a delete run
// that empties the maildrop.
func TestFullChainFetchmail(t *testing.T) {
	if _, err := exec.LookPath("fetchmail"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("fetchmail missing (Debian package fetchmail)")
		}
		t.Skip("fetchmail missing (Debian package fetchmail)")
	}
	authd := buildOther(t, "authdaemond", "gocourier/authd")
	tcpd := buildOther(t, "couriertcpd", "gocourier/tcpd")
	home, md := newHome(t)
	writeMessages(t, md, 1000)
	chownTree(t, home)

	dir := t.TempDir()
	rc := filepath.Join(dir, "authdaemonrc")
	udb := filepath.Join(dir, "userdb")
	sock := filepath.Join(dir, "var", "socket")
	os.MkdirAll(filepath.Join(dir, "var"), 0o755)
	os.WriteFile(rc, []byte("authmodulelist=\"authuserdb\"\nauthdaemonvar="+filepath.Join(dir, "var")+
		"\nDEFAULTOPTIONS=\"\"\nUSERDB="+udb+"\n"), 0o644)
	// systempw is {SHA} of "secret".
	os.WriteFile(udb, []byte(fmt.Sprintf("carol\tuid=%d|gid=%d|home=%s|systempw={SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n",
		mailUID(), mailUID(), home)), 0o600)
	env := []string{"AUTHDAEMONRC=" + rc, "AUTHDAEMONVAR=" + filepath.Join(dir, "var"), "AUTHDAEMONSOCK=" + sock,
		"PATH=/usr/bin:/bin", "POP3_LOGIN_FAILURE_DELAY=0.2"}
	ad := exec.Command(authd, "-f")
	ad.Env = env
	if err := ad.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Process.Kill(); ad.Wait() })
	waitFor(t, "authdaemond socket", func() bool { _, err := os.Stat(sock); return err == nil })

	port := freePort(t)
	logf := filepath.Join(dir, "log")
	td := exec.Command(tcpd, "-stderr="+logf, "-nodnslookup", "-noidentlookup", "-address=127.0.0.1", "-maxprocs=10",
		fmt.Sprint(port), filepath.Join(binDir, "pop3login"), filepath.Join(binDir, "pop3d"), "Maildir")
	td.Env = env
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.Process.Kill(); td.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "couriertcpd", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	logs := func() string { b, _ := os.ReadFile(logf); return string(b) }

	fh := t.TempDir()
	count := filepath.Join(fh, "count")
	run := func(opts string) int {
		rcf := filepath.Join(fh, "rc")
		os.WriteFile(rcf, []byte(fmt.Sprintf(`set no bouncemail
poll 127.0.0.1 with proto POP3 port %d and timeout 60 and uidl:
  user "carol" there with password "secret" is "root" here
  options %s no rewrite sslproto '' mda "/bin/sh -c 'cat >/dev/null; echo x >> %s'"
`, port, opts, count)), 0o600)
		os.Remove(count)
		cmd := exec.Command("fetchmail", "--nosyslog", "-N", "-f", rcf, "--idfile", filepath.Join(fh, "ids"), "--pidfile", filepath.Join(fh, "pid"))
		cmd.Env = []string{"HOME=" + fh, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if err != nil && cmd.ProcessState.ExitCode() != 1 { // 1 = no mail
			t.Fatalf("fetchmail: %v\n%s\nserver log:\n%s", err, out, logs())
		}
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "x")
	}
	if n := run("keep"); n != 1000 {
		t.Fatalf("first run fetched %d, want 1000\n%s", n, logs())
	}
	if n := run("keep"); n != 0 {
		t.Errorf("second keep run fetched %d, want 0", n)
	}
	if n := run("no keep fetchall"); n != 1000 {
		t.Errorf("delete run fetched %d, want 1000", n)
	}
	left, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(left) != 0 {
		t.Errorf("%d messages left after delete run", len(left))
	}
	if l := logs(); !strings.Contains(l, "INFO: LOGIN, user=carol, ip=[::ffff:127.0.0.1]") || !strings.Contains(l, "INFO: LOGOUT, user=carol") {
		t.Errorf("server log lacks LOGIN/LOGOUT:\n%s", l)
	}
}
