package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as imapd when re-executed, so the
// session stage is tested as a real subprocess on a socketpair.
func TestMain(m *testing.M) {
	if os.Getenv("IMAPD_TEST_MAIN") == "1" {
		os.Exit(run())
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd  *exec.Cmd
	conn net.Conn
	r    *bufio.Reader
	log  *bytes.Buffer
}

func makeMaildir(t *testing.T, home string) {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(home, "Maildir", d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func start(t *testing.T, home string, env ...string) *proc {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	child := os.NewFile(uintptr(fds[0]), "child")
	parent := os.NewFile(uintptr(fds[1]), "parent")
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "Maildir")
	cmd.Dir = home
	cmd.Env = append([]string{"IMAPD_TEST_MAIN=1", "TCPREMOTEIP=::ffff:127.0.0.1", "TCPREMOTEPORT=5555",
		"IMAP_CAPABILITY=IMAP4rev1 IDLE"}, env...)
	cmd.Stdin, cmd.Stdout = child, child
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	p := &proc{cmd: cmd, conn: conn, r: bufio.NewReader(conn), log: &log}
	t.Cleanup(func() { conn.Close(); cmd.Process.Kill(); cmd.Wait() })
	return p
}

func (p *proc) line(t *testing.T) string {
	t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (log: %s)", err, p.log.String())
	}
	return strings.TrimRight(l, "\r\n")
}

func (p *proc) wait(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("imapd did not exit")
	}
}

func TestStartup(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, home string)
		env     []string
		lines   []string
		logHas  string
		session bool
	}{
		{"preauth by hand", makeMaildir, nil, []string{"* PREAUTH Ready."}, "INFO: LOGIN, user=", true},
		{"login tag", makeMaildir, []string{"IMAPLOGINTAG=a01", "AUTHENTICATED=alice"}, []string{"a01 OK LOGIN Ok."},
			"INFO: LOGIN, user=alice, ip=[::ffff:127.0.0.1], port=[5555], protocol=IMAP", true},
		{"no authenticated", makeMaildir, []string{"IMAPLOGINTAG=a01"}, []string{"* BYE AUTHENTICATED environment variable not set."}, "", false},
		{"missing maildir", func(*testing.T, string) {}, []string{"IMAPLOGINTAG=a01", "AUTHENTICATED=alice"},
			[]string{"* BYE [ALERT] Fatal error: No such file or directory: No such file or directory"}, "chdir Maildir: No such file or directory", false},
		{"sticky home", func(t *testing.T, home string) { makeMaildir(t, home); os.Chmod(home, 0o700|os.ModeSticky) },
			[]string{"IMAPLOGINTAG=a01", "AUTHENTICATED=alice"},
			[]string{"* BYE Your account is temporarily unavailable (+t bit set on home directory)."}, "INFO: LOCKED, user=alice", false},
		{"disableimap", makeMaildir, []string{"IMAPLOGINTAG=a01", "AUTHENTICATED=alice", "OPTIONS=disableimap=1"},
			[]string{"a01 NO IMAP access disabled for this account.", "* BYE IMAP access disabled for this account."}, "", false},
		{"disableinsecureimap", makeMaildir, []string{"IMAPLOGINTAG=a01", "AUTHENTICATED=alice", "OPTIONS=disableinsecureimap=1"},
			[]string{"a01 NO IMAP access disabled via insecure connection.", "* BYE IMAP access disabled via insecure connection."}, "", false},
		{"loginexec", func(t *testing.T, home string) {
			makeMaildir(t, home)
			os.WriteFile(filepath.Join(home, "Maildir", "loginexec"), []byte("#!/bin/sh\ntouch ran\nexit 0\n"), 0o700)
		}, []string{"IMAPLOGINTAG=a01", "AUTHENTICATED=alice"}, []string{"a01 OK LOGIN Ok."}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			tc.setup(t, home)
			p := start(t, home, tc.env...)
			for _, w := range tc.lines {
				if l := p.line(t); l != w {
					t.Fatalf("got %q want %q (log %s)", l, w, p.log.String())
				}
			}
			if tc.session {
				p.conn.Write([]byte("z LOGOUT\r\n"))
				if l := p.line(t); l != "* BYE Courier-IMAP server shutting down" {
					t.Fatalf("got %q", l)
				}
				p.line(t)
			}
			p.wait(t)
			if tc.logHas != "" && !strings.Contains(p.log.String(), tc.logHas) {
				t.Errorf("log lacks %q:\n%s", tc.logHas, p.log.String())
			}
			if tc.session && !strings.Contains(p.log.String(), "INFO: LOGOUT, user=") {
				t.Errorf("no LOGOUT log line:\n%s", p.log.String())
			}
			if tc.name == "loginexec" {
				if _, err := os.Stat(filepath.Join(home, "Maildir", "ran")); err != nil {
					t.Error("loginexec did not run")
				}
				if _, err := os.Stat(filepath.Join(home, "Maildir", "loginexec")); err == nil {
					t.Error("loginexec not removed after exit 0")
				}
			}
		})
	}
}

// TestDisconnectLog checks the DISCONNECTED line when the client vanishes.
func TestDisconnectLog(t *testing.T) {
	home := t.TempDir()
	makeMaildir(t, home)
	p := start(t, home, "IMAPLOGINTAG=a01", "AUTHENTICATED=alice")
	p.line(t)
	p.conn.Write([]byte("a NOOP\r\n"))
	p.line(t)
	p.conn.Close()
	p.wait(t)
	if !strings.Contains(p.log.String(), "INFO: DISCONNECTED, user=alice, ip=[::ffff:127.0.0.1], port=[5555], headers=0, body=0, rcvd=") {
		t.Errorf("log:\n%s", p.log.String())
	}
}

// TestAutologoutOnSocket: with the client socket on fd 0 the autologout
// timeout is a read deadline (stdioconn.Socket's pollable file), which
// ends the session with Courier's BYE; the fallback without deadlines
// would only close the input, and say nothing.
func TestAutologoutOnSocket(t *testing.T) {
	home := t.TempDir()
	makeMaildir(t, home)
	p := start(t, home, "IMAPLOGINTAG=a01", "AUTHENTICATED=alice", "IMAP_AUTOLOGOUT=0.3")
	if l := p.line(t); l != "a01 OK LOGIN Ok." {
		t.Fatalf("greeting %q", l)
	}
	if l := p.line(t); l != "* BYE Disconnected for inactivity." {
		t.Fatalf("after the autologout: %q (log: %s)", l, p.log.String())
	}
	p.wait(t)
}
