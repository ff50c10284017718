package tlsconf

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gocourier/internal/tlsconf/tlsconftest"
)

func makeCert(t *testing.T, path string, subj pkix.Name, isCA bool, ca *tls.Certificate) *tls.Certificate {
	return tlsconftest.Cert(t, path, subj, isCA, ca)
}

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestParseProtocol(t *testing.T) {
	tests := []struct {
		in       string
		min, max uint16
		warn     bool
		err      bool
	}{
		{"", 0, 0, false, false},
		// Courier: a bare version is a lower bound too (libcouriertls op_list).
		{"TLSv1.2", tls.VersionTLS12, 0, false, false},
		{"TLSv1.2+", tls.VersionTLS12, 0, false, false},
		{"TLSv1.2++", tls.VersionTLS12, 0, false, false},
		{"\"TLS1_2+\"", tls.VersionTLS12, 0, false, false},
		{"tlsv1.3", tls.VersionTLS13, 0, false, false},
		{"TLSv1", tls.VersionTLS10, 0, false, false},
		{"TLS1", tls.VersionTLS10, 0, false, false},
		{"TLSv1.1", tls.VersionTLS11, 0, false, false},
		{"TLSv1.2:TLSv1.1", tls.VersionTLS11, 0, false, false},
		{"SSL3+", tls.VersionTLS10, 0, true, false},
		{"SSLv23", 0, 0, false, false},
		{"TLSv9", 0, 0, false, true},
		{"+", 0, 0, false, true},
		{"NORMAL:-VERS-TLS1.0", 0, 0, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			min, max, w, err := ParseProtocol(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err=%v want err %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if min != tc.min || max != tc.max || (len(w) > 0) != tc.warn {
				t.Fatalf("got %x-%x warns %q; want %x-%x warn %v", min, max, w, tc.min, tc.max, tc.warn)
			}
		})
	}
}

func TestParseCipherList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []uint16
		unknown int
	}{
		{"openssl names", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
			[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, 0},
		{"keywords only", "HIGH:!LOW:!MEDIUM:!EXP:!NULL:!aNULL@STRENGTH", nil, 6},
		{"mixed and duplicate", "ECDHE-ECDSA-AES128-GCM-SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 !MD5",
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, 1},
		{"tls13 suite ignored", "TLS_AES_128_GCM_SHA256", nil, 1},
		{"unknown name", "CAMELLIA256-SHA", nil, 1},
		{"empty", "", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, unk := ParseCipherList(tc.in)
			if !reflect.DeepEqual(got, tc.want) || len(unk) != tc.unknown {
				t.Fatalf("got %v unknown %q; want %v and %d unknown", got, unk, tc.want, tc.unknown)
			}
		})
	}
}

