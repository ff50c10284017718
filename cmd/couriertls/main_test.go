package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/testenv"
	"gocourier/internal/tlsconf"
	"gocourier/internal/tlsconf/tlsconftest"
)

// The test binary doubles as the program behind couriertls
// (COURIERTLS_TEST_HELPER=1): it reports its environment, pid, uid and
// open descriptors, then echoes lines until QUIT.
func TestMain(m *testing.M) {
	if os.Getenv("COURIERTLS_TEST_HELPER") == "1" {
		helper()
		os.Exit(0)
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

var binPath string

func helper() {
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "PID %d\nUID %d\n", os.Getpid(), os.Getuid())
	for _, k := range []string{"IMAP_TLS", "IMAP_STARTTLS", "POP3_TLS", "POP3_STARTTLS", "TLS_EXTERNAL_ID", "TCPREMOTEIP",
		"TLS_SUBJECT_CN", "TLS_SUBJECT_EMAILADDRESS", "TLS_CONNECTED_PROTOCOL"} {
		fmt.Fprintf(w, "%s=%s\n", k, os.Getenv(k))
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	var fds []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds = append(fds, e.Name()+"->"+l)
	}
	fmt.Fprintf(w, "FDS %s\nREADY\n", strings.Join(fds, " "))
	w.Flush()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "QUIT":
			return
		case strings.HasPrefix(line, "BULK "):
			n, _ := strconv.Atoi(line[5:])
			buf := make([]byte, 64<<10)
			for i := range buf {
				buf[i] = 'x'
			}
			for n > 0 {
				k := min(n, len(buf))
				w.Write(buf[:k])
				n -= k
			}
			w.WriteString("\nDONE\n")
		default:
			fmt.Fprintf(w, "ECHO %s\n", line)
		}
		w.Flush()
	}
}

type fixture struct {
	dir, cert, ca string
	caCert        *tls.Certificate
	client        *tls.Certificate
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{dir: t.TempDir()}
	f.cert = filepath.Join(f.dir, "imapd.pem")
	f.ca = filepath.Join(f.dir, "ca.pem")
	tlsconftest.Cert(t, f.cert, pkix.Name{CommonName: "localhost", Organization: []string{"Courier Mail Server"}}, false, nil)
	f.caCert = tlsconftest.Cert(t, f.ca, pkix.Name{CommonName: "Test CA"}, true, nil)
	f.client = tlsconftest.Cert(t, "", pkix.Name{CommonName: "Alice",
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: tlsconftest.EmailOID, Value: "alice@example.com"}}}, false, f.caCert)
	return f
}

func (f *fixture) env(extra ...string) []string {
	return append([]string{"COURIERTLS_TEST_HELPER=1", "TLS_CERTFILE=" + f.cert, "TCPREMOTEIP=::ffff:127.0.0.1"}, extra...)
}

// serve accepts one connection on 127.0.0.1 and runs couriertls for it as
// couriertcpd would (socket on fd 0/1). It returns the address and a
// channel that yields the started couriertls command.
func serve(t testing.TB, env []string, args ...string) (string, chan *exec.Cmd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *exec.Cmd, 1)
	go func() {
		defer ln.Close()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		f, _ := c.(*net.TCPConn).File()
		c.Close()
		if len(args) == 0 {
			args = []string{"-server", "-tcpd", "-user=nobody", os.Args[0]}
		}
		cmd := exec.Command(binPath, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, os.Stderr
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Error(err)
			close(ch)
			return
		}
		f.Close()
		ch <- cmd
		go cmd.Wait()
	}()
	return ln.Addr().String(), ch
}

// readHeader reads the helper's report up to READY.
func readHeader(t testing.TB, r *bufio.Reader) map[string]string {
	t.Helper()
	h := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading helper header: %v (so far %v)", err, h)
		}
		line = strings.TrimRight(line, "\n")
		if line == "READY" {
			return h
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			h[k] = v
		} else if k, v, ok := strings.Cut(line, " "); ok {
			h[k] = v
		}
	}
}

func procUID(t testing.TB, pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			return strings.Fields(l)[1]
		}
	}
	return ""
}

