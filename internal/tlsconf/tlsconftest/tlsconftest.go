// Package tlsconftest makes throw-away certificates for tests of the TLS
// programs: a CA, server and client certificates in Courier's one-file
// PEM layout (key first, then certificate). Test-only; never used by a
// program.
package tlsconftest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"
)

// EmailOID is the PKCS#9 emailAddress subject attribute.
var EmailOID = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// Cert makes a P-256 certificate for subj, signed by ca (nil: self-signed),
// writes key+certificate to path when path is not empty, and returns it.
func Cert(t testing.TB, path string, subj pkix.Name, isCA bool, ca *tls.Certificate) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, path, subj, isCA, ca, key)
}

// RSACert is Cert with an RSA key of the given size (mkimapdcert's default
// is 3072 bits), self-signed.
func RSACert(t testing.TB, path string, subj pkix.Name, bits int) *tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, path, subj, false, nil, key)
}

func sign(t testing.TB, path string, subj pkix.Name, isCA bool, ca *tls.Certificate, key crypto.Signer) *tls.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               subj,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		DNSNames:              []string{"localhost"},
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.Leaf, ca.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if path != "" {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	crt, err := tls.X509KeyPair(data, data)
	if err != nil {
		t.Fatal(err)
	}
	return &crt
}