func TestParseField(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"CN", "2.5.4.3", false},
		{"emailaddress", "1.2.840.113549.1.9.1", false},
		{"1.2.3.4", "1.2.3.4", false},
		{"1", "", true},
		{"1..2", "", true},
		{"bogus", "", true},
	} {
		o, err := ParseField(tc.in)
		if (err != nil) != tc.err || (err == nil && o.String() != tc.want) {
			t.Errorf("ParseField(%q) = %v, %v; want %s err %v", tc.in, o, err, tc.want, tc.err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "imapd.pem")
	makeCert(t, cert, pkix.Name{CommonName: "localhost"}, false, nil)
	ca := makeCert(t, filepath.Join(dir, "ca.pem"), pkix.Name{CommonName: "Test CA"}, true, nil)
	_ = ca
	// SNI variant.
	makeCert(t, cert+".mail.example.com", pkix.Name{CommonName: "mail.example.com"}, false, nil)

	t.Run("defaults", func(t *testing.T) {
		c, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_DHPARAMS": "/nonexistent"}), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.TLS.ClientAuth != tls.NoClientCert || c.TLS.MinVersion != 0 || len(c.Warnings) != 0 {
			t.Fatalf("unexpected %+v %q", c.TLS.ClientAuth, c.Warnings)
		}
		got, _ := c.TLS.GetCertificate(&tls.ClientHelloInfo{ServerName: "mail.example.com"})
		if got.Leaf.Subject.CommonName != "mail.example.com" {
			t.Fatalf("SNI picked %s", got.Leaf.Subject.CommonName)
		}
		got, _ = c.TLS.GetCertificate(&tls.ClientHelloInfo{ServerName: "other"})
		if got.Leaf.Subject.CommonName != "localhost" {
			t.Fatalf("default picked %s", got.Leaf.Subject.CommonName)
		}
	})
	t.Run("missing certfile", func(t *testing.T) {
		if _, err := Load(env(map[string]string{"TLS_CERTFILE": filepath.Join(dir, "nope")}), Options{}); err == nil {
			t.Fatal("no error")
		}
		if _, err := Load(env(nil), Options{}); err == nil {
			t.Fatal("no error for unset TLS_CERTFILE")
		}
	})
	t.Run("cert without key", func(t *testing.T) {
		data, _ := os.ReadFile(cert)
		i := strings.Index(string(data), "-----BEGIN CERTIFICATE")
		only := filepath.Join(dir, "only-cert.pem")
		os.WriteFile(only, data[i:], 0o600)
		if _, err := Load(env(map[string]string{"TLS_CERTFILE": only}), Options{}); err == nil {
			t.Fatal("no error")
		}
		// ... but with TLS_PRIVATE_KEYFILE it works.
		keyf := filepath.Join(dir, "only-key.pem")
		os.WriteFile(keyf, data[:i], 0o600)
		if _, err := Load(env(map[string]string{"TLS_CERTFILE": only, "TLS_PRIVATE_KEYFILE": keyf}), Options{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("verifypeer", func(t *testing.T) {
		for v, want := range map[string]tls.ClientAuthType{
			"NONE": tls.NoClientCert, "PEER": tls.VerifyClientCertIfGiven, "requirepeer": tls.RequireAndVerifyClientCert,
		} {
			c, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_VERIFYPEER": v, "TLS_TRUSTCERTS": dir}), Options{})
			if err != nil {
				t.Fatal(v, err)
			}
			if c.TLS.ClientAuth != want {
				t.Errorf("%s: got %v", v, c.TLS.ClientAuth)
			}
			if want != tls.NoClientCert && c.TLS.ClientCAs == nil {
				t.Errorf("%s: no CA pool", v)
			}
		}
		if _, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_VERIFYPEER": "MAYBE"}), Options{}); err == nil {
			t.Error("bad TLS_VERIFYPEER accepted")
		}
		if _, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_VERIFYPEER": "PEER"}), Options{}); err == nil {
			t.Error("PEER without TLS_TRUSTCERTS accepted")
		}
		empty := t.TempDir()
		if _, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_VERIFYPEER": "PEER", "TLS_TRUSTCERTS": empty}), Options{}); err == nil {
			t.Error("empty trust dir accepted")
		}
	})
	t.Run("protocol and ciphers", func(t *testing.T) {
		c, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_PROTOCOL": "TLSv1.1", "TLS_STARTTLS_PROTOCOL": "TLSv1.3++",
			"TLS_CIPHER_LIST": "ECDHE-ECDSA-AES256-GCM-SHA384:!aNULL"}), Options{STARTTLS: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.TLS.MinVersion != tls.VersionTLS13 {
			t.Errorf("STARTTLS protocol not used: %x", c.TLS.MinVersion)
		}
		if !reflect.DeepEqual(c.TLS.CipherSuites, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}) || len(c.Warnings) != 1 {
			t.Errorf("ciphers %v warnings %q", c.TLS.CipherSuites, c.Warnings)
		}
		c, _ = Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_PROTOCOL": "bogus"}), Options{})
		if c == nil || len(c.Warnings) != 1 || c.TLS.MinVersion != 0 {
			t.Errorf("bogus protocol: %+v", c)
		}
	})
	t.Run("ticket keys", func(t *testing.T) {
		cache := filepath.Join(t.TempDir(), "cache")
		day := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
		k1, err := ticketKeys(cache+".ticketkey", day)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(cache + ".ticketkey")
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("secret file: %v %v", st, err)
		}
		k2, _ := ticketKeys(cache+".ticketkey", day.Add(24*time.Hour))
		if k1[0] != k2[1] || k1[0] == k2[0] {
			t.Fatal("keys do not rotate daily with one day overlap")
		}
		c, err := Load(env(map[string]string{"TLS_CERTFILE": cert, "TLS_CACHEFILE": cache}), Options{})
		if err != nil || len(c.Warnings) != 0 {
			t.Fatal(err, c.Warnings)
		}
	})
}

