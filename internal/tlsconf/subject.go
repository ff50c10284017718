package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// opensslShort names subject attributes the way OpenSSL's short names do;
// Courier's couriertls exports each attribute of a verified client
// certificate's subject as TLS_SUBJECT_<upper-cased short name> (so
// emailAddress becomes TLS_SUBJECT_EMAILADDRESS), and login stages read
// TLS_SUBJECT_<TLS_EXTERNAL> for AUTHENTICATE EXTERNAL.
var opensslShort = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
}

// Subject returns "FIELD=value" pairs (FIELD upper-cased, in certificate
// order; for a repeated field the last one wins, as with Courier's
// setenv) for the leaf of a verified client chain, or nil when no chain
// was verified. Unknown attributes and values unsafe for the environment
// (control characters, over 256 bytes) are left out.
func Subject(cs *tls.ConnectionState) []string {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return nil
	}
	var order []string
	vals := map[string]string{}
	for _, atv := range cs.VerifiedChains[0][0].Subject.Names {
		name, ok := opensslShort[atv.Type.String()]
		if !ok {
			continue
		}
		v, ok := atv.Value.(string)
		if !ok || !envSafe(v) {
			continue
		}
		name = strings.ToUpper(name)
		if _, seen := vals[name]; !seen {
			order = append(order, name)
		}
		vals[name] = v
	}
	out := make([]string, 0, len(order))
	for _, n := range order {
		out = append(out, n+"="+vals[n])
	}
	return out
}

func envSafe(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// ProtocolDesc describes the connection as Courier's
// TLS_CONNECTED_PROTOCOL does: "<version>,<bits>bits,<cipher>", e.g.
// "TLSv1.3,256bits,TLS_AES_256_GCM_SHA384" or
// "TLSv1.2,128bits,ECDHE-RSA-AES128-GCM-SHA256" (OpenSSL's names for
// TLS 1.2 suites, IANA names for TLS 1.3 ones, as OpenSSL reports them).
func ProtocolDesc(cs *tls.ConnectionState) string {
	ver := map[uint16]string{tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1",
		tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[cs.Version]
	if ver == "" {
		ver = "unknown"
	}
	name := tls.CipherSuiteName(cs.CipherSuite)
	if o := ianaToOpenSSL[name]; o != "" {
		name = o
	}
	bits := 0
	switch {
	case strings.Contains(name, "AES128") || strings.Contains(name, "AES_128") || strings.Contains(name, "RC4"):
		bits = 128
	case strings.Contains(name, "AES256") || strings.Contains(name, "AES_256") || strings.Contains(name, "CHACHA20"):
		bits = 256
	case strings.Contains(name, "3DES") || strings.Contains(name, "DES-CBC3"):
		bits = 112
	}
	return fmt.Sprintf("%s,%dbits,%s", ver, bits, name)
}

var ianaToOpenSSL = func() map[string]string {
	m := map[string]string{}
	for o, i := range opensslNames {
		m[i] = o
	}
	return m
}()
