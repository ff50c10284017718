package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/authclient"
	"gocourier/internal/authproto"
)

// buildSelf builds authdaemond into a temp dir (the daemon re-executes
// itself, so it must be a real binary).
var (
	buildOnce sync.Once
	builtBin  string
	buildErr  string
)

func buildSelf(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authdaemond-test-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		builtBin = filepath.Join(dir, "authdaemond")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Sprintf("build: %v\n%s", err, b)
		}
	})
	_, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go tool missing")
		}
		t.Skip("go tool missing")
	}
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

type env struct {
	bin, dir, rc, udb, sock, pid string
}

func setup(t *testing.T) *env {
	bin := buildSelf(t)
	dir := t.TempDir()
	e := &env{bin: bin, dir: dir, rc: filepath.Join(dir, "authdaemonrc"), udb: filepath.Join(dir, "userdb"),
		sock: filepath.Join(dir, "var", "socket"), pid: filepath.Join(dir, "var", "pid")}
	os.WriteFile(e.rc, []byte("authmodulelist=\"authuserdb authpam\"\ndaemons=5\nauthdaemonvar="+filepath.Join(dir, "var")+
		"\nDEFAULTOPTIONS=\"\"\nUSERDB="+e.udb+"\n"), 0o644)
	os.WriteFile(e.udb, []byte("alice\tuid=1000|gid=1000|home=/h|systempw={SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"), 0o600)
	return e
}

func (e *env) run(t *testing.T, args ...string) (string, error) {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(os.Environ(), "AUTHDAEMONRC="+e.rc, "AUTHDAEMONVAR=", "AUTHDAEMONSOCK=")
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func (e *env) login(user, pass string) error {
	c := authclient.New(e.sock)
	c.Timeouts.Read = 2 * time.Second
	_, err := c.Do(authproto.NewLogin("imap", user, pass))
	return err
}

func TestStartRestartStop(t *testing.T) {
	e := setup(t)
	if out, err := e.run(t, "start"); err != nil {
		t.Fatalf("start: %v %s", err, out)
	}
	b, err := os.ReadFile(e.pid)
	if err != nil {
		t.Fatal("no pid file")
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if err := e.login("alice", "secret"); err != nil {
		t.Fatalf("login after start: %v", err)
	}
	if out, err := e.run(t, "start"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("second start: %v %q", err, out)
	}
	// Even in the foreground (no pid file check) a second daemon refuses.
	if out, err := e.run(t, "-f"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("second -f: %v %q", err, out)
	}
	// restart = SIGHUP: a new account is visible at once, same pid, and
	// the socket never disappears.
	os.WriteFile(e.udb, []byte("bob\tuid=1001|gid=1001|home=/b|systempw={SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"), 0o600)
	if out, err := e.run(t, "restart"); err != nil {
		t.Fatalf("restart: %v %s", err, out)
	}
	deadline := time.Now().Add(2 * time.Second)
	for e.login("bob", "secret") != nil {
		if time.Now().After(deadline) {
			t.Fatal("reload not seen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.login("alice", "secret"); !errors.Is(err, authproto.ErrFail) {
		t.Errorf("removed account: %v", err)
	}
	b2, _ := os.ReadFile(e.pid)
	if string(b2) != string(b) {
		t.Error("restart changed the pid")
	}
	if out, err := e.run(t, "stop"); err != nil {
		t.Fatalf("stop: %v %s", err, out)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Error("daemon still running after stop")
	}
	if _, err := os.Stat(e.sock); err == nil {
		t.Error("socket left after stop")
	}
	if _, err := os.Stat(e.pid); err == nil {
		t.Error("pid file left after stop")
	}
	if out, err := e.run(t, "stop"); err != nil {
		t.Errorf("stop when not running: %v %s", err, out)
	}
}

func TestForegroundNotify(t *testing.T) {
	e := setup(t)
	ns := filepath.Join(e.dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(e.bin, "-f")
	cmd.Env = append(os.Environ(), "AUTHDAEMONRC="+e.rc, "NOTIFY_SOCKET="+ns, "AUTHDAEMONVAR=", "AUTHDAEMONSOCK=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "READY=1") {
		t.Fatalf("notify: %q %v", buf[:n], err)
	}
	if err := e.login("alice", "secret"); err != nil {
		t.Fatalf("login: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit on SIGTERM")
	}
	if !strings.Contains(stderr.String(), "module authpam is not implemented, skipped") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestStartFailsLoudly(t *testing.T) {
	e := setup(t)
	// authdaemonvar under a regular file: the socket cannot be created.
	os.WriteFile(filepath.Join(e.dir, "file"), nil, 0o644)
	os.WriteFile(e.rc, []byte("authdaemonvar="+filepath.Join(e.dir, "file", "var")+"\n"), 0o644)
	out, err := e.run(t, "start")
	if err == nil || !strings.Contains(out, "authdaemond:") {
		t.Fatalf("start should fail with a message: %v %q", err, out)
	}
}

// authdaemond killed while a request is in progress: the client gets a
// temporary error (EOF without a reply), never a FAIL.
func TestKilledMidRequest(t *testing.T) {
	e := setup(t)
	cmd := exec.Command(e.bin, "-f")
	cmd.Env = append(os.Environ(), "AUTHDAEMONRC="+e.rc, "AUTHDAEMONVAR=", "AUTHDAEMONSOCK=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var c net.Conn
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if c, err = net.Dial("unix", e.sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()
	c.Write([]byte("AUTH 24\nimap\nlogin\nalice\n")) // the rest never comes
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 100)
	n, _ := c.Read(buf)
	if _, err := authproto.ParseReply(buf[:n]); !errors.Is(err, authproto.ErrTemporary) {
		t.Fatalf("reply %q: %v, want temporary", buf[:n], err)
	}
}
