package e2e

// TLS end to end (issue 6): implicit TLS on SSLPORT through
// couriertcpd -> couriertls -> imaplogin/pop3login, STARTTLS/STLS on the
// plain ports through internal/starttls, the command-injection defence
// (CVE-2011-0411 class: bytes pipelined after STARTTLS are never
// answered inside TLS), CRAM-MD5 with a userdb hmac-md5pw, EXTERNAL with
// client certificates from a test CA, TLS_REQUIRED, and the key staying
// out of the mail session's reach. Clients: openssl s_client, python ssl
// (imaplib/poplib), and Go crypto/tls where a client certificate or raw
// timing is needed.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/tlsconf/tlsconftest"
)

// tlsSuite is a running configuration with all four servers.
type tlsSuite struct {
	*suite
	imapsPort, pop3sPort int
	certFile             string // TLS_CERTFILE, made by mkimapdcert on first start
	good, noField, rogue tls.Certificate
}

// capsIMAP lists CRAM-MD5 in IMAP_CAPABILITY (Courier's _ORIG choice);
// IMAP_CAPABILITY_TLS adds AUTH=PLAIN to it (the .dist default).
const capsIMAP = `"IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA AUTH=CRAM-MD5 IDLE"`

// startTLSSuite writes the TLS configuration (test CA, TLS_EXTERNAL
// =emailaddress, TLS_VERIFYPEER=PEER), gives the account a hmac-md5pw made
// by userdbpw -hmac-md5, and starts authdaemond and the four servers.
// extra holds settings for etc/imapd-ssl and etc/pop3d-ssl.
func startTLSSuite(t testing.TB, extra map[string]string) *tlsSuite {
	t.Helper()
	needInstall(t, "sbin/couriertls", "share/mkimapdcert", "share/mkpop3dcert", "sbin/userdbpw")
	s := configureSuite(t, options{pop3: true, extraIMAP: map[string]string{"IMAP_CAPABILITY": capsIMAP}})
	ts := &tlsSuite{suite: s}
	etc := filepath.Join(inst, "etc")
	dir := filepath.Join(scratch, "tls")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0755); err != nil {
		t.Fatal(err)
	}
	// The CA and the client certificates; the server certificate is left
	// to the rc script (first start).
	ca := tlsconftest.Cert(t, "", pkix.Name{CommonName: "gocourier e2e CA"}, true, nil)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Leaf.Raw}), 0644); err != nil {
		t.Fatal(err)
	}
	email := []pkix.AttributeTypeAndValue{{Type: tlsconftest.EmailOID, Value: acctName}}
	ts.good = *tlsconftest.Cert(t, "", pkix.Name{CommonName: "e2e client", ExtraNames: email}, false, ca)
	ts.noField = *tlsconftest.Cert(t, "", pkix.Name{CommonName: acctName}, false, ca)
	ts.rogue = *tlsconftest.Cert(t, "", pkix.Name{CommonName: "rogue", ExtraNames: email}, false, nil)
	ts.certFile = filepath.Join(dir, "server.pem")

	for _, f := range []string{"imapd-ssl", "pop3d-ssl"} {
		file := filepath.Join(etc, f)
		if f == "imapd-ssl" {
			setValue(t, file, "IMAPDSSLSTART", "YES")
			ts.imapsPort, _ = strconv.Atoi(getValue(t, file, "SSLPORT"))
		} else {
			setValue(t, file, "POP3DSSLSTART", "YES")
			setValue(t, file, "POP3AUTH_TLS", `"PLAIN LOGIN"`)
			ts.pop3sPort, _ = strconv.Atoi(getValue(t, file, "SSLPORT"))
		}
		setValue(t, file, "TLS_CERTFILE", ts.certFile)
		setValue(t, file, "TLS_TRUSTCERTS", caFile)
		setValue(t, file, "TLS_VERIFYPEER", "PEER")
		setValue(t, file, "TLS_EXTERNAL", "emailaddress")
		for k, v := range extra {
			setValue(t, file, k, v)
		}
	}

	// CRAM-MD5 needs the HMAC context in userdb (hmac-md5pw).
	cmd := exec.Command(filepath.Join(inst, "sbin/userdbpw"), "-hmac-md5")
	cmd.Stdin = strings.NewReader(acctPass + "\n")
	hm, err := cmd.Output()
	if err != nil {
		t.Fatalf("userdbpw -hmac-md5: %v", err)
	}
	udb := filepath.Join(etc, "userdb")
	b, err := os.ReadFile(udb)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimRight(string(b), "\n") + "|hmac-md5pw=" + strings.TrimSpace(string(hm)) + "\n"
	if err := os.WriteFile(udb, []byte(line), 0600); err != nil {
		t.Fatal(err)
	}

	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	// imapd-ssl.rc first: it makes the certificate that STARTTLS on the
	// plain ports needs too.
	run(t, filepath.Join(inst, "libexec/imapd-ssl.rc"), "start")
	run(t, filepath.Join(inst, "libexec/pop3d-ssl.rc"), "start")
	run(t, filepath.Join(inst, "libexec/imapd.rc"), "start")
	run(t, filepath.Join(inst, "libexec/pop3d.rc"), "start")
	for _, p := range []int{ts.imapsPort, ts.pop3sPort, s.imapPort, s.pop3Port} {
		waitFor(t, "port "+strconv.Itoa(p), func() bool { return canConnect(p) })
	}
	return ts
}