func TestImplicitTLS(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	f := newFixture(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			addr, ch := serve(t, f.env("TLS_EXTERNAL_ID=forged@example.com", "TLS_SUBJECT_CN=forged", "IMAP_STARTTLS=YES"))
			c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if got := c.ConnectionState().Version; got != v {
				t.Fatalf("version %x", got)
			}
			cmd := <-ch
			r := bufio.NewReader(c)
			h := readHeader(t, r)
			if h["IMAP_TLS"] != "1" || h["IMAP_STARTTLS"] != "NO" || h["POP3_TLS"] != "" {
				t.Errorf("env %v", h)
			}
			if h["TLS_EXTERNAL_ID"] != "" || h["TLS_SUBJECT_CN"] != "" {
				t.Errorf("inherited identity passed through: %v", h)
			}
			if want := map[uint16]string{tls.VersionTLS12: "TLSv1.2,", tls.VersionTLS13: "TLSv1.3,"}[v]; !strings.HasPrefix(h["TLS_CONNECTED_PROTOCOL"], want) {
				t.Errorf("TLS_CONNECTED_PROTOCOL=%q", h["TLS_CONNECTED_PROTOCOL"])
			}
			// The program runs as root (a login stage must), holds only
			// the socketpair, stderr and nothing else: never the key file.
			if h["UID"] != "0" {
				t.Errorf("program uid %s", h["UID"])
			}
			if strings.Contains(h["FDS"], f.cert) {
				t.Errorf("program descriptors: %s", h["FDS"])
			}
			for _, fd := range strings.Fields(h["FDS"]) {
				n, link, _ := strings.Cut(fd, "->")
				switch {
				case n == "0" || n == "1":
					if !strings.HasPrefix(link, "socket:") {
						t.Errorf("fd %s is not the socketpair", fd)
					}
				case n == "2":
				case strings.HasPrefix(link, "socket:") || strings.HasPrefix(link, "pipe:") || strings.HasPrefix(link, "/dev/"):
					// Only the Go runtime's own files (cgroup limits) are expected.
					t.Errorf("program inherited fd %s", fd)
				}
			}
			t.Logf("program descriptors: %s", h["FDS"])
			pid, _ := strconv.Atoi(h["PID"])
			if ppid := parentOf(t, pid); ppid != cmd.Process.Pid {
				t.Errorf("program's parent %d, couriertls %d", ppid, cmd.Process.Pid)
			}
			if uid := procUID(t, cmd.Process.Pid); uid != "65534" {
				t.Errorf("couriertls runs as uid %s, want nobody", uid)
			}
			fmt.Fprintf(c, "hello\r\n")
			if line, _ := r.ReadString('\n'); line != "ECHO hello\n" {
				t.Errorf("echo %q", line)
			}
			fmt.Fprintf(c, "QUIT\n")
			if _, err := r.ReadByte(); err != io.EOF {
				t.Errorf("after QUIT: %v, want EOF (close_notify)", err)
			}
		})
	}
}

func parentOf(t testing.TB, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	p, _ := strconv.Atoi(fields[1])
	return p
}

func TestPOP3Service(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	f := newFixture(t)
	addr, _ := serve(t, f.env(), "-server", "-tcpd", "-user=courier-no-such-user", "-service=pop3", os.Args[0])
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	h := readHeader(t, bufio.NewReader(c))
	if h["POP3_TLS"] != "1" || h["POP3_STARTTLS"] != "NO" || h["IMAP_TLS"] != "" {
		t.Errorf("env %v", h)
	}
}

func TestClientCertificate(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	f := newFixture(t)
	env := f.env("TLS_VERIFYPEER=REQUIREPEER", "TLS_TRUSTCERTS="+f.ca, "TLS_EXTERNAL=emailaddress")
	t.Run("verified", func(t *testing.T) {
		addr, _ := serve(t, env)
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*f.client}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		h := readHeader(t, bufio.NewReader(c))
		if h["TLS_EXTERNAL_ID"] != "alice@example.com" || h["TLS_SUBJECT_EMAILADDRESS"] != "alice@example.com" || h["TLS_SUBJECT_CN"] != "Alice" {
			t.Errorf("identity variables: %v", h)
		}
	})
	t.Run("PEER without certificate", func(t *testing.T) {
		peer := f.env("TLS_VERIFYPEER=PEER", "TLS_TRUSTCERTS="+f.ca, "TLS_EXTERNAL=emailaddress")
		addr, _ := serve(t, peer)
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if h := readHeader(t, bufio.NewReader(c)); h["TLS_EXTERNAL_ID"] != "" || h["TLS_SUBJECT_CN"] != "" || h["IMAP_TLS"] != "1" {
			t.Errorf("env %v", h)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		addr, _ := serve(t, env)
		self := tlsconftest.Cert(t, "", pkix.Name{CommonName: "Mallory",
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: tlsconftest.EmailOID, Value: "alice@example.com"}}}, false, nil)
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return self, nil }})
		if err == nil {
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				t.Fatalf("program reached with an untrusted certificate: %q", line)
			}
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		addr, _ := serve(t, env)
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			// TLS 1.3: the client finishes first; the refusal arrives as an alert.
			if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				t.Fatalf("program reached without a client certificate: %q", line)
			}
		}
	})
}

