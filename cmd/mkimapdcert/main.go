// Command mkimapdcert (installed as share/mkimapdcert and
// share/mkpop3dcert) creates the self-signed key and certificate that
// couriertls serves until the administrator installs a real one
// (reference §12.1 "Certificates").
//
//	mkimapdcert [-ecdsa] [-days=365] [-cn=localhost] [path]
//
// The file is path, else $TLS_CERTFILE, else etc/imapd.pem (etc/pop3d.pem
// when the program is called as mkpop3dcert or with -pop3).
//
// Invariants:
//   - An existing file is never overwritten ("<path> already exists.",
//     exit 1, as Courier's script does): the administrator's real
//     certificate must survive a package upgrade that reruns this.
//   - The file is created with O_EXCL and mode 600 before any key byte is
//     written, and fsynced with its directory; a failure removes it, so a
//     half-written key never serves.
//   - Key: RSA 3072 by default, the strength of Courier's GnuTLS build
//     ("certtool --sec-param=high") and accepted by every IMAP/POP3 client,
//     including old ones without ECDSA; -ecdsa gives P-256.
//   - Layout: private key PEM, then certificate PEM, in one file — the
//     TLS_CERTFILE format internal/tlsconf reads.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gocourier/internal/paths"
)

func main() {
	os.Exit(run(os.Args, os.Getenv, os.Stdout, os.Stderr))
}

type params struct {
	path  string
	cn    string
	days  int
	ecdsa bool
}

func run(argv []string, getenv func(string) string, stdout, stderr io.Writer) int {
	name := filepath.Base(argv[0])
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var p params
	pop3 := fs.Bool("pop3", strings.Contains(name, "pop3"), "make the POP3 certificate (default when called as mkpop3dcert)")
	fs.BoolVar(&p.ecdsa, "ecdsa", false, "ECDSA P-256 key instead of RSA 3072")
	fs.IntVar(&p.days, "days", 365, "validity in days")
	fs.StringVar(&p.cn, "cn", "localhost", "certificate common name")
	if err := fs.Parse(argv[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 1 || p.days <= 0 {
		fs.Usage()
		return 2
	}
	p.path = fs.Arg(0)
	if p.path == "" {
		p.path = defaultPath(*pop3, getenv)
	}
	if _, err := os.Lstat(p.path); err == nil {
		fmt.Fprintf(stderr, "%s already exists.\n", p.path)
		return 1
	}
	if err := create(p, *pop3); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: created %s\n", name, p.path)
	return 0
}

func defaultPath(pop3 bool, getenv func(string) string) string {
	if v := getenv("TLS_CERTFILE"); v != "" {
		return v
	}
	if pop3 {
		return filepath.Join(paths.Sysconfdir, "pop3d.pem")
	}
	return filepath.Join(paths.Sysconfdir, "imapd.pem")
}

func create(p params, pop3 bool) error {
	var key crypto.Signer
	var err error
	usage := x509.KeyUsageDigitalSignature
	if p.ecdsa {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 3072)
		usage |= x509.KeyUsageKeyEncipherment // TLS 1.2 RSA key exchange
	}
	if err != nil {
		return fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	ou := "Automatically-generated IMAP SSL key"
	if pop3 {
		ou = "Automatically-generated POP3 SSL key"
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: p.cn, Organization: []string{"Courier Mail Server"}, OrganizationalUnit: []string{ou}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(time.Duration(p.days) * 24 * time.Hour),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	// Current clients match the name in subjectAltName only.
	if ip := net.ParseIP(p.cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{p.cn}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("signing certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	return writeNew(p.path, data)
}

// writeNew creates path (never replacing anything) with mode 600 and
// makes it durable.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists", path)
		}
		return err
	}
	// O_CREATE applies the umask; 600 must hold whatever it is.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(filepath.Dir(path)); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