// textConn is a line-oriented client connection, plain or TLS.
type textConn struct {
	c net.Conn
	r *bufio.Reader
	t testing.TB
}

func newTextConn(t testing.TB, c net.Conn) *textConn {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &textConn{c: c, r: bufio.NewReader(c), t: t}
}

func (tc *textConn) line() string {
	tc.t.Helper()
	l, err := tc.r.ReadString('\n')
	if err != nil {
		tc.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (tc *textConn) send(s string) {
	tc.t.Helper()
	if _, err := tc.c.Write([]byte(s)); err != nil {
		tc.t.Fatalf("write: %v", err)
	}
}

// cmd sends an IMAP command and returns its untagged lines and tagged line.
func (tc *textConn) cmd(tag, c string) ([]string, string) {
	tc.t.Helper()
	tc.send(tag + " " + c + "\r\n")
	var un []string
	for {
		l := tc.line()
		if strings.HasPrefix(l, tag+" ") {
			return un, l
		}
		un = append(un, l)
	}
}

// startTLS upgrades a connection on which STARTTLS/STLS was accepted.
func (tc *textConn) startTLS(cert *tls.Certificate) error {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	c := tls.Client(tc.c, cfg)
	if err := c.Handshake(); err != nil {
		return err
	}
	tc.c, tc.r = c, bufio.NewReader(c)
	return nil
}

func dialText(t testing.TB, port int, implicit bool, cert *tls.Certificate) *textConn {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var c net.Conn
	var err error
	if implicit {
		cfg := &tls.Config{InsecureSkipVerify: true}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	} else {
		c, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	tc := newTextConn(t, c)
	t.Cleanup(func() { tc.c.Close() })
	return tc
}

// sClient runs openssl s_client with input and returns what it printed.
func sClient(t *testing.T, input string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-quiet", "-ign_eof"}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl s_client %v: timed out\n%s", args, out)
	}
	_ = err // s_client's exit status after the server closed is not meaningful
	return string(out)
}

// TestTLSOpenSSL: openssl s_client against both implicit-TLS ports and
// both STARTTLS forms; a full login and a mailbox command each time.
func TestTLSOpenSSL(t *testing.T) {
	needCommand(t, "openssl")
	ts := startTLSSuite(t, nil)
	imapIn := fmt.Sprintf("a LOGIN %s %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n", acctName, acctPass)
	pop3In := fmt.Sprintf("USER %s\r\nPASS %s\r\nSTAT\r\nQUIT\r\n", acctName, acctPass)
	cases := []struct {
		name, in string
		args     []string
		want     []string
	}{
		{"imaps", "x CAPABILITY\r\n" + imapIn, []string{"-connect", fmt.Sprintf("127.0.0.1:%d", ts.imapsPort)},
			[]string{"AUTH=PLAIN", "a OK", "b OK", "* 2 EXISTS", "c OK"}},
		{"imap starttls", imapIn, []string{"-starttls", "imap", "-connect", fmt.Sprintf("127.0.0.1:%d", ts.imapPort)},
			[]string{"a OK", "b OK", "* 2 EXISTS", "c OK"}},
		{"pop3s", pop3In, []string{"-connect", fmt.Sprintf("127.0.0.1:%d", ts.pop3sPort)},
			[]string{"+OK Hello there.", "+OK logged in.", "+OK 2 "}},
		{"pop3 stls", pop3In, []string{"-starttls", "pop3", "-connect", fmt.Sprintf("127.0.0.1:%d", ts.pop3Port)},
			[]string{"+OK logged in.", "+OK 2 "}},
	}
	for _, c := range cases {
		out := sClient(t, c.in, c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, out)
			}
		}
		if strings.Contains(out, "STARTTLS ") || strings.Contains(out, " STARTTLS\r") {
			t.Errorf("%s: STARTTLS advertised on TLS:\n%s", c.name, out)
		}
	}
}

