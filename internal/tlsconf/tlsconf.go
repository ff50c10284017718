// Package tlsconf turns Courier's TLS_* environment variables (reference
// §2 "couriertls", §12.1 imapd-ssl) into a server-side *tls.Config.
//
// Invariants:
//   - Every file (TLS_CERTFILE, TLS_PRIVATE_KEYFILE, TLS_TRUSTCERTS, the SNI
//     variants $TLS_CERTFILE.<name>, the ticket key) is read inside Load, and
//     nothing is read later: couriertls calls Load while still root and then
//     drops privileges, so the returned Config must never need the
//     filesystem again (GetCertificate only looks in a map built here).
//   - Settings that Go cannot honour (SSLv3, DH parameters, OpenSSL cipher
//     keywords, GnuTLS priority strings) are accepted and reported through
//     Config.Warnings, never fatal: an administrator's existing imapd-ssl
//     must keep working after the switch from Courier.
//   - Missing or unreadable key material is fatal: a TLS port without a
//     certificate cannot serve anyone.
package tlsconf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the result of Load.
type Config struct {
	TLS *tls.Config
	// External is TLS_EXTERNAL: the subject field of a verified client
	// certificate that names the account for AUTHENTICATE EXTERNAL
	// (e.g. "emailaddress" or "CN"). Empty disables EXTERNAL.
	External string
	// Warnings are settings that were accepted but not (fully) honoured;
	// the caller logs them.
	Warnings []string
}

// Getenv is the signature of os.Getenv; tests pass a map lookup.
type Getenv func(string) string

// Options changes how Load reads the environment.
type Options struct {
	// STARTTLS selects TLS_STARTTLS_PROTOCOL over TLS_PROTOCOL when it is
	// set (imapd-ssl: "Protocol setting used for STARTTLS").
	STARTTLS bool
	// LocalIP is the server address the client connected to (TCPLOCALIP);
	// $TLS_CERTFILE.<ip> is preferred for it when the client sends no SNI.
	LocalIP string
	// Now is the clock for session ticket key rotation (tests); nil means time.Now.
	Now func() time.Time
}

// Load builds the server configuration from the environment.
func Load(getenv Getenv, opt Options) (*Config, error) {
	c := &Config{External: strings.TrimSpace(getenv("TLS_EXTERNAL"))}
	tc := &tls.Config{}
	c.TLS = tc

	// Protocol versions.
	proto := getenv("TLS_PROTOCOL")
	if opt.STARTTLS && getenv("TLS_STARTTLS_PROTOCOL") != "" {
		proto = getenv("TLS_STARTTLS_PROTOCOL")
	}
	min, max, warns, err := ParseProtocol(proto)
	if err != nil {
		c.Warnings = append(c.Warnings, fmt.Sprintf("TLS_PROTOCOL=%q ignored: %v", proto, err))
	} else {
		tc.MinVersion, tc.MaxVersion = min, max
	}
	c.Warnings = append(c.Warnings, warns...)

	if cl := getenv("TLS_CIPHER_LIST"); strings.TrimSpace(cl) != "" {
		suites, unknown := ParseCipherList(cl)
		if len(unknown) > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("TLS_CIPHER_LIST: ignored %s", strings.Join(unknown, ",")))
		}
		if len(suites) > 0 {
			tc.CipherSuites = suites
		} else {
			c.Warnings = append(c.Warnings, "TLS_CIPHER_LIST names no cipher suite Go implements; using Go's defaults (TLS 1.3 suites are never configurable)")
		}
	}
	if p := getenv("TLS_PRIORITY"); strings.TrimSpace(p) != "" {
		c.Warnings = append(c.Warnings, "TLS_PRIORITY (GnuTLS priority string) is ignored; use TLS_PROTOCOL and TLS_CIPHER_LIST")
	}
	// TLS_DHPARAMS, TLS_MIN_DH_BITS: Go offers only ECDHE key exchange, so
	// DH parameters have no use. They are accepted silently: Debian sets
	// TLS_DHPARAMS by default and a warning on every connection would be noise.

	// Certificates: TLS_CERTFILE plus optional SNI/per-address variants.
	certFile := getenv("TLS_CERTFILE")
	if certFile == "" {
		return nil, errors.New("tlsconf: TLS_CERTFILE is not set")
	}
	keyFile := getenv("TLS_PRIVATE_KEYFILE")
	def, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	byName, warns := loadVariants(certFile, keyFile)
	c.Warnings = append(c.Warnings, warns...)
	if ip := normalizeIP(opt.LocalIP); ip != "" {
		if crt, ok := byName[ip]; ok {
			def = crt
		}
	}
	if len(byName) == 0 {
		tc.Certificates = []tls.Certificate{*def}
	} else {
		tc.GetCertificate = func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if crt, ok := byName[strings.ToLower(strings.TrimSuffix(hi.ServerName, "."))]; ok {
				return crt, nil
			}
			return def, nil
		}
	}

	// Client certificates.
	verify := strings.ToUpper(strings.TrimSpace(getenv("TLS_VERIFYPEER")))
	switch verify {
	case "", "NONE":
		tc.ClientAuth = tls.NoClientCert
	case "PEER":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "REQUIREPEER":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("tlsconf: TLS_VERIFYPEER=%q: want NONE, PEER or REQUIREPEER", verify)
	}
	if tc.ClientAuth != tls.NoClientCert {
		trust := getenv("TLS_TRUSTCERTS")
		if trust == "" {
			return nil, fmt.Errorf("tlsconf: TLS_VERIFYPEER=%s needs TLS_TRUSTCERTS", verify)
		}
		pool, err := LoadTrust(trust)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
	}

	// Session resumption. Every connection is served by a new couriertls
	// process, so Go's per-process random ticket key would make every
	// ticket useless. With TLS_CACHEFILE set, a secret kept beside it
	// ("<TLS_CACHEFILE>.ticketkey", mode 600, made on first use) derives a
	// key per day; today's and yesterday's are accepted, so a stolen
	// ticket key unlocks at most two days of TLS 1.2 sessions.
	// TLS_CACHESIZE has no meaning for tickets and is ignored.
	if cf := getenv("TLS_CACHEFILE"); cf != "" {
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		keys, err := ticketKeys(cf+".ticketkey", now())
		if err != nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("session tickets only within one connection: %v", err))
		} else {
			tc.SetSessionTicketKeys(keys)
		}
	}
	return c, nil
}

