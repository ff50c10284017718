package starttls

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/testenv"
	"gocourier/internal/tlsconf/tlsconftest"
)

var binPath string

// TestMain builds couriertls. With STARTTLS_TEST_LOGIN=1 the test binary is
// a fake login stage with the client on fd 0/1 that uses StartStdio.
func TestMain(m *testing.M) {
	if os.Getenv("STARTTLS_TEST_LOGIN") == "1" {
		os.Exit(fakeStdioLogin())
	}
	bin, cleanup, err := testenv.BuildTemp("gocourier/cmd/couriertls", "couriertls")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// fakeLogin speaks a minimal pre-auth dialogue the way the contract asks:
// read the STARTTLS line through a buffered reader, answer, drop the
// reader (and whatever the client pipelined into it), switch, continue
// with a fresh reader.
//
// leak=true is the bug the contract forbids (the buffered bytes are kept);
// TestLeakIsDetected uses it to show that the injection test can fail.
func fakeLogin(br *bufio.Reader, w io.Writer, switchTLS func() (*Session, error), leak ...bool) error {
	line, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "a STARTTLS\r\n" {
		return fmt.Errorf("unexpected %q", line)
	}
	fmt.Fprintf(w, "a OK Begin SSL/TLS negotiation now.\r\n")
	// The contract: br and whatever it buffered are abandoned here.
	var kept []byte
	if len(leak) > 0 && leak[0] {
		kept, _ = br.Peek(br.Buffered())
	}
	s, err := switchTLS()
	if err != nil {
		return err
	}
	defer s.Conn.Close()
	nr := bufio.NewReader(io.MultiReader(bytes.NewReader(kept), s.Conn))
	line, err = nr.ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Conn, "GOT %s", line)
	fmt.Fprintf(s.Conn, "ENV %s\r\n", strings.Join(s.Env("imap"), " "))
	return nil
}

func fakeStdioLogin() int {
	br := bufio.NewReader(os.Stdin)
	err := fakeLogin(br, os.Stdout, func() (*Session, error) {
		s, err := StartStdio(Options{Program: os.Getenv("TEST_COURIERTLS"), User: "nobody"})
		if err == nil {
			// fd 1 must now be the plaintext side too (what an exec'd
			// session stage would write to).
			fmt.Fprintf(os.Stdout, "STDOUT ok\r\n")
		}
		return s, err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root (couriertls drops to -user)")
	}
}

func certEnv(t *testing.T, extra ...string) ([]string, string) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "imapd.pem")
	tlsconftest.Cert(t, cert, pkix.Name{CommonName: "localhost"}, false, nil)
	return append([]string{"TLS_CERTFILE=" + cert}, extra...), dir
}

// client sends STARTTLS with junk pipelined behind it in the same write,
// does the handshake and sends one real command.
func client(t *testing.T, c net.Conn, pipelined string) (string, error) {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "a STARTTLS\r\n"+pipelined); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "a OK Begin SSL/TLS negotiation now.\r\n" {
		return "", fmt.Errorf("STARTTLS answer %q %v", line, err)
	}
	if br.Buffered() != 0 {
		return "", fmt.Errorf("server sent bytes after the OK before TLS")
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	fmt.Fprintf(tc, "b NOOP\r\n")
	out, _ := io.ReadAll(tc)
	return string(out), nil
}

func TestStartDiscardsPipelined(t *testing.T) {
	out := injectionRun(t, false)
	if !strings.HasPrefix(out, "GOT b NOOP\r\n") {
		t.Fatalf("server saw %q: pipelined plaintext was not discarded", out)
	}
	if !strings.Contains(out, "IMAP_TLS=1 IMAP_STARTTLS=NO IMAP_TLS_REQUIRED=0") {
		t.Errorf("env: %q", out)
	}
}

// TestLeakIsDetected: a login stage that keeps its buffer is caught.
func TestLeakIsDetected(t *testing.T) {
	if out := injectionRun(t, true); !strings.HasPrefix(out, "GOT x LOGIN injected") {
		t.Fatalf("leaky login stage not detected: %q", out)
	}
}