const pyTLS = `
import imaplib, poplib, ssl, sys
mode, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode.startswith("imap"):
    if mode == "imaps":
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=20)
    else:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        print("PRECAPS", " ".join(m.capabilities))
        print("STARTTLS", m.starttls(ssl_context=ctx)[0])
    print("VERSION", m.sock.version())
    print("CAPS", " ".join(m.capabilities))
    print("LOGIN", m.login(user, pw)[0])
    typ, data = m.select("INBOX")
    print("SELECT", typ, data[0].decode())
    m.logout()
else:
    if mode == "pop3s":
        p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=20)
    else:
        p = poplib.POP3("127.0.0.1", port, timeout=20)
        print("PRECAPA", " ".join(sorted(p.capa())))
        print("STLS", p.stls(context=ctx).decode())
    print("VERSION", p.sock.version())
    p.user(user)
    print("PASS", p.pass_(pw).decode())
    print("STAT", p.stat()[0])
    p.quit()
print("DONE")
`

// TestTLSPython: python ssl (imaplib/poplib) on both implicit ports and
// with IMAP4.starttls / POP3.stls; capabilities before and after.
func TestTLSPython(t *testing.T) {
	ts := startTLSSuite(t, nil)
	cases := []struct {
		mode string
		port int
		want []string
		not  []string
	}{
		{"imaps", ts.imapsPort, []string{"VERSION TLSv1.3", "AUTH=PLAIN", "AUTH=CRAM-MD5", "LOGIN OK", "SELECT OK 2", "DONE"}, []string{"STARTTLS"}},
		{"imap-starttls", ts.imapPort, []string{"PRECAPS", "STARTTLS OK", "VERSION TLSv1.3", "AUTH=PLAIN", "LOGIN OK", "SELECT OK 2", "DONE"}, []string{"CAPS IMAP4REV1 STARTTLS", "LOGINDISABLED"}},
		{"pop3s", ts.pop3sPort, []string{"VERSION TLSv1.3", "PASS +OK", "STAT 2", "DONE"}, nil},
		{"pop3-stls", ts.pop3Port, []string{"PRECAPA", "STLS +OK Begin SSL/TLS negotiation now.", "VERSION TLSv1.3", "PASS +OK", "STAT 2", "DONE"}, nil},
	}
	for _, c := range cases {
		out, err := python(t, pyTLS, c.mode, strconv.Itoa(c.port), acctName, acctPass)
		if err != nil {
			t.Errorf("%s: %v\n%s", c.mode, err, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.mode, w, out)
			}
		}
		for _, w := range c.not {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%s", c.mode, w, out)
			}
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "PRECAPS") && (!strings.Contains(l, "STARTTLS") || strings.Contains(l, "AUTH=PLAIN")) {
				t.Errorf("plain-port capabilities: want STARTTLS and no AUTH=PLAIN: %s", l)
			}
			if strings.HasPrefix(l, "PRECAPA") && !strings.Contains(l, "STLS") {
				t.Errorf("plain-port CAPA lacks STLS: %s", l)
			}
		}
	}
}

// TestTLSStartTLSInjection: a command pipelined in the same packet as
// STARTTLS/STLS must never be answered inside TLS (CVE-2011-0411 class).
// Either the handshake fails (the bytes reached couriertls), or it
// succeeds and the first answer is to what the client sent inside TLS.
func TestTLSStartTLSInjection(t *testing.T) {
	ts := startTLSSuite(t, nil)
	t.Run("imap", func(t *testing.T) {
		c := dialText(t, ts.imapPort, false, nil)
		if g := c.line(); !strings.Contains(g, "STARTTLS") {
			t.Fatalf("greeting without STARTTLS: %q", g)
		}
		c.send("a STARTTLS\r\nb CAPABILITY\r\n")
		if l := c.line(); l != "a OK Begin SSL/TLS negotiation now." {
			t.Fatalf("STARTTLS: %q", l)
		}
		if err := c.startTLS(nil); err != nil {
			t.Logf("handshake failed, as the injected bytes went to TLS: %v", err)
			return
		}
		c.send("c NOOP\r\n")
		if l := c.line(); l != "c OK NOOP completed" {
			t.Errorf("first line inside TLS %q: the injected command was answered", l)
		}
	})
	t.Run("pop3", func(t *testing.T) {
		c := dialText(t, ts.pop3Port, false, nil)
		c.line()
		c.send("STLS\r\nUSER injected\r\n")
		if l := c.line(); l != "+OK Begin SSL/TLS negotiation now." {
			t.Fatalf("STLS: %q", l)
		}
		if err := c.startTLS(nil); err != nil {
			t.Logf("handshake failed, as the injected bytes went to TLS: %v", err)
			return
		}
		c.send("PASS x\r\n")
		if l := c.line(); l != "-ERR USER/PASS required." {
			t.Errorf("first line inside TLS %q: the injected USER was honoured", l)
		}
	})
}

