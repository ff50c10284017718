package authd

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocourier/internal/authclient"
	"gocourier/internal/authproto"
	"gocourier/internal/pwhash"
	"gocourier/internal/testenv"
)

// userdbpw output for "secret" (Debian courier-authlib 0.71.4).
const (
	md5crypt   = "$1$XgaGkadw$s0xIjmzr8C8KT9mqDILqj0"
	hmacMD5    = "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"
	hmacSHA1   = "091e0f4c6cb5277ee2beb639a60d0831b5c8adcdaee172433df3e96ba4f00fb1b6a490c3929d2034"
	hmacSHA256 = "5a84072aab37d22275b139adf7a92564c7f674be98e77d991f6f689d29e0524572804f31b042016804d3dea2f4e991a21b1c8906be161594b202fb74afc8ceb3"
)

type testEnv struct {
	sock   string
	userdb string
	srv    *Server
	mod    *UserDBModule
	logs   *testenv.SyncBuffer
}

func startServer(t testing.TB, userdbText string, tweak func(*Server)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	udb := filepath.Join(dir, "userdb")
	if err := os.WriteFile(udb, []byte(userdbText), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "authdaemon", "socket")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	logger := log.New(logs, "", 0)
	logf := func(f string, a ...any) { logger.Printf(f, a...) }
	cfg := DefaultConfig(dir, udb)
	mods := BuildModules(cfg, logf)
	srv := &Server{Logger: logger, ReadTimeout: 2 * time.Second}
	srv.Reconfigure(mods, "", 0)
	if tweak != nil {
		tweak(srv)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(0); l.Close(); srv.Shutdown(time.Second) })
	return &testEnv{sock: sock, userdb: udb, srv: srv, mod: mods[0].(*UserDBModule), logs: logs}
}

const stdUserdb = "# test accounts\n" +
	"alice\tuid=5000|gid=5000|home=/srv/mail/alice|mail=/srv/mail/alice/Maildir|systempw=" + md5crypt + "\n" +
	"bob\tuid=5001|gid=5002|home=/srv/mail/bob|systempw=" + md5crypt + "|imappw={PLAIN}imaponly|options=disableshared=1|quota=1000S|gecos=Bob Builder,Room 1\n" +
	"carol\tuid=5003|gid=5003|home=/srv/mail/carol|hmac-md5pw=" + hmacMD5 + "|imap-hmac-sha1pw=" + hmacSHA1 + "|hmac-sha256pw=" + hmacSHA256 + "\n" +
	"nouid\tgid=1|home=/x|systempw={PLAIN}x\n"

func raw(t *testing.T, sock, req string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(req))
	b, _ := io.ReadAll(c)
	return string(b)
}

