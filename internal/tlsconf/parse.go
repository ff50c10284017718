package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
)

// maxSetting bounds the length of the values parsed here; the
// environment is trusted, but the parsers are fuzzed and must stay cheap.
const maxSetting = 4096

// ParseProtocol maps Courier's TLS_PROTOCOL values to Go version bounds.
//
// Courier's OpenSSL build (libcouriertls) treats every value as a lower
// bound: "TLSv1.2", "TLSv1.2+" and "TLSv1.2++" all mean TLS 1.2 or newer
// ("++" also turns off renegotiation, which a Go server never does), and
// "TLSv1"/"TLS1" mean TLS 1.0 or newer. The same is done here; max is
// always 0 (no upper bound). Accepted spellings (case-insensitive,
// optional quotes): TLS1, TLSv1, TLSv1.0, TLS1_0, TLSv1.1, TLS1_1,
// TLSv1.2, TLS1_2, TLSv1.3, each with optional "+"/"++". "SSLv23" (any)
// and "" mean Go's defaults (TLS 1.2+, which is also what Debian's OpenSSL
// policy enforces for Courier). Several alternatives separated by ':' or
// ',' give the lowest. SSLv2/SSLv3 do not exist in Go: they become TLS 1.0
// with a warning. Anything else is an error (the caller then keeps the
// defaults and logs it).
func ParseProtocol(s string) (min, max uint16, warns []string, err error) {
	s = strings.Trim(strings.TrimSpace(s), `"'`)
	if s == "" {
		return 0, 0, nil, nil
	}
	if len(s) > maxSetting {
		return 0, 0, nil, fmt.Errorf("value too long")
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	for _, p := range parts {
		p = strings.TrimRight(p, "+")
		v, w, ok := protoVersion(p)
		if !ok {
			return 0, 0, nil, fmt.Errorf("unknown protocol %q", p)
		}
		if w != "" {
			warns = append(warns, w)
		}
		if v == 0 { // SSLv23: anything
			return 0, 0, warns, nil
		}
		if min == 0 || v < min {
			min = v
		}
	}
	return min, 0, warns, nil
}

func protoVersion(p string) (uint16, string, bool) {
	n := strings.ToUpper(p)
	n = strings.TrimPrefix(n, "TLSV")
	n = strings.TrimPrefix(n, "TLS")
	n = strings.ReplaceAll(n, "_", ".")
	switch n {
	case "1", "1.0":
		return tls.VersionTLS10, "", true
	case "1.1":
		return tls.VersionTLS11, "", true
	case "1.2":
		return tls.VersionTLS12, "", true
	case "1.3":
		return tls.VersionTLS13, "", true
	}
	switch strings.ToUpper(p) {
	case "SSLV23", "SSL23", "ALL", "ANY":
		return 0, "", true
	case "SSL2", "SSLV2", "SSL3", "SSLV3":
		return tls.VersionTLS10, fmt.Sprintf("TLS_PROTOCOL %s is not supported; using TLS 1.0 instead", p), true
	}
	return 0, "", false
}

// opensslNames maps OpenSSL's cipher names to the IANA names Go uses.
// Only suites Go implements are listed; GnuTLS-style names (e.g.
// ECDHE-RSA-AES256-GCM-SHA384 is shared) reach the IANA table below.
var opensslNames = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES128-SHA256":     "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
	"AES128-SHA256":                 "TLS_RSA_WITH_AES_128_CBC_SHA256",
	"DES-CBC3-SHA":                  "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"ECDHE-RSA-DES-CBC3-SHA":        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"RC4-SHA":                       "TLS_RSA_WITH_RC4_128_SHA",
	"ECDHE-RSA-RC4-SHA":             "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	"ECDHE-ECDSA-RC4-SHA":           "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
}

var ianaSuites = func() map[string]uint16 {
	m := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		m[s.Name] = s.ID
	}
	for _, s := range tls.InsecureCipherSuites() {
		m[s.Name] = s.ID
	}
	return m
}()

// tls13Suite reports TLS 1.3 suites, which Go always enables and which
// cannot be listed in tls.Config.CipherSuites.
func tls13Suite(id uint16) bool { return id>>8 == 0x13 }