func injectionRun(t *testing.T, leak bool) string {
	needRoot(t)
	env, _ := certEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		// Let the whole pipelined write arrive so that it sits in the
		// login stage's buffer (the injection case).
		time.Sleep(100 * time.Millisecond)
		br := bufio.NewReader(c)
		errc <- fakeLogin(br, c, func() (*Session, error) {
			f, err := c.(*net.TCPConn).File()
			if err != nil {
				return nil, err
			}
			c.Close()
			defer f.Close()
			return Start(f, Options{Program: binPath, User: "nobody", Env: env})
		}, leak)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := client(t, c, "x LOGIN injected secret\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStartStdio(t *testing.T) {
	needRoot(t)
	env, _ := certEnv(t, "STARTTLS_TEST_LOGIN=1", "TEST_COURIERTLS="+binPath)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		f, _ := c.(*net.TCPConn).File()
		c.Close()
		cmd := exec.Command(os.Args[0])
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, &stderr
		cmd.Env = env
		err = cmd.Start()
		f.Close()
		if err == nil {
			err = cmd.Wait()
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := client(t, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "STDOUT ok\r\nGOT b NOOP\r\nENV IMAP_TLS=1 IMAP_STARTTLS=NO IMAP_TLS_REQUIRED=0 TLS_CONNECTED_PROTOCOL=TLSv1.3,") {
		t.Errorf("got %q", out)
	}
	if err := <-done; err != nil {
		t.Fatalf("fake login: %v\n%s", err, stderr.String())
	}
}

// A client that sends plaintext instead of a ClientHello makes Start fail
// (and the login stage must then exit).
func TestStartHandshakeFailure(t *testing.T) {
	needRoot(t)
	env, _ := certEnv(t)
	a, b := socketPair(t)
	defer b.Close()
	go io.WriteString(b, "x LOGIN not tls\r\n")
	_, err := Start(a, Options{Program: binPath, User: "nobody", Env: env, Timeout: 5 * time.Second})
	a.Close()
	if err == nil || !strings.Contains(err.Error(), "handshake") {
		t.Fatalf("err = %v", err)
	}
}

func TestStartMissingProgram(t *testing.T) {
	a, b := socketPair(t)
	defer a.Close()
	defer b.Close()
	if _, err := Start(a, Options{Program: "/nonexistent/couriertls"}); err == nil {
		t.Fatal("no error")
	}
}

func socketPair(t *testing.T) (*os.File, *os.File) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := c2.(*net.TCPConn).File()
	c2.Close()
	g, _ := c1.(*net.TCPConn).File()
	c1.Close()
	return f, g
}

func TestStatusRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		st   Status
		want Status
		err  bool
	}{
		{"ok", Status{OK: true, External: "alice@example.com", Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256",
			Protocol: "TLSv1.3,128bits,TLS_AES_128_GCM_SHA256", Subject: []string{"CN=Alice", "bad name=x", "EMAILADDRESS=a@b"}},
			Status{OK: true, External: "alice@example.com", Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256",
				Protocol: "TLSv1.3,128bits,TLS_AES_128_GCM_SHA256", Subject: []string{"CN=Alice", "EMAILADDRESS=a@b"}}, false},
		{"forged line dropped", Status{OK: true, External: "eve\nEXTERNAL root"}, Status{OK: true}, false},
		{"error", Status{Err: "bad\nthing"}, Status{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteStatus(&b, tc.st); err != nil {
				t.Fatal(err)
			}
			got, err := ReadStatus(&b)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if !tc.err && fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "EXTERNAL x\n", "HELLO\nOK\n", "SUBJECT x=y\nOK\n", "SUBJECT CN\nOK\n", strings.Repeat("VERSION x\n", 1000) + "OK\n"} {
		if _, err := ReadStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadStatus(%.20q) accepted", bad)
		}
	}
}

func TestEnv(t *testing.T) {
	st := Status{OK: true, External: "bob", Protocol: "TLSv1.3,256bits,X", Subject: []string{"CN=Bob", "EMAILADDRESS=bob@x"}}
	if got := strings.Join(Env("POP3", st), " "); got != "POP3_TLS=1 POP3_STARTTLS=NO POP3_TLS_REQUIRED=0 TLS_CONNECTED_PROTOCOL=TLSv1.3,256bits,X TLS_SUBJECT_CN=Bob TLS_SUBJECT_EMAILADDRESS=bob@x TLS_EXTERNAL_ID=bob" {
		t.Errorf("pop3: %s", got)
	}
	for _, kv := range []string{"TLS_SUBJECT_CN=x", "TLS_EXTERNAL_ID=y", "TLS_CONNECTED_PROTOCOL=z"} {
		if !TrustedOnly(kv) {
			t.Errorf("TrustedOnly(%q) false", kv)
		}
	}
	if TrustedOnly("TLS_CERTFILE=/x") || TrustedOnly("TLS_EXTERNAL=CN") {
		t.Error("TrustedOnly too broad")
	}
	if got := strings.Join(Env("imap", Status{OK: true}), " "); got != "IMAP_TLS=1 IMAP_STARTTLS=NO IMAP_TLS_REQUIRED=0" {
		t.Errorf("imap: %s", got)
	}
}

func TestMergeEnv(t *testing.T) {
	got := MergeEnv([]string{"PATH=/bin", "IMAP_STARTTLS=YES", "TLS_SUBJECT_CN=forged", "IMAP_TLS_REQUIRED=1", "X=1"},
		Env("imap", Status{OK: true}))
	want := "PATH=/bin X=1 IMAP_TLS=1 IMAP_STARTTLS=NO IMAP_TLS_REQUIRED=0"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q", got)
	}
}

func FuzzReadStatus(f *testing.F) {
	for _, s := range []string{"OK\n", "EXTERNAL a\nOK\n", "ERR x\n", "VERSION\nOK", "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ReadStatus(strings.NewReader(s))
		if err == nil && !st.OK {
			t.Fatal("nil error without OK")
		}
		if strings.ContainsAny(st.External, "\r\n") {
			t.Fatalf("external %q", st.External)
		}
		for _, kv := range Env("imap", st) {
			if strings.ContainsAny(kv, "\r\n\x00") || !strings.Contains(kv, "=") {
				t.Fatalf("bad env %q", kv)
			}
		}
	})
}
