package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// progs is the chain built once by TestMain; nil (with buildErr) when the
// tests cannot run.
var (
	progs    *Programs
	buildErr error
)

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
			return m.Run() // every test skips in needChain
		}
		dir, err := os.MkdirTemp("", "imapclients-bin-")
		if err != nil {
			buildErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		wd, _ := os.Getwd()
		progs, buildErr = Build(filepath.Clean(filepath.Join(wd, "..", "..")), dir)
		return m.Run()
	}()
	os.Exit(code)
}

// needChain returns the built programs or skips (fails with CI=true):
// the chain needs root to switch to the mail user.
func needChain(t *testing.T) *Programs {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "the full chain needs root (imaplogin drops to uid %d)", MailID())
	}
	if buildErr != nil {
		SkipOrFail(t, "build chain: %v", buildErr)
	}
	if progs == nil {
		SkipOrFail(t, "chain not built")
	}
	return progs
}

// TestChainLogin is the harness's own check: the go-imap client logs in
// through couriertcpd/imaplogin/authdaemond and sees an empty INBOX, a
// wrong password is refused, and the log has Courier's LOGIN line.
func TestChainLogin(t *testing.T) {
	p := needChain(t)
	s := Start(t, p, Options{})
	c := s.Dial(t)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	if sel.NumMessages != 0 {
		t.Errorf("fresh INBOX has %d messages", sel.NumMessages)
	}
	c.Logout().Wait()

	bad, err := dialRaw(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if got := bad.cmd(t, "a LOGIN "+User+" wrong"); got[:4] != "a NO" {
		t.Errorf("wrong password answered %q", got)
	}
	if l := s.Logs(); !contains(l, fmt.Sprintf("LOGIN, user=%s, ip=[::ffff:127.0.0.1]", User)) {
		t.Errorf("log lacks the LOGIN line:\n%s", l)
	}
}
