// Package pwhash verifies and generates the password hashes found in
// Courier userdb files and LDAP/SQL password columns, and Courier's
// precomputed HMAC contexts for CRAM-* (userdbpw -hmac-*).
//
// Invariants:
//   - Verify never panics on any stored string and never treats an
//     unrecognised format as a match. Clear text matches only when
//     explicitly marked ({PLAIN} or {CLEARTEXT}); Courier never stores clear
//     text in userdb, so an unmarked value is never compared as plain text.
//   - Every comparison of secret-derived bytes is constant time.
//   - Generate never writes DES crypt (8-character limit); it writes
//     SHA-512 crypt by default and MD5 crypt on request.
package pwhash

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/go-crypt/crypt"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/scrypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

// ErrUnknownFormat means the stored value is in no format we know.
var ErrUnknownFormat = errors.New("pwhash: unknown password hash format")

// MaxPassword bounds the password length we hash (bcrypt/sha-crypt cost is
// linear in it; no real password is longer).
const MaxPassword = 1024

var (
	decoderOnce sync.Once
	decoder     *crypt.Decoder
	decoderErr  error
)

// cryptDecoder is an explicit decoder (not NewDecoderAll, which would also
// accept go-crypt's plaintext formats): md5crypt, sha-crypt, bcrypt and
// scrypt/yescrypt, the modular crypt formats glibc/libxcrypt produce.
func cryptDecoder() (*crypt.Decoder, error) {
	decoderOnce.Do(func() {
		d := crypt.NewDecoder()
		for _, reg := range []func() error{
			func() error { return md5crypt.RegisterDecoderCommon(d) },
			func() error { return shacrypt.RegisterDecoder(d) },
			func() error { return bcrypt.RegisterDecoderStandard(d) },
			func() error { return scrypt.RegisterDecoder(d) },
		} {
			if err := reg(); err != nil {
				decoderErr = fmt.Errorf("pwhash: register decoder: %w", err)
				return
			}
		}
		decoder = d
	})
	return decoder, decoderErr
}

// Verify reports whether password matches stored. err is ErrUnknownFormat
// (wrapped) when stored is in no known format; a mismatch is (false, nil).
//
// Formats: $1$ md5-crypt, $5$/$6$ sha-crypt (rounds= allowed), $2a$/$2b$/$2y$
// bcrypt, $y$ yescrypt, $7$ scrypt, 13-character DES crypt, {CRYPT}<any of
// these>, {MD5} {SMD5} {SHA} {SSHA} {SHA256} {SSHA256} {SHA512} {SSHA512}
// (base64, RFC 2307 style as OpenLDAP writes them), {PLAIN}/{CLEARTEXT}.
func Verify(password, stored string) (bool, error) {
	if len(password) > MaxPassword {
		return false, nil
	}
	if strings.HasPrefix(stored, "{") {
		end := strings.IndexByte(stored, '}')
		if end < 0 {
			return false, fmt.Errorf("%w: unterminated {scheme}", ErrUnknownFormat)
		}
		scheme, val := strings.ToUpper(stored[1:end]), stored[end+1:]
		switch scheme {
		case "CRYPT":
			return verifyCrypt(password, val)
		case "PLAIN", "CLEARTEXT":
			return subtle.ConstantTimeCompare([]byte(password), []byte(val)) == 1, nil
		case "MD5":
			return verifyDigest(md5.New, password, val, false)
		case "SMD5":
			return verifyDigest(md5.New, password, val, true)
		case "SHA":
			return verifyDigest(sha1.New, password, val, false)
		case "SSHA":
			return verifyDigest(sha1.New, password, val, true)
		case "SHA256":
			return verifyDigest(sha256.New, password, val, false)
		case "SSHA256":
			return verifyDigest(sha256.New, password, val, true)
		case "SHA512":
			return verifyDigest(sha512.New, password, val, false)
		case "SSHA512":
			return verifyDigest(sha512.New, password, val, true)
		}
		return false, fmt.Errorf("%w: scheme {%s}", ErrUnknownFormat, scheme)
	}
	return verifyCrypt(password, stored)
}

// verifyDigest checks base64(H(pw [+ salt]) [+ salt]).
func verifyDigest(h func() hash.Hash, password, b64 string, salted bool) (bool, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return false, fmt.Errorf("%w: bad base64: %v", ErrUnknownFormat, err)
	}
	size := h().Size()
	if len(raw) < size || (!salted && len(raw) != size) {
		return false, fmt.Errorf("%w: digest length %d", ErrUnknownFormat, len(raw))
	}
	d := h()
	d.Write([]byte(password))
	d.Write(raw[size:])
	return subtle.ConstantTimeCompare(d.Sum(nil), raw[:size]) == 1, nil
}

func verifyCrypt(password, stored string) (bool, error) {
	if len(stored) == 13 && !strings.HasPrefix(stored, "$") {
		got, ok := desCrypt(password, stored[:2])
		if !ok {
			return false, fmt.Errorf("%w: bad DES salt", ErrUnknownFormat)
		}
		return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1, nil
	}
	if !strings.HasPrefix(stored, "$") {
		return false, ErrUnknownFormat
	}
	if ok, handled := verifyShaCrypt(password, stored); handled {
		return ok, nil
	}
	if ok, handled := verifyMD5Crypt(password, stored); handled {
		return ok, nil
	}
	d, err := cryptDecoder()
	if err != nil {
		return false, err
	}
	digest, err := d.Decode(stored)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnknownFormat, err)
	}
	ok, err := digest.MatchAdvanced(password)
	if err != nil {
		return false, fmt.Errorf("pwhash: match: %w", err)
	}
	return ok, nil
}

// Scheme names for Generate.
const (
	SchemeSHA512Crypt = "sha512-crypt" // $6$, the default
	SchemeSHA256Crypt = "sha256-crypt" // $5$
	SchemeMD5Crypt    = "md5-crypt"    // $1$, userdbpw -md5
)

// Generate hashes password with scheme. sha-crypt uses glibc's default of
// 5000 rounds, so the output has no rounds= field and any crypt(3) reads it.
func Generate(scheme, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("pwhash: salt: %w", err)
	}
	for i := range salt {
		salt[i] = crypt64[int(salt[i])%64]
	}
	switch scheme {
	case SchemeSHA512Crypt, SchemeSHA256Crypt, "":
		opt := shacrypt.WithSHA512()
		if scheme == SchemeSHA256Crypt {
			opt = shacrypt.WithSHA256()
		}
		h, err := shacrypt.New(opt, shacrypt.WithRounds(5000))
		if err != nil {
			return "", fmt.Errorf("pwhash: %w", err)
		}
		d, err := h.HashWithSalt(password, salt)
		if err != nil {
			return "", fmt.Errorf("pwhash: %w", err)
		}
		return d.Encode(), nil
	case SchemeMD5Crypt:
		h, err := md5crypt.New()
		if err != nil {
			return "", fmt.Errorf("pwhash: %w", err)
		}
		d, err := h.HashWithSalt(password, salt[:8])
		if err != nil {
			return "", fmt.Errorf("pwhash: %w", err)
		}
		return d.Encode(), nil
	}
	return "", fmt.Errorf("pwhash: unknown scheme %q", scheme)
}