func TestLoadTrustSkipsGarbage(t *testing.T) {
	dir := t.TempDir()
	makeCert(t, filepath.Join(dir, "ca.pem"), pkix.Name{CommonName: "CA"}, true, nil)
	os.WriteFile(filepath.Join(dir, "junk"), []byte("not pem"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if _, err := LoadTrust(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrust(filepath.Join(dir, "junk")); err == nil {
		t.Fatal("junk accepted as CA file")
	}
}

// TestExternalID runs real handshakes: only a verified chain yields an id.
func TestExternalID(t *testing.T) {
	dir := t.TempDir()
	srv := makeCert(t, "", pkix.Name{CommonName: "localhost"}, false, nil)
	ca := makeCert(t, filepath.Join(dir, "ca.pem"), pkix.Name{CommonName: "Test CA"}, true, nil)
	email := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	client := makeCert(t, "", pkix.Name{CommonName: "Alice", ExtraNames: []pkix.AttributeTypeAndValue{{Type: email, Value: "alice@example.com"}}}, false, ca)
	pool, err := LoadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	handshake := func(auth tls.ClientAuthType, cc *tls.Certificate) (*tls.ConnectionState, error) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		sc := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{*srv}, ClientAuth: auth, ClientCAs: pool})
		ccfg := &tls.Config{InsecureSkipVerify: true}
		if cc != nil {
			// Always send it, even when the server's CA list does not match.
			ccfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cc, nil }
		}
		a.SetDeadline(time.Now().Add(10 * time.Second))
		b.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			// Keep reading: with TLS 1.3 the client finishes first and the
			// server's alert must still find a reader on the synchronous pipe.
			c := tls.Client(b, ccfg)
			if c.Handshake() == nil {
				io.Copy(io.Discard, c)
			}
		}()
		if err := sc.Handshake(); err != nil {
			return nil, err
		}
		cs := sc.ConnectionState()
		return &cs, nil
	}
	cs, err := handshake(tls.VerifyClientCertIfGiven, client)
	if err != nil {
		t.Fatal(err)
	}
	if got := ExternalID(cs, "emailaddress"); got != "alice@example.com" {
		t.Errorf("emailaddress: %q", got)
	}
	if got := ExternalID(cs, "CN"); got != "Alice" {
		t.Errorf("CN: %q", got)
	}
	if got := ExternalID(cs, "OU"); got != "" {
		t.Errorf("absent field: %q", got)
	}
	// Unverified (RequestClientCert does not verify): no identity.
	self := makeCert(t, "", pkix.Name{CommonName: "Mallory"}, false, nil)
	cs, err = handshake(tls.RequestClientCert, self)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.PeerCertificates) == 0 || ExternalID(cs, "CN") != "" {
		t.Errorf("unverified certificate gave identity %q", ExternalID(cs, "CN"))
	}
	if _, err := handshake(tls.RequireAndVerifyClientCert, nil); err == nil {
		t.Error("REQUIREPEER accepted a client without certificate")
	}
	if _, err := handshake(tls.RequireAndVerifyClientCert, self); err == nil {
		t.Error("REQUIREPEER accepted an untrusted certificate")
	}
}

func FuzzParseProtocol(f *testing.F) {
	for _, s := range []string{"TLSv1.2+", "SSL3", "TLS1_1:TLSv1.3", "++", "\"", "tlsv1.0,tls1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		min, max, _, err := ParseProtocol(s)
		if err == nil && max != 0 && min > max {
			t.Fatalf("min %x > max %x", min, max)
		}
	})
}

func FuzzParseCipherList(f *testing.F) {
	for _, s := range []string{"HIGH:!aNULL", "ECDHE-RSA-AES128-GCM-SHA256", "a@b@c", "TLS_RSA_WITH_AES_128_CBC_SHA,,:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		suites, _ := ParseCipherList(s)
		seen := map[uint16]bool{}
		for _, id := range suites {
			if seen[id] || tls13Suite(id) {
				t.Fatalf("bad suite list %v", suites)
			}
			seen[id] = true
		}
	})
}

func FuzzParseField(f *testing.F) {
	for _, s := range []string{"CN", "1.2.3", "9999999999.1", "emailAddress"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if o, err := ParseField(s); err == nil && len(o) == 0 {
			t.Fatal("empty OID accepted")
		}
	})
}

func TestSubjectAndProtocolDesc(t *testing.T) {
	dir := t.TempDir()
	srv := makeCert(t, "", pkix.Name{CommonName: "localhost"}, false, nil)
	ca := makeCert(t, filepath.Join(dir, "ca.pem"), pkix.Name{CommonName: "Test CA"}, true, nil)
	email := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	client := makeCert(t, "", pkix.Name{CommonName: "Alice", Organization: []string{"Ex"},
		OrganizationalUnit: []string{"first", "second"},
		ExtraNames:         []pkix.AttributeTypeAndValue{{Type: email, Value: "alice@example.com"}, {Type: asn1.ObjectIdentifier{1, 2, 3}, Value: "odd"}}}, false, ca)
	pool, _ := LoadTrust(dir)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		a, b := net.Pipe()
		a.SetDeadline(time.Now().Add(10 * time.Second))
		b.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			c := tls.Client(b, &tls.Config{InsecureSkipVerify: true, MaxVersion: v, Certificates: []tls.Certificate{*client},
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
			if c.Handshake() == nil {
				io.Copy(io.Discard, c)
			}
		}()
		sc := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{*srv}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
		if err := sc.Handshake(); err != nil {
			t.Fatal(err)
		}
		cs := sc.ConnectionState()
		got := strings.Join(Subject(&cs), "|")
		if got != "CN=Alice|O=Ex|OU=second|EMAILADDRESS=alice@example.com" && got != "O=Ex|OU=second|CN=Alice|EMAILADDRESS=alice@example.com" {
			t.Errorf("subject %q", got)
		}
		want := map[uint16]string{tls.VersionTLS12: "TLSv1.2,128bits,ECDHE-ECDSA-AES128-GCM-SHA256", tls.VersionTLS13: "TLSv1.3,"}[v]
		if d := ProtocolDesc(&cs); !strings.HasPrefix(d, want) || strings.Contains(d, ",0bits,") {
			t.Errorf("desc %q, want prefix %q", d, want)
		}
		a.Close()
		b.Close()
	}
	if Subject(&tls.ConnectionState{}) != nil {
		t.Error("subject without verified chain")
	}
}
