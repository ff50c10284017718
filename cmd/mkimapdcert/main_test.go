package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noenv(string) string { return "" }

func load(t *testing.T, path string) *tls.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key is not first in the file")
	}
	crt, err := tls.X509KeyPair(data, data)
	if err != nil {
		t.Fatal(err)
	}
	return &crt
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		argv   []string
		env    map[string]string
		path   string
		ou     string
		ecdsa  bool
		maxAge time.Duration
	}{
		{"imap ecdsa by argument", []string{"/x/share/mkimapdcert", "-ecdsa", filepath.Join(dir, "a.pem")}, nil,
			filepath.Join(dir, "a.pem"), "Automatically-generated IMAP SSL key", true, 366 * 24 * time.Hour},
		{"pop3 by argv0 and TLS_CERTFILE", []string{"mkpop3dcert", "-ecdsa", "-days=10"}, map[string]string{"TLS_CERTFILE": filepath.Join(dir, "p.pem")},
			filepath.Join(dir, "p.pem"), "Automatically-generated POP3 SSL key", true, 11 * 24 * time.Hour},
		{"rsa default", []string{"mkimapdcert", filepath.Join(dir, "r.pem")}, nil,
			filepath.Join(dir, "r.pem"), "Automatically-generated IMAP SSL key", false, 366 * 24 * time.Hour},
	}
	old := syscallUmask(0o022)
	defer syscallUmask(old)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.argv, func(k string) string { return tc.env[k] }, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			st, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", st.Mode().Perm())
			}
			crt := load(t, tc.path)
			leaf := crt.Leaf
			if leaf.Subject.CommonName != "localhost" || len(leaf.Subject.Organization) != 1 ||
				leaf.Subject.Organization[0] != "Courier Mail Server" || leaf.Subject.OrganizationalUnit[0] != tc.ou {
				t.Errorf("subject %v", leaf.Subject)
			}
			if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "localhost" {
				t.Errorf("SAN %v", leaf.DNSNames)
			}
			if life := time.Until(leaf.NotAfter); life <= 0 || life > tc.maxAge {
				t.Errorf("validity %v", life)
			}
			if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			switch k := crt.PrivateKey.(type) {
			case *ecdsa.PrivateKey:
				if !tc.ecdsa || k.Curve.Params().BitSize != 256 {
					t.Errorf("unexpected ECDSA key")
				}
			case *rsa.PrivateKey:
				if tc.ecdsa || k.N.BitLen() != 3072 {
					t.Errorf("unexpected RSA key of %d bits", k.N.BitLen())
				}
			}
		})
	}
}

func TestNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imapd.pem")
	os.WriteFile(path, []byte("admin's real certificate"), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"mkimapdcert", "-ecdsa", path}, noenv, &out, &errb); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if errb.String() != path+" already exists.\n" {
		t.Errorf("message %q", errb.String())
	}
	if data, _ := os.ReadFile(path); string(data) != "admin's real certificate" {
		t.Fatal("file changed")
	}
	// A dangling symlink counts as existing too (O_EXCL would not follow it).
	link := filepath.Join(t.TempDir(), "link.pem")
	os.Symlink("/nonexistent/target", link)
	if code := run([]string{"mkimapdcert", "-ecdsa", link}, noenv, &out, &errb); code != 1 {
		t.Fatalf("symlink: exit %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	for _, argv := range [][]string{
		{"mkimapdcert", "a", "b"},
		{"mkimapdcert", "-days=0", "a"},
		{"mkimapdcert", "-bogus"},
	} {
		if code := run(argv, noenv, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d", argv, code)
		}
	}
	if code := run([]string{"mkimapdcert", "-ecdsa", "/nonexistent-dir/x.pem"}, noenv, &out, &errb); code != 1 {
		t.Errorf("unwritable dir: exit %d", code)
	}
}

func TestDefaultPath(t *testing.T) {
	if p := defaultPath(false, noenv); filepath.Base(p) != "imapd.pem" {
		t.Errorf("imap %s", p)
	}
	if p := defaultPath(true, noenv); filepath.Base(p) != "pop3d.pem" {
		t.Errorf("pop3 %s", p)
	}
}