// Byte-exact replies, in the shape of transcript 40.
func TestWireReplies(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	alice := "UID=5000\nGID=5000\nHOME=/srv/mail/alice\nADDRESS=alice\nMAILDIR=/srv/mail/alice/Maildir\nPASSWD=" + md5crypt + "\n"
	tests := []struct{ name, req, want string }{
		{"pre", "PRE . imap alice\n", alice + ".\n"},
		{"pre meta nul", "TCPREMOTEIP=127.0.0.1\nPRE . imap alice\n\x00", alice + ".\n"},
		{"pre module", "PRE authuserdb pop3 alice\n", alice + ".\n"},
		{"pre unloaded module", "PRE authpam imap alice\n", "FAIL\n"},
		{"pre unknown", "PRE . imap nosuchuser\n", "FAIL\n"},
		{"pre case sensitive", "PRE . imap ALICE\n", "FAIL\n"},
		{"auth ok", "AUTH 24\nimap\nlogin\nalice\nsecret\n", alice + "PASSWD2=secret\n.\n"},
		{"auth ok nul", "TCPREMOTEIP=::ffff:127.0.0.1\nAUTH 24\npop3\nlogin\nalice\nsecret\n\x00", alice + "PASSWD2=secret\n.\n"},
		{"auth wrong", "AUTH 23\nimap\nlogin\nalice\nwrong\n", "FAIL\n"},
		{"auth unknown", "AUTH 27\nimap\nlogin\nnosuchuser\npass\n", "FAIL\n"},
		{"imappw wins for imap", "AUTH 24\nimap\nlogin\nbob\nimaponly\n",
			"UID=5001\nGID=5002\nHOME=/srv/mail/bob\nADDRESS=bob\nNAME=Bob Builder\nQUOTA=1000S\nPASSWD={PLAIN}imaponly\nPASSWD2=imaponly\nOPTIONS=disableshared=1\n.\n"},
		{"imappw hides systempw", "AUTH 22\nimap\nlogin\nbob\nsecret\n", "FAIL\n"},
		{"systempw for pop3", "AUTH 22\npop3\nlogin\nbob\nsecret\n",
			"UID=5001\nGID=5002\nHOME=/srv/mail/bob\nADDRESS=bob\nNAME=Bob Builder\nQUOTA=1000S\nPASSWD=" + md5crypt + "\nPASSWD2=secret\nOPTIONS=disableshared=1\n.\n"},
		{"no uid", "AUTH 17\nimap\nlogin\nnouid\nx\n", "FAIL\n"},
		{"no password field", "AUTH 23\nimap\nlogin\ncarol\nsecret\n", "FAIL\n"},
		{"cram no secret", "AUTH 80\nimap\ncram-md5\nPDEyMzRAdm0+\nYWxpY2UgMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=\n", "FAIL\n"},
		{"unsupported authtype", "AUTH 19\nimap\nplain\nalice\nx\n", "FAIL\n"},
		{"passwd unknown", "PASSWD imap\tnosuchuser\told\tnew\n", "FAIL\n"},
		{"bogus command", "BOGUS command\n", ""},
		{"pre without args", "PRE\n", ""},
		{"auth n too big", "AUTH 9000\nimap\n", ""},
		{"enumerate", "ENUMERATE\n", "# authuserdb\n\nalice\t5000\t5000\t/srv/mail/alice\t/srv/mail/alice/Maildir\t\n" +
			"bob\t5001\t5002\t/srv/mail/bob\t\tdisableshared=1\ncarol\t5003\t5003\t/srv/mail/carol\t\t\n.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := raw(t, e.sock, tc.req); got != tc.want {
				t.Errorf("reply\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func cramResponse(user string, h func() hash.Hash, challenge string) string {
	m := hmac.New(h, []byte("secret"))
	m.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString([]byte(user + " " + hex.EncodeToString(m.Sum(nil))))
}

func TestCRAM(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	c := authclient.New(e.sock)
	chal := "<96EE4BCB8689EE19A74FA699FD718A4D@vm>"
	chalB64 := base64.StdEncoding.EncodeToString([]byte(chal))
	tests := []struct {
		name, service, typ string
		h                  func() hash.Hash
		ok                 bool
	}{
		{"md5 generic field", "imap", "cram-md5", md5.New, true},
		{"sha1 service field", "imap", "cram-sha1", sha1.New, true},
		{"sha1 other service has none", "pop3", "cram-sha1", sha1.New, false},
		{"sha256", "pop3", "cram-sha256", sha256.New, true},
		{"md5 digest for sha256", "imap", "cram-sha256", md5.New, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := c.Do(authproto.NewCram(tc.service, tc.typ, chalB64, cramResponse("carol", tc.h, chal)))
			if tc.ok {
				if err != nil || u.Address != "carol" || u.Passwd != "" || u.Passwd2 != "" {
					t.Fatalf("got %+v %v", u, err)
				}
			} else if !errors.Is(err, authproto.ErrFail) {
				t.Fatalf("want FAIL, got %+v %v", u, err)
			}
		})
	}
	// Response for another challenge fails.
	if _, err := c.Do(authproto.NewCram("imap", "cram-md5", chalB64, cramResponse("carol", md5.New, chal+"x"))); !errors.Is(err, authproto.ErrFail) {
		t.Errorf("replayed response: %v", err)
	}
	// Bad base64 fails (not temporary).
	if _, err := c.Do(authproto.NewCram("imap", "cram-md5", "!!!", "???")); !errors.Is(err, authproto.ErrFail) {
		t.Errorf("bad base64: %v", err)
	}
}

func TestDefaultOptionsAndReload(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	e.srv.Reconfigure(e.srv.Modules, "disableshared=0,disablewebmail=1", 0)
	c := authclient.New(e.sock)
	u, err := c.Do(authproto.NewPre("imap", "bob"))
	if err != nil || u.Options != "disableshared=1,disablewebmail=1" {
		t.Fatalf("merged options %+v %v", u, err)
	}
	// Edit the userdb: visible after at most a second without SIGHUP.
	os.WriteFile(e.userdb, []byte(stdUserdb+"dave\tuid=7|gid=7|home=/d|systempw={PLAIN}d\n"), 0o600)
	future := time.Now().Add(5 * time.Second)
	os.Chtimes(e.userdb, future, future)
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := c.Do(authproto.NewLogin("imap", "dave", "d")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("userdb change not picked up within 3 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A broken userdb keeps the last good copy.
	os.WriteFile(e.userdb, []byte("broken line without tab\n"), 0o600)
	if err := e.mod.Reload(); err == nil {
		t.Fatal("broken userdb loaded")
	}
	if _, err := c.Do(authproto.NewLogin("imap", "alice", "secret")); err != nil {
		t.Fatalf("last good copy not used: %v", err)
	}
	if !strings.Contains(e.logs.String(), "keeping the last good copy") {
		t.Errorf("no log line: %q", e.logs.String())
	}
}

func TestPasswd(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	c := authclient.New(e.sock)
	if err := c.Passwd("imap", "alice", "wrong", "new1"); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := c.Passwd("imap", "alice", "secret", "n3w pass"); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	if _, err := c.Do(authproto.NewLogin("imap", "alice", "n3w pass")); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := c.Do(authproto.NewLogin("imap", "alice", "secret")); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("old password still works: %v", err)
	}
	// HMAC secrets follow the password.
	if err := c.Passwd("imap", "carol", "x", "y"); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("carol has no login password: %v", err)
	}
	data, _ := os.ReadFile(e.userdb)
	if !strings.Contains(string(data), "# test accounts\n") || !strings.Contains(string(data), "alice\tuid=5000|gid=5000|home=/srv/mail/alice|mail=/srv/mail/alice/Maildir|systempw=$6$") {
		t.Fatalf("file after passwd:\n%s", data)
	}
	st, _ := os.Stat(e.userdb)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", st.Mode())
	}
}

func TestPasswdUpdatesHMAC(t *testing.T) {
	e := startServer(t, "dan\tuid=1|gid=1|home=/d|systempw={PLAIN}old|hmac-md5pw="+hmacMD5+"\n", nil)
	c := authclient.New(e.sock)
	if err := c.Passwd("imap", "dan", "old", "fresh"); err != nil {
		t.Fatal(err)
	}
	want, _ := pwhash.HMACSecret("md5", "fresh")
	data, _ := os.ReadFile(e.userdb)
	if !strings.Contains(string(data), "hmac-md5pw="+want) {
		t.Fatalf("hmac not updated: %s", data)
	}
}

// A client that connects and sends nothing must not delay others, and is
// dropped after the read timeout.
func TestStalledClientDoesNotBlock(t *testing.T) {
	e := startServer(t, stdUserdb, func(s *Server) { s.ReadTimeout = time.Second; s.MaxConns = 8 })
	var stalled []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("unix", e.sock)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("AUTH 100\nimap\n")) // promises more than it sends
		stalled = append(stalled, c)
	}
	start := time.Now()
	c := authclient.New(e.sock)
	for i := 0; i < 20; i++ {
		if _, err := c.Do(authproto.NewLogin("imap", "alice", "secret")); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("20 logins took %v with stalled clients present", d)
	}
	for _, s := range stalled {
		s.SetReadDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(s)
		if err != nil || len(b) != 0 {
			t.Errorf("stalled client got %q, %v; want close without reply", b, err)
		}
		s.Close()
	}
}