// TestTLSStartTLSStates: STARTTLS/STLS twice, or after login, is refused;
// the capabilities switch to the TLS list after STARTTLS.
func TestTLSStartTLSStates(t *testing.T) {
	ts := startTLSSuite(t, nil)
	c := dialText(t, ts.imapPort, false, nil)
	c.line()
	if _, l := c.cmd("a", "STARTTLS"); l != "a OK Begin SSL/TLS negotiation now." {
		t.Fatalf("STARTTLS: %q", l)
	}
	if err := c.startTLS(nil); err != nil {
		t.Fatal(err)
	}
	un, _ := c.cmd("b", "CAPABILITY")
	if len(un) != 1 || strings.Contains(un[0], "STARTTLS") || !strings.Contains(un[0], "AUTH=PLAIN") {
		t.Errorf("capabilities after STARTTLS: %q", un)
	}
	if _, l := c.cmd("c", "STARTTLS"); l != "c NO Error in IMAP command received by server." {
		t.Errorf("second STARTTLS: %q", l)
	}
	// AUTHENTICATE PLAIN inside TLS.
	if _, l := c.cmd("d", "AUTHENTICATE PLAIN "+b64("\x00"+acctName+"\x00"+acctPass)); !strings.HasPrefix(l, "d OK") {
		t.Fatalf("AUTHENTICATE PLAIN: %q", l)
	}
	if _, l := c.cmd("e", "STARTTLS"); strings.HasPrefix(l, "e OK") {
		t.Errorf("STARTTLS after login: %q", l)
	}
	c.cmd("f", "LOGOUT")

	p := dialText(t, ts.pop3Port, false, nil)
	p.line()
	p.send("STLS\r\n")
	if l := p.line(); l != "+OK Begin SSL/TLS negotiation now." {
		t.Fatalf("STLS: %q", l)
	}
	if err := p.startTLS(nil); err != nil {
		t.Fatal(err)
	}
	p.send("STLS\r\n")
	if l := p.line(); l != "-ERR TLS support not available." {
		t.Errorf("second STLS: %q", l)
	}
	p.send("USER " + acctName + "\r\nPASS " + acctPass + "\r\n")
	p.line()
	if l := p.line(); l != "+OK logged in." {
		t.Fatalf("PASS: %q", l)
	}
	p.send("STLS\r\n")
	if l := p.line(); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("STLS after login: %q", l)
	}
	p.send("QUIT\r\n")
}

