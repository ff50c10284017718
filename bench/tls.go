package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The tls workload (issue 8): implicit-TLS IMAP on a second port of each
// server, all three with the same RSA-3072 self-signed certificate.
//
// Invariants:
//   - One certificate per scratch directory, made once (crypto/x509) and
//     reused by every run and server: Courier's couriertls (GnuTLS) and
//     ours read key+cert from one PEM (TLS_CERTFILE); Dovecot gets the
//     same key and certificate split in two files.
//   - Every handshake is a full one: the client keeps no session cache,
//     so no server can resume (TLS 1.3 PSK or TLS 1.2 tickets/IDs).

// tlsFiles are the paths of the shared certificate.
type tlsFiles struct{ combined, cert, key string }

// benchCert returns (making once) the RSA-3072 self-signed certificate
// under e.work/tls.
func benchCert(e *benchEnv) (tlsFiles, error) {
	dir := filepath.Join(e.work, "tls")
	f := tlsFiles{filepath.Join(dir, "imapd.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	if fileExists(f.combined) && fileExists(f.cert) && fileExists(f.key) {
		return f, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return f, fmt.Errorf("RSA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"gocourier bench"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return f, fmt.Errorf("certificate: %w", err)
	}
	kp := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cp := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for _, w := range []struct {
		path string
		data []byte
	}{{f.key, kp}, {f.cert, cp}, {f.combined, append(append([]byte{}, kp...), cp...)}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}

// needsTLS names the workloads that need the implicit-TLS port.
var needsTLS = map[string]bool{"tls": true}

// clientTLS has no ClientSessionCache: every handshake is a full one.
var clientTLS = &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}

// dialIMAPS connects to an implicit-TLS IMAP port and reads the greeting.
func dialIMAPS(addr string, timeout time.Duration, size int) (*imapConn, error) {
	d := &net.Dialer{Timeout: timeout}
	c, err := tls.DialWithDialer(d, "tcp", addr, clientTLS)
	if err != nil {
		return nil, fmt.Errorf("TLS dial %s: %w", addr, err)
	}
	if c.ConnectionState().DidResume {
		c.Close()
		return nil, errors.New("TLS session resumed, want a full handshake")
	}
	return greet(c, timeout, size)
}

func (w *wctx) loginTLS() (*imapConn, error) { return w.loginTLSSize(bulkBuf) }

// loginTLSSize logs in over implicit TLS with a read buffer of size bytes.
func (w *wctx) loginTLSSize(size int) (*imapConn, error) {
	if w.r.imaps == "" {
		return nil, errors.New("no implicit-TLS port")
	}
	c, err := dialIMAPS(w.r.imaps, ioTimeout, size)
	if err != nil {
		return nil, err
	}
	if err := c.login(w.e.user, w.e.pass); err != nil {
		c.Close()
		return nil, fmt.Errorf("LOGIN: %w", err)
	}
	return c, nil
}

// fetchPassLimit bounds the bulk FETCH measurement: passes over the
// mailbox repeat until this much time has passed (at most fetchPasses).
const (
	fetchPassLimit = 3 * time.Second
	fetchPasses    = 10
)

func runTLS(w *wctx) (map[string]float64, error) {
	out := map[string]float64{}
	if err := loginRates(w, out, "tlslogin", func() (*imapConn, error) { return w.loginTLSSize(loginBuf) }); err != nil {
		return out, err
	}
	c, err := w.loginTLS()
	if err != nil {
		return out, err
	}
	defer c.Close()
	if _, err := c.cmd("EXAMINE INBOX"); err != nil {
		return out, fmt.Errorf("EXAMINE: %w", err)
	}
	var total int64
	start := time.Now()
	for pass := 0; pass < fetchPasses && (pass == 0 || time.Since(start) < fetchPassLimit); pass++ {
		if _, err := c.cmd("FETCH 1:* BODY.PEEK[]"); err != nil {
			return out, fmt.Errorf("FETCH 1:* BODY.PEEK[]: %w", err)
		}
		if c.untagged < w.p.tlsMsgs {
			return out, fmt.Errorf("FETCH 1:* BODY.PEEK[] returned %d messages, want %d", c.untagged, w.p.tlsMsgs)
		}
		total += c.bytesIn
	}
	out["tlsfetch"] = float64(total) / 1e6 / time.Since(start).Seconds()
	_ = c.logout()
	return out, nil
}

// dovecotTLSConf turns the private Dovecot config into one with an
// implicit-TLS listener on 127.0.0.1:port using the shared certificate.
func dovecotTLSConf(conf string, port int, f tlsFiles) error {
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	s := string(b)
	old := "  inet_listener imaps {\n    port = 0\n  }"
	if !strings.Contains(s, old) || !strings.Contains(s, "\nssl = no\n") {
		return errors.New("dovecot.conf: imaps listener or ssl = no not found")
	}
	s = strings.Replace(s, old, fmt.Sprintf("  inet_listener imaps {\n    address = 127.0.0.1\n    port = %d\n    ssl = yes\n  }", port), 1)
	s = strings.Replace(s, "\nssl = no\n", fmt.Sprintf("\nssl = required\nssl_cert = <%s\nssl_key = <%s\n", f.cert, f.key), 1)
	return os.WriteFile(conf, []byte(s), 0o644)
}