func TestManyConcurrentClients(t *testing.T) {
	e := startServer(t, stdUserdb, func(s *Server) { s.MaxConns = 16 })
	c := authclient.New(e.sock)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pass := "secret"
			if i%2 == 1 {
				pass = "bad"
			}
			u, err := c.Do(authproto.NewLogin("pop3", "alice", pass))
			switch {
			case i%2 == 0 && (err != nil || u.UID != 5000):
				errs <- fmt.Errorf("client %d: %v", i, err)
			case i%2 == 1 && !errors.Is(err, authproto.ErrFail):
				errs <- fmt.Errorf("client %d: want FAIL, got %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type tempFailModule struct{}

func (tempFailModule) Name() string { return "authbroken" }
func (tempFailModule) Pre(string, string) (*authproto.UserInfo, error) {
	return nil, errors.New("database down")
}
func (tempFailModule) Auth(*AuthRequest) (*authproto.UserInfo, error) {
	return nil, errors.New("database down")
}
func (tempFailModule) Passwd(string, string, string, string) error { return ErrUnsupported }
func (tempFailModule) Enumerate(func(authproto.EnumEntry)) error   { return ErrUnsupported }

// A temporary module error closes without reply: the client sees a
// temporary error, and later modules are not asked (Courier stops too).
func TestTemporaryModuleError(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	e.srv.Reconfigure([]Module{tempFailModule{}, e.mod}, "", 0)
	c := authclient.New(e.sock)
	_, err := c.Do(authproto.NewLogin("imap", "alice", "secret"))
	if err == nil || errors.Is(err, authproto.ErrFail) || !errors.Is(err, authproto.ErrTemporary) {
		t.Fatalf("want temporary error, got %v", err)
	}
	if got := raw(t, e.sock, "PRE . imap alice\n"); got != "" {
		t.Fatalf("reply %q, want none", got)
	}
	// Naming the good module skips the broken one.
	if _, err := c.Do(&authproto.Request{Cmd: authproto.CmdPre, Module: "authuserdb", Service: "imap", User: "alice"}); err != nil {
		t.Fatal(err)
	}
}

func TestSocketPermissions(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	st, err := os.Stat(e.sock)
	if err != nil || st.Mode().Perm() != 0o777 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v %v", st.Mode(), err)
	}
	dst, _ := os.Stat(filepath.Dir(e.sock))
	if dst.Mode().Perm() != 0o750 {
		t.Errorf("dir mode %v", dst.Mode())
	}
	// A second Listen on the same path replaces the socket atomically.
	l2, err := Listen(e.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	go func() {
		c, err := l2.Accept()
		if err == nil {
			c.Write([]byte("FAIL\n"))
			c.Close()
		}
	}()
	if got := raw(t, e.sock, "PRE . imap alice\n"); got != "FAIL\n" {
		t.Errorf("new socket not in place: %q", got)
	}
}

// BenchmarkLoginMD5Crypt: one AUTH login round trip per iteration (connect,
// request, md5-crypt verify, reply), as a login stage does it.
func BenchmarkLoginMD5Crypt(b *testing.B) {
	e := startServer(b, stdUserdb, nil)
	c := authclient.New(e.sock)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Do(authproto.NewLogin("imap", "alice", "secret")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// DEBUG_LOGIN=1 logs requests without passwords; only 2 logs passwords.
func TestDebugLoginLevels(t *testing.T) {
	for _, level := range []int{0, 1, 2} {
		e := startServer(t, stdUserdb, nil)
		e.srv.Reconfigure(e.srv.Modules, "", level)
		authclient.New(e.sock).Do(authproto.NewLogin("imap", "alice", "pw-marker-secret"))
		logs := e.logs.String()
		if got := strings.Contains(logs, "received auth request"); got != (level > 0) {
			t.Errorf("level %d: request logged = %v: %q", level, got, logs)
		}
		if got := strings.Contains(logs, "pw-marker-secret"); got != (level == 2) {
			t.Errorf("level %d: password logged = %v", level, got)
		}
	}
}

// With the verification cache on (the default), an account whose hash is
// changed behind authd's back (an admin editing the userdb) stops
// accepting the old password at once: the cache is keyed by the hash.
// Wrong passwords are never cached.
func TestAuthCacheFollowsUserdb(t *testing.T) {
	e := startServer(t, stdUserdb, nil)
	if e.mod.Cache == nil {
		t.Fatal("cache off by default")
	}
	c := authclient.New(e.sock)
	for range 2 {
		if _, err := c.Do(authproto.NewLogin("imap", "alice", "secret")); err != nil {
			t.Fatalf("login: %v", err)
		}
		if _, err := c.Do(authproto.NewLogin("imap", "alice", "wrong")); !errors.Is(err, authproto.ErrFail) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if n := e.mod.Cache.Len(); n != 1 {
		t.Fatalf("cache holds %d entries, want 1 (alice's success)", n)
	}
	newHash, err := pwhash.Generate(pwhash.SchemeSHA512Crypt, "other")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.userdb, []byte(strings.Replace(stdUserdb, "alice\tuid=5000|gid=5000|home=/srv/mail/alice|mail=/srv/mail/alice/Maildir|systempw="+md5crypt, "alice\tuid=5000|gid=5000|home=/srv/mail/alice|mail=/srv/mail/alice/Maildir|systempw="+newHash, 1)), 0o600)
	if err := e.mod.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(authproto.NewLogin("imap", "alice", "secret")); !errors.Is(err, authproto.ErrFail) {
		t.Fatalf("old password accepted from the cache after the hash changed: %v", err)
	}
	if _, err := c.Do(authproto.NewLogin("imap", "alice", "other")); err != nil {
		t.Fatalf("new password: %v", err)
	}
}