// TestTLSRequired: IMAP_TLS_REQUIRED=1 / POP3_TLS_REQUIRED=1 refuse every
// login until STARTTLS/STLS; the implicit ports are unaffected.
func TestTLSRequired(t *testing.T) {
	ts := startTLSSuite(t, map[string]string{"IMAP_TLS_REQUIRED": "1", "POP3_TLS_REQUIRED": "1"})
	c := dialText(t, ts.imapPort, false, nil)
	if g := c.line(); !strings.Contains(g, " STARTTLS") || !strings.Contains(g, " LOGINDISABLED") {
		t.Errorf("greeting: %q", g)
	}
	if _, l := c.cmd("a", "LOGIN "+acctName+" "+acctPass); l != "a NO STARTTLS required" {
		t.Errorf("LOGIN before TLS: %q", l)
	}
	if _, l := c.cmd("b", "AUTHENTICATE PLAIN "+b64("\x00"+acctName+"\x00"+acctPass)); l != "b NO STARTTLS required" {
		t.Errorf("AUTHENTICATE before TLS: %q", l)
	}
	c.cmd("c", "STARTTLS")
	if err := c.startTLS(nil); err != nil {
		t.Fatal(err)
	}
	if un, _ := c.cmd("d", "CAPABILITY"); len(un) != 1 || strings.Contains(un[0], "LOGINDISABLED") {
		t.Errorf("capabilities after STARTTLS: %q", un)
	}
	if _, l := c.cmd("e", "LOGIN "+acctName+" "+acctPass); !strings.HasPrefix(l, "e OK") {
		t.Errorf("LOGIN after STARTTLS: %q", l)
	}
	c.cmd("f", "LOGOUT")

	s := dialText(t, ts.imapsPort, true, nil)
	if g := s.line(); strings.Contains(g, "LOGINDISABLED") {
		t.Errorf("implicit-TLS greeting: %q", g)
	}
	if _, l := s.cmd("a", "LOGIN "+acctName+" "+acctPass); !strings.HasPrefix(l, "a OK") {
		t.Errorf("LOGIN on the implicit port: %q", l)
	}
	s.cmd("b", "LOGOUT")

	p := dialText(t, ts.pop3Port, false, nil)
	p.line()
	p.send("USER " + acctName + "\r\n")
	if l := p.line(); l != "-ERR TLS required to log in." {
		t.Errorf("USER before STLS: %q", l)
	}
	p.send("AUTH PLAIN " + b64("\x00"+acctName+"\x00"+acctPass) + "\r\n")
	if l := p.line(); l != "-ERR TLS required to log in." {
		t.Errorf("AUTH before STLS: %q", l)
	}
	p.send("STLS\r\n")
	p.line()
	if err := p.startTLS(nil); err != nil {
		t.Fatal(err)
	}
	p.send("USER " + acctName + "\r\nPASS " + acctPass + "\r\n")
	p.line()
	if l := p.line(); l != "+OK logged in." {
		t.Errorf("PASS after STLS: %q", l)
	}
	p.send("QUIT\r\n")
}

// TestTLSCramMD5: AUTH=CRAM-MD5 from IMAP_CAPABILITY, python imaplib
// login_cram_md5 against a userdb account whose hmac-md5pw was made by
// our userdbpw -hmac-md5; a wrong password is refused. AUTH=PLAIN is not
// advertised without TLS.
func TestTLSCramMD5(t *testing.T) {
	ts := startTLSSuite(t, nil)
	script := `
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=20)
print("CAPS", " ".join(m.capabilities))
try:
    print("CRAM", m.login_cram_md5(sys.argv[2], sys.argv[3])[0])
    print("SELECT", m.select("INBOX")[0])
    m.logout()
except imaplib.IMAP4.error as e:
    print("REFUSED", e)
`
	out, err := python(t, script, strconv.Itoa(ts.imapPort), acctName, acctPass)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"AUTH=CRAM-MD5", "CRAM OK", "SELECT OK"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "AUTH=PLAIN") {
		t.Errorf("AUTH=PLAIN advertised without TLS:\n%s", out)
	}
	out, err = python(t, script, strconv.Itoa(ts.imapPort), acctName, "wrong")
	if err != nil || !strings.Contains(out, "REFUSED") {
		t.Errorf("wrong CRAM password: %v\n%s", err, out)
	}
}