// loadPair reads a key and certificate chain. Courier keeps both in one
// PEM file (the key block first, as mkimapdcert writes it); the file may
// also carry DH PARAMETERS, which X509KeyPair skips.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: TLS_CERTFILE: %w", err)
	}
	keyPEM := certPEM
	if keyFile != "" {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return nil, fmt.Errorf("tlsconf: TLS_PRIVATE_KEYFILE: %w", err)
		}
	}
	crt, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %s: %w", certFile, err)
	}
	return &crt, nil
}

// loadVariants loads $TLS_CERTFILE.<name> files (SNI host names and local
// IP addresses, imapd-ssl TLS_CERTFILE comment). Bad variants are
// skipped with a warning so that one broken file does not close the port.
func loadVariants(certFile, keyFile string) (map[string]*tls.Certificate, []string) {
	matches, _ := filepath.Glob(escapeGlob(certFile) + ".*")
	var warns []string
	m := map[string]*tls.Certificate{}
	for _, f := range matches {
		name := strings.ToLower(strings.TrimPrefix(f, certFile+"."))
		if name == "" || strings.ContainsAny(name, "/~") || strings.HasSuffix(name, ".dist") ||
			strings.HasSuffix(name, ".bak") || strings.HasSuffix(name, ".tmp") {
			continue
		}
		kf := ""
		if keyFile != "" {
			kf = keyFile + "." + name
			if _, err := os.Stat(kf); err != nil {
				kf = ""
			}
		}
		crt, err := loadPair(f, kf)
		if err != nil {
			warns = append(warns, fmt.Sprintf("skipping %s: %v", f, err))
			continue
		}
		m[normalizeIP(name)] = crt
	}
	return m, warns
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// normalizeIP strips couriertcpd's IPv4-mapped prefix (reference §1.2) so
// that $TLS_CERTFILE.192.0.2.1 matches TCPLOCALIP=::ffff:192.0.2.1.
func normalizeIP(s string) string {
	if ip := net.ParseIP(s); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			return v4.String()
		}
		return ip.String()
	}
	return s
}

// LoadTrust reads CA certificates from a PEM file, or from every regular
// file in a directory (OpenSSL's hashed directories hold symlinks to PEM
// files, which read the same way).
func LoadTrust(path string) (*x509.CertPool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: TLS_TRUSTCERTS: %w", err)
	}
	pool := x509.NewCertPool()
	files := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: TLS_TRUSTCERTS: %w", err)
		}
		files = files[:0]
		for _, e := range ents {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	n := 0
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for len(data) > 0 {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			crt, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				continue
			}
			pool.AddCert(crt)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("tlsconf: TLS_TRUSTCERTS %s: no CA certificate found", path)
	}
	return pool, nil
}

// ticketKeys returns today's and yesterday's session ticket keys derived
// from the secret in path, creating the secret (32 random bytes, mode
// 600, O_EXCL so two first connections cannot both write) if missing.
func ticketKeys(path string, now time.Time) ([][32]byte, error) {
	secret, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, secret); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			// Lost a race: read the winner's secret.
			if secret, err = os.ReadFile(path); err != nil {
				return nil, err
			}
		} else {
			_, werr := f.Write(secret)
			serr := f.Sync()
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr == nil {
				werr = serr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("writing %s: %w", path, werr)
			}
		}
	} else if err != nil {
		return nil, err
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("%s: secret shorter than 32 bytes", path)
	}
	day := now.Unix() / 86400
	var keys [][32]byte
	for _, d := range []int64{day, day - 1} {
		mac := hmac.New(sha256.New, secret)
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(d))
		mac.Write(b[:])
		var k [32]byte
		copy(k[:], mac.Sum(nil))
		keys = append(keys, k)
	}
	return keys, nil
}