func TestBadHandshakeStartsNothing(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	f := newFixture(t)
	addr, ch := serve(t, f.env())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "a LOGIN plain text\r\n")
	data, _ := io.ReadAll(c)
	if strings.Contains(string(data), "PID") {
		t.Fatalf("program ran after a failed handshake: %q", data)
	}
	<-ch
}

func TestOpenSSLClient(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	openssl := testenv.NeedProgram(t, "openssl", "openssl")
	f := newFixture(t)
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		t.Run(v, func(t *testing.T) {
			addr, _ := serve(t, f.env())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, v, "-brief", "-ign_eof")
			cmd.Stdin = strings.NewReader("hello\nQUIT\n")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := map[string]string{"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"}[v]
			s := string(out)
			if !strings.Contains(s, "Protocol version: "+want) || !strings.Contains(s, "IMAP_TLS=1") || !strings.Contains(s, "ECHO hello") {
				t.Fatalf("openssl output:\n%s", s)
			}
		})
	}
}

func TestPythonClient(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	py := testenv.NeedProgram(t, "python3", "python3")
	f := newFixture(t)
	for _, v := range []string{"TLSv1_2", "TLSv1_3"} {
		t.Run(v, func(t *testing.T) {
			addr, _ := serve(t, f.env())
			host, port, _ := net.SplitHostPort(addr)
			script := `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
v = getattr(ssl.TLSVersion, sys.argv[3])
ctx.minimum_version = v
ctx.maximum_version = v
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15))
f = s.makefile("rwb")
lines = []
while True:
    l = f.readline().decode().strip()
    lines.append(l)
    if l == "READY":
        break
f.write(b"ping\nQUIT\n"); f.flush()
lines.append(f.readline().decode().strip())
print(s.version()); print("\n".join(lines))
`
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, py, "-c", script, host, port, v).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			s := string(out)
			want := strings.Replace(v, "_", ".", 1)
			if !strings.HasPrefix(s, want+"\n") || !strings.Contains(s, "IMAP_TLS=1") || !strings.Contains(s, "ECHO ping") {
				t.Fatalf("python output:\n%s", s)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-tcpd"}, 2},                                // not -server
		{[]string{"-server", "-tcpd"}, 2},                     // no program
		{[]string{"-server"}, 2},                              // no descriptors
		{[]string{"-server", "-nosuchflag"}, 2},               // unknown flag
		{[]string{"-launch=3"}, 2},                            // launcher without program
		{[]string{"-server", "-remotefd=9", "-localfd=8"}, 1}, // no TLS_CERTFILE
	} {
		cmd := exec.Command(binPath, tc.args...)
		cmd.Env = []string{}
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
	}
}

// BenchmarkConnectTLS measures a full connection: TCP accept, couriertls
// exec, key load, launcher + program exec, TLS 1.3 handshake, first line.
func BenchmarkConnectTLS(b *testing.B) {
	f := newFixture(b)
	rsaPath := filepath.Join(f.dir, "rsa.pem")
	tlsconftest.RSACert(b, rsaPath, pkix.Name{CommonName: "localhost"}, 3072)
	for _, k := range []struct{ name, cert string }{{"ecdsa-p256", f.cert}, {"rsa-3072", rsaPath}} {
		b.Run(k.name, func(b *testing.B) {
			env := f.env("TLS_CERTFILE=" + k.cert)
			for b.Loop() {
				addr, _ := serve(b, env)
				c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					b.Fatal(err)
				}
				readHeader(b, bufio.NewReader(c))
				c.Close()
			}
		})
	}
}

// BenchmarkHandshakeInProcess is the crypto part alone: TLS 1.3
// handshakes over loopback TCP in one process, per key type.
func BenchmarkHandshakeInProcess(b *testing.B) {
	f := newFixture(b)
	rsaPath := filepath.Join(f.dir, "rsa.pem")
	tlsconftest.RSACert(b, rsaPath, pkix.Name{CommonName: "localhost"}, 3072)
	for _, k := range []struct{ name, cert string }{{"ecdsa-p256", f.cert}, {"rsa-3072", rsaPath}} {
		b.Run(k.name, func(b *testing.B) {
			cfg, err := tlsconf.Load(func(s string) string {
				if s == "TLS_CERTFILE" {
					return k.cert
				}
				return ""
			}, tlsconf.Options{})
			if err != nil {
				b.Fatal(err)
			}
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						tc := tls.Server(c, cfg.TLS)
						tc.Handshake()
						tc.Write([]byte("x"))
						tc.Close()
					}()
				}
			}()
			for b.Loop() {
				c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					b.Fatal(err)
				}
				c.Read(make([]byte, 1))
				c.Close()
			}
		})
	}
}