// TestTLSExternal: AUTHENTICATE EXTERNAL / AUTH EXTERNAL with a client
// certificate from the test CA carrying the TLS_EXTERNAL field logs in;
// a CA-signed certificate without the field, a certificate from another
// CA, and no certificate are refused.
func TestTLSExternal(t *testing.T) {
	ts := startTLSSuite(t, nil)
	t.Run("imaps", func(t *testing.T) {
		c := dialText(t, ts.imapsPort, true, &ts.good)
		if g := c.line(); !strings.Contains(g, "AUTH=EXTERNAL") {
			t.Errorf("greeting lacks AUTH=EXTERNAL: %q", g)
		}
		if _, l := c.cmd("a", "AUTHENTICATE EXTERNAL ="); !strings.HasPrefix(l, "a OK") {
			t.Fatalf("EXTERNAL: %q", l)
		}
		if un, l := c.cmd("b", "SELECT INBOX"); !strings.HasPrefix(l, "b OK") || !strings.Contains(strings.Join(un, "\n"), "* 2 EXISTS") {
			t.Errorf("SELECT: %q %q", un, l)
		}
		c.cmd("c", "LOGOUT")
	})
	t.Run("imap starttls, no initial response", func(t *testing.T) {
		c := dialText(t, ts.imapPort, false, nil)
		c.line()
		c.cmd("a", "STARTTLS")
		if err := c.startTLS(&ts.good); err != nil {
			t.Fatal(err)
		}
		c.send("b AUTHENTICATE EXTERNAL\r\n")
		if l := c.line(); l != "+ " {
			t.Fatalf("continuation %q", l)
		}
		c.send("\r\n")
		if l := c.line(); !strings.HasPrefix(l, "b OK") {
			t.Fatalf("EXTERNAL: %q", l)
		}
		c.cmd("c", "LOGOUT")
	})
	for _, bad := range []struct {
		name string
		cert *tls.Certificate
	}{{"no field", &ts.noField}, {"other CA", &ts.rogue}, {"no certificate", nil}} {
		t.Run("imaps refused: "+bad.name, func(t *testing.T) {
			cfg := &tls.Config{InsecureSkipVerify: true}
			if bad.cert != nil {
				// Present it even when the server's list of acceptable
				// CAs does not name its issuer.
				cert := bad.cert
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", ts.imapsPort), cfg)
			if err != nil {
				t.Logf("refused at the handshake: %v", err)
				return
			}
			c := newTextConn(t, conn)
			defer conn.Close()
			g, err := c.r.ReadString('\n')
			if err != nil {
				t.Logf("refused at the handshake: %v", err) // TLS 1.3: the alert comes with the first read
				return
			}
			if strings.Contains(g, "AUTH=EXTERNAL") {
				t.Errorf("AUTH=EXTERNAL advertised: %q", g)
			}
			if _, l := c.cmd("a", "AUTHENTICATE EXTERNAL ="); l != "a NO Login failed." {
				t.Errorf("EXTERNAL: %q", l)
			}
			// The authorization identity cannot name the account either.
			if _, l := c.cmd("b", "AUTHENTICATE EXTERNAL "+b64(acctName)); l != "b NO Login failed." {
				t.Errorf("EXTERNAL with authzid: %q", l)
			}
		})
	}
	t.Run("pop3s", func(t *testing.T) {
		p := dialText(t, ts.pop3sPort, true, &ts.good)
		p.line()
		p.send("CAPA\r\n")
		var capa []string
		for l := p.line(); l != "."; l = p.line() {
			capa = append(capa, l)
		}
		if !strings.Contains(strings.Join(capa, "\n"), "SASL PLAIN LOGIN EXTERNAL") {
			t.Errorf("CAPA: %q", capa)
		}
		p.send("AUTH EXTERNAL =\r\n")
		if l := p.line(); l != "+OK logged in." {
			t.Fatalf("AUTH EXTERNAL: %q", l)
		}
		p.send("STAT\r\n")
		if l := p.line(); !strings.HasPrefix(l, "+OK 2 ") {
			t.Errorf("STAT: %q", l)
		}
		p.send("QUIT\r\n")
	})
	t.Run("pop3 stls refused: no field", func(t *testing.T) {
		p := dialText(t, ts.pop3Port, false, nil)
		p.line()
		p.send("STLS\r\n")
		p.line()
		if err := p.startTLS(&ts.noField); err != nil {
			t.Fatal(err)
		}
		p.send("AUTH EXTERNAL =\r\n")
		if l := p.line(); !strings.HasPrefix(l, "-ERR") {
			t.Errorf("AUTH EXTERNAL without the field: %q", l)
		}
		p.send("QUIT\r\n")
	})
}

// TestTLSKeyIsolation: with sessions open on the implicit port and after
// STARTTLS, no session process (imapd as uid 5000) has the key file open
// or can read it (mode 600, root), and couriertls does not run as root.
func TestTLSKeyIsolation(t *testing.T) {
	ts := startTLSSuite(t, nil)
	st, err := os.Stat(ts.certFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("%s: mode %v uid %d, want 0600 root", ts.certFile, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
	}
	s := dialText(t, ts.imapsPort, true, nil)
	s.line()
	if _, l := s.cmd("a", "LOGIN "+acctName+" "+acctPass); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("LOGIN: %q", l)
	}
	c := dialText(t, ts.imapPort, false, nil)
	c.line()
	c.cmd("a", "STARTTLS")
	if err := c.startTLS(nil); err != nil {
		t.Fatal(err)
	}
	if _, l := c.cmd("b", "LOGIN "+acctName+" "+acctPass); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("LOGIN after STARTTLS: %q", l)
	}
	sessions := procsNamed("imapd")
	if len(sessions) != 2 {
		t.Fatalf("%d imapd processes, want 2: %+v", len(sessions), sessions)
	}
	pumps := procsNamed("couriertls")
	if len(pumps) < 2 {
		t.Errorf("%d couriertls processes, want 2 or more", len(pumps))
	}
	for _, p := range append(sessions, pumps...) {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.pid, fd.Name())); l == ts.certFile {
				t.Errorf("%s (pid %d) has the key file open on fd %s", p.exe, p.pid, fd.Name())
			}
		}
		if env := procEnv(p.pid); strings.Contains(strings.Join(mapValues(env), "\n"), "PRIVATE KEY") {
			t.Errorf("%s (pid %d) has key material in its environment", p.exe, p.pid)
		}
	}
	for _, p := range sessions {
		if p.uids[0] != strconv.Itoa(acctUID) {
			t.Errorf("imapd pid %d runs as uid %s", p.pid, p.uids[0])
		}
	}
	for _, p := range pumps {
		for _, u := range p.uids {
			if u == "0" {
				t.Errorf("couriertls pid %d keeps uid 0: %v", p.pid, p.uids)
			}
		}
	}
	// The account's uid cannot read the key.
	cat := exec.Command("/bin/cat", ts.certFile)
	cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: acctUID, Gid: acctGID}}
	if out, err := cat.CombinedOutput(); err == nil || strings.Contains(string(out), "PRIVATE KEY") {
		t.Errorf("uid %d can read %s: %v", acctUID, ts.certFile, err)
	}
	s.cmd("z", "LOGOUT")
	c.cmd("z", "LOGOUT")
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// loginOnce is one complete IMAP login and logout: connect (TLS
// handshake for implicit, STARTTLS for starttls), LOGIN, LOGOUT.
func loginOnce(port int, mode string) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: nil}
	var c net.Conn
	var err error
	if mode == "imaps" {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	} else {
		c, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	expect := func(prefix string) error {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("waiting for %q: %w", prefix, err)
			}
			if strings.HasPrefix(l, prefix) {
				return nil
			}
			if !strings.HasPrefix(l, "* ") {
				return fmt.Errorf("waiting for %q: got %q", prefix, l)
			}
		}
	}
	if err := expect("* OK"); err != nil {
		return err
	}
	if mode == "starttls" {
		fmt.Fprintf(c, "s STARTTLS\r\n")
		if err := expect("s OK"); err != nil {
			return err
		}
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			return err
		}
		c, r = tc, bufio.NewReader(tc)
	}
	fmt.Fprintf(c, "a LOGIN %s %s\r\n", acctName, acctPass)
	if err := expect("a OK"); err != nil {
		return err
	}
	fmt.Fprintf(c, "b LOGOUT\r\n")
	return expect("b OK")
}

