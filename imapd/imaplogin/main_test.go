package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles a package of this module into dir.
func build(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
		t.Skipf("cannot build %s (being edited?): %v\n%s", pkg, err, b)
	}
	return out
}

// TestLoginChain runs authdaemond, then imaplogin on a socketpair, logs in
// and checks that imapd took over with "<tag> OK LOGIN Ok.".
func TestLoginChain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	dir := t.TempDir()
	authd := build(t, dir, "gocourier/authd", "authdaemond")
	imaplogin := build(t, dir, "gocourier/imapd/imaplogin", "imaplogin")
	imapd := build(t, dir, "gocourier/imapd", "imapd")

	home := filepath.Join(dir, "home")
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(home, "Maildir", d), 0o700)
	}
	// The session never runs as root (privdrop refuses uid 0): as root,
	// log in as nobody and let it reach the binaries and its maildir.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
		for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 && strings.HasPrefix(p, os.TempDir()) {
				os.Chmod(p, st.Mode().Perm()|0o711)
			}
		}
		filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	}
	vardir := filepath.Join(dir, "var")
	os.MkdirAll(vardir, 0o755)
	rc := filepath.Join(dir, "authdaemonrc")
	udb := filepath.Join(dir, "userdb")
	os.WriteFile(rc, []byte("authmodulelist=\"authuserdb\"\ndaemons=2\nauthdaemonvar="+vardir+"\nDEFAULTOPTIONS=\"\"\nUSERDB="+udb+"\n"), 0o644)
	os.WriteFile(udb, []byte(fmt.Sprintf("alice\tuid=%d|gid=%d|home=%s|systempw={SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", uid, gid, home)), 0o600)
	sock := filepath.Join(vardir, "socket")
	ad := exec.Command(authd, "-f")
	ad.Env = append(os.Environ(), "AUTHDAEMONRC="+rc, "AUTHDAEMONVAR=", "AUTHDAEMONSOCK=")
	var adlog bytes.Buffer
	ad.Stderr = &adlog
	if err := ad.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Process.Kill(); ad.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("authd socket did not appear: %s", adlog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	child := os.NewFile(uintptr(fds[0]), "child")
	parent := os.NewFile(uintptr(fds[1]), "parent")
	conn, _ := net.FileConn(parent)
	parent.Close()
	cmd := exec.Command(imaplogin, imapd, "Maildir")
	cmd.Env = []string{"AUTHDAEMONSOCK=" + sock, "TCPREMOTEIP=::ffff:127.0.0.1", "TCPREMOTEPORT=4242",
		"IMAP_CAPABILITY=IMAP4rev1 UIDPLUS IDLE", "IMAP_LOGIN_FAILURE_DELAY=0.1"}
	cmd.Stdin, cmd.Stdout = child, child
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	t.Cleanup(func() { conn.Close(); cmd.Process.Kill(); cmd.Wait() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v\nlog: %s\nauthd: %s", err, log.String(), adlog.String())
		}
		return strings.TrimRight(l, "\r\n")
	}
	if g := line(); !strings.HasPrefix(g, "* OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE ENABLE UTF8=ACCEPT") {
		t.Fatalf("greeting %q", g)
	}
	fmt.Fprintf(conn, "a LOGIN alice wrong\r\n")
	if l := line(); l != "a NO Login failed." {
		t.Fatalf("got %q", l)
	}
	// SELECT is pipelined in the same write: it must reach imapd.
	fmt.Fprintf(conn, "b LOGIN alice secret\r\nc SELECT INBOX\r\n")
	if l := line(); l != "b OK LOGIN Ok." {
		t.Fatalf("got %q\nlog: %s", l, log.String())
	}
	for l := line(); !strings.HasPrefix(l, "c "); l = line() {
	}
	fmt.Fprintf(conn, "d LOGOUT\r\n")
	line()
	line()
	cmd.Wait()
	for _, w := range []string{"DEBUG: Connection, ip=[::ffff:127.0.0.1], port=[4242]", "INFO: LOGIN FAILED, user=alice",
		"INFO: LOGIN, user=alice, ip=[::ffff:127.0.0.1], port=[4242], protocol=IMAP", "INFO: LOGOUT, user=alice"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log.String())
		}
	}
}