// BenchmarkConnectPlain is the baseline: the program exec'd directly on
// the TCP socket, as on the plain port.
func BenchmarkConnectPlain(b *testing.B) {
	for b.Loop() {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go func() {
			c, err := ln.Accept()
			ln.Close()
			if err != nil {
				return
			}
			fl, _ := c.(*net.TCPConn).File()
			c.Close()
			cmd := exec.Command(os.Args[0])
			cmd.Stdin, cmd.Stdout = fl, fl
			cmd.Env = []string{"COURIERTLS_TEST_HELPER=1"}
			cmd.Start()
			fl.Close()
			go cmd.Wait()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		readHeader(b, bufio.NewReader(c))
		c.Close()
	}
}

// BenchmarkBulk measures throughput program -> client through the pump.
func BenchmarkBulk(b *testing.B) {
	f := newFixture(b)
	addr, _ := serve(b, f.env())
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	readHeader(b, r)
	const n = 16 << 20
	b.SetBytes(n)
	for b.Loop() {
		fmt.Fprintf(c, "BULK %d\n", n)
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			b.Fatal(err)
		}
		if l, _ := r.ReadString('\n'); l != "\n" {
			b.Fatalf("tail %q", l)
		}
		r.ReadString('\n')
	}
}

// TestSessionResumption: every connection is a new couriertls process, so
// resumption works only through the TLS_CACHEFILE-derived ticket key.
func TestSessionResumption(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		env    []string
		resume bool
	}{
		{"with TLS_CACHEFILE", f.env("TLS_CACHEFILE=" + filepath.Join(f.dir, "cache")), true},
		{"without", f.env(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(4)
			var resumed bool
			for i := 0; i < 2; i++ {
				addr, _ := serve(t, tc.env)
				c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache})
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				readHeader(t, bufio.NewReader(c)) // also processes the ticket
				resumed = c.ConnectionState().DidResume
				c.Close()
			}
			if resumed != tc.resume {
				t.Errorf("second connection resumed=%v, want %v", resumed, tc.resume)
			}
		})
	}
}

func waitGone(pid int, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(data), ") Z ") {
			return true
		}
	}
	return false
}

func TestTermination(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	f := newFixture(t)
	start := func(t *testing.T) (*tls.Conn, *bufio.Reader, int, int) {
		addr, ch := serve(t, f.env())
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		h := readHeader(t, r)
		pid, _ := strconv.Atoi(h["PID"])
		return c, r, (<-ch).Process.Pid, pid
	}
	t.Run("client closes", func(t *testing.T) {
		c, _, tlsPid, progPid := start(t)
		c.Close()
		if !waitGone(progPid, 5*time.Second) || !waitGone(tlsPid, 5*time.Second) {
			t.Fatal("program or couriertls still running after the client closed")
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		c, r, tlsPid, _ := start(t)
		defer c.Close()
		syscall.Kill(tlsPid, syscall.SIGTERM)
		time.Sleep(100 * time.Millisecond)
		fmt.Fprintf(c, "still there\n")
		if l, _ := r.ReadString('\n'); l != "ECHO still there\n" {
			t.Fatalf("pump stopped at once on SIGTERM: %q", l)
		}
		t0 := time.Now()
		if _, err := r.ReadByte(); err == nil {
			t.Fatal("unexpected data")
		}
		if d := time.Since(t0); d > shutdownGrace+2*time.Second {
			t.Fatalf("pump ran %v after SIGTERM", d)
		}
	})
}

// TestUnderCouriertcpd runs the real chain: our couriertcpd accepts and
// execs couriertls -tcpd, which runs the program. Skipped when ./tcpd does
// not build (it is another engineer's work in progress).
func TestUnderCouriertcpd(t *testing.T) {
	testenv.NeedRoot(t, "privilege drop to -user")
	tcpd := testenv.GoBuild(t, "gocourier/tcpd", "couriertcpd")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	f := newFixture(t)
	cmd := exec.Command(tcpd, "-nodnslookup", "-noidentlookup", "-address=127.0.0.1", port,
		binPath, "-server", "-tcpd", "-user=nobody", os.Args[0])
	for _, kv := range f.env() {
		if !strings.HasPrefix(kv, "TCPREMOTEIP=") { // must come from couriertcpd
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	}()
	var c *tls.Conn
	for i := 0; i < 50; i++ {
		if c, err = tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{InsecureSkipVerify: true}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	h := readHeader(t, bufio.NewReader(c))
	if h["IMAP_TLS"] != "1" || h["TCPREMOTEIP"] != "::ffff:127.0.0.1" {
		t.Errorf("env through couriertcpd: %v", h)
	}
}