// BenchmarkTLSLogin measures complete logins per second through the
// installed chain (couriertcpd, couriertls, imaplogin, authdaemond,
// imapd): plain for reference, implicit TLS (port 993 style) and
// STARTTLS. Each iteration is a new connection and a full handshake (no
// session resumption). Run as root:
//
//	go test ./tests/e2e -run '^$' -bench TLSLogin -benchtime 100x
func BenchmarkTLSLogin(b *testing.B) {
	ts := startTLSSuite(b, nil)
	for _, m := range []struct {
		mode string
		port int
	}{{"plain", ts.imapPort}, {"imaps", ts.imapsPort}, {"starttls", ts.imapPort}} {
		b.Run(m.mode, func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := loginOnce(m.port, m.mode); err != nil {
					b.Fatalf("login %d: %v", i, err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
		})
	}
}

// TestTLSLoginRate runs a short version of BenchmarkTLSLogin so the figure
// shows up in ordinary test logs (and a broken chain fails here).
func TestTLSLoginRate(t *testing.T) {
	ts := startTLSSuite(t, nil)
	const n = 20
	for _, m := range []struct {
		mode string
		port int
	}{{"plain", ts.imapPort}, {"imaps", ts.imapsPort}, {"starttls", ts.imapPort}} {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := loginOnce(m.port, m.mode); err != nil {
				t.Fatalf("%s login %d: %v", m.mode, i, err)
			}
		}
		el := time.Since(start)
		t.Logf("%-8s %d logins in %v: %.1f logins/s", m.mode, n, el.Round(time.Millisecond), n/el.Seconds())
	}
}