// ParseCipherList maps an OpenSSL-style TLS_CIPHER_LIST
// ("ECDHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL") to Go suite IDs, in the
// order given and without duplicates. Exclusions ("!x", "-x"), keywords
// (HIGH, DEFAULT, @STRENGTH, ...), TLS 1.3 suites and names Go does not
// implement are returned in unknown for the caller to log: Go cannot
// express them, and refusing to start over them would take the port down.
// IANA names (TLS_ECDHE_RSA_WITH_...) are accepted as well.
func ParseCipherList(s string) (suites []uint16, unknown []string) {
	if len(s) > maxSetting {
		return nil, []string{"(value too long)"}
	}
	s = strings.Trim(strings.TrimSpace(s), `"'`)
	seen := map[uint16]bool{}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ':' || r == ',' || r == ' ' || r == ';'
	}) {
		name := strings.TrimPrefix(tok, "+")
		if strings.HasPrefix(name, "!") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "@") {
			unknown = append(unknown, tok)
			continue
		}
		// "HIGH@STRENGTH" style suffixes.
		if i := strings.IndexByte(name, '@'); i >= 0 {
			unknown = append(unknown, name[i:])
			name = name[:i]
		}
		iana := opensslNames[strings.ToUpper(name)]
		if iana == "" {
			iana = strings.ToUpper(name)
		}
		id, ok := ianaSuites[iana]
		if !ok || tls13Suite(id) {
			unknown = append(unknown, tok)
			continue
		}
		if !seen[id] {
			seen[id] = true
			suites = append(suites, id)
		}
	}
	return suites, unknown
}

// Subject attribute OIDs accepted in TLS_EXTERNAL besides dotted numbers.
var subjectOIDs = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SN":           {2, 5, 4, 4},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"TITLE":        {2, 5, 4, 12},
	"GN":           {2, 5, 4, 42},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
	"EMAIL":        {1, 2, 840, 113549, 1, 9, 1},
	"E":            {1, 2, 840, 113549, 1, 9, 1},
}

// ParseField maps a TLS_EXTERNAL field name (case-insensitive short name
// such as "CN" or "emailaddress", or a dotted OID) to its OID.
func ParseField(field string) (asn1.ObjectIdentifier, error) {
	f := strings.TrimSpace(field)
	if o, ok := subjectOIDs[strings.ToUpper(f)]; ok {
		return o, nil
	}
	if len(f) > 0 && len(f) < 200 && f[0] >= '0' && f[0] <= '9' {
		var oid asn1.ObjectIdentifier
		for _, p := range strings.Split(f, ".") {
			n := 0
			if p == "" || len(p) > 9 {
				return nil, fmt.Errorf("bad OID %q", f)
			}
			for _, c := range p {
				if c < '0' || c > '9' {
					return nil, fmt.Errorf("bad OID %q", f)
				}
				n = n*10 + int(c-'0')
			}
			oid = append(oid, n)
		}
		if len(oid) >= 2 {
			return oid, nil
		}
	}
	return nil, fmt.Errorf("unknown certificate subject field %q", field)
}

// ExternalID returns the TLS_EXTERNAL field of the verified client
// certificate's subject, or "" when no certificate was verified, the field
// is absent, or its value could not be passed safely through the
// environment and a line protocol (control characters, over 256 bytes).
// An unverified certificate never yields an identity: EXTERNAL login
// rests entirely on the chain having been checked against TLS_TRUSTCERTS.
func ExternalID(cs *tls.ConnectionState, field string) string {
	if cs == nil || field == "" || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	oid, err := ParseField(field)
	if err != nil {
		return ""
	}
	return subjectValue(cs.VerifiedChains[0][0], oid)
}

func subjectValue(crt *x509.Certificate, oid asn1.ObjectIdentifier) string {
	for _, atv := range crt.Subject.Names {
		if !atv.Type.Equal(oid) {
			continue
		}
		v, ok := atv.Value.(string)
		if !ok || v == "" || len(v) > 256 {
			return ""
		}
		for _, c := range v {
			if c < 0x20 || c == 0x7f {
				return ""
			}
		}
		return v
	}
	return ""
}