// TestTLSShutdown: imapd-ssl.rc stop reaches every process of a TLS
// connection (couriertcpd signals the connection's process group, since
// couriertls runs as an unprivileged user and cannot pass signals on):
// the connection is closed (the session stage has no signal handler, so
// no BYE: DESIGN §5), and nothing is left.
func TestTLSShutdown(t *testing.T) {
	ts := startTLSSuite(t, nil)
	c := dialText(t, ts.imapsPort, true, nil)
	c.line()
	if _, l := c.cmd("a", "LOGIN "+acctName+" "+acctPass); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("LOGIN: %q", l)
	}
	if len(procsNamed("imapd")) != 1 || len(procsNamed("couriertls")) == 0 {
		t.Fatalf("chain not running: imapd %d couriertls %d", len(procsNamed("imapd")), len(procsNamed("couriertls")))
	}
	run(t, filepath.Join(inst, "libexec/imapd-ssl.rc"), "stop")
	l, err := c.r.ReadString('\n')
	if err == nil || l != "" {
		t.Errorf("after stop: %q, %v; want the connection closed", l, err)
	}
	waitFor(t, "the TLS chain to exit", func() bool {
		return len(procsNamed("imapd")) == 0 && len(procsNamed("couriertls")) == 0
	})
}

// TestTLSUserFallback: with TLS_USER naming no user, couriertls still
// serves, as nobody (65534) and never as root, on the implicit port and
// for STARTTLS; nothing is added to /etc/passwd.
func TestTLSUserFallback(t *testing.T) {
	passwd, _ := os.ReadFile("/etc/passwd")
	const user = "e2e-no-such-user"
	ts := startTLSSuite(t, map[string]string{"TLS_USER": user})
	s := dialText(t, ts.imapsPort, true, nil)
	s.line()
	c := dialText(t, ts.imapPort, false, nil)
	c.line()
	c.cmd("a", "STARTTLS")
	if err := c.startTLS(nil); err != nil {
		t.Fatal(err)
	}
	if _, l := c.cmd("b", "LOGIN "+acctName+" "+acctPass); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("LOGIN after STARTTLS: %q", l)
	}
	pumps := procsNamed("couriertls")
	if len(pumps) < 2 {
		t.Fatalf("%d couriertls processes, want 2 or more", len(pumps))
	}
	nobody := 0
	for _, p := range pumps {
		if p.uids[0] == "65534" && p.uids[1] == "65534" {
			nobody++
		}
		for _, u := range p.uids {
			if u == "0" {
				t.Errorf("couriertls pid %d keeps uid 0: %v", p.pid, p.uids)
			}
		}
	}
	if nobody < 2 {
		t.Errorf("%d of %d couriertls processes run as nobody: %+v", nobody, len(pumps), pumps)
	}
	if after, _ := os.ReadFile("/etc/passwd"); string(after) != string(passwd) {
		t.Errorf("/etc/passwd changed")
	}
	s.cmd("y", "LOGOUT")
	c.cmd("z", "LOGOUT")
}

// TestPOP3CramMD5: RFC 5034 AUTH CRAM-MD5 on the POP3 port against the same
// userdb hmac-md5pw secret: pop3login sends authd the challenge and the
// client's response (authd checks the HMAC; pop3login never sees the
// secret); a wrong password is refused with [AUTH].
func TestPOP3CramMD5(t *testing.T) {
	ts := startTLSSuite(t, nil)
	script := `
import poplib, hmac, hashlib, base64, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
try:
    ch = p._shortcmd("AUTH CRAM-MD5")
    assert ch.startswith(b"+ "), ch
    challenge = base64.b64decode(ch[2:])
    print("CHALLENGE", challenge.decode())
    digest = hmac.new(sys.argv[3].encode(), challenge, hashlib.md5).hexdigest()
    r = p._shortcmd(base64.b64encode((sys.argv[2] + " " + digest).encode()).decode())
    print("AUTH", r.decode())
    print("STAT", p.stat()[0])
    p.quit()
except poplib.error_proto as e:
    print("REFUSED", e)
`
	out, err := python(t, script, strconv.Itoa(ts.pop3Port), acctName, acctPass)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"CHALLENGE <", "AUTH +OK", "STAT 2"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	out, err = python(t, script, strconv.Itoa(ts.pop3Port), acctName, "wrong")
	if err != nil || !strings.Contains(out, "REFUSED") || !strings.Contains(out, "[AUTH]") {
		t.Errorf("wrong CRAM password: %v\n%s", err, out)
	}
}
