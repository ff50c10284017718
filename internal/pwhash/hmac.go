package pwhash

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Courier's userdbpw -hmac-md5/-hmac-sha1/-hmac-sha256 stores not the
// password but the two intermediate HMAC contexts (RFC 2104): the hash state
// after one block of key XOR opad, then after key XOR ipad, as hex. The
// state words are written in the hash's own byte order: little-endian for
// MD5, big-endian for SHA-1 and SHA-256. From them CRAM digests can be
// computed without the password (it is still password-equivalent for CRAM).
//
// We resume Go's hashes from such a state through their MarshalBinary
// format ("md5\x01", "sha\x01", "sha\x03" + state words big-endian + the
// 64-byte block buffer + uint64 length).

type hmacAlg struct {
	name  string
	newH  func() hash.Hash
	magic string
	words int
	le    bool // state words little-endian in Courier's hex (MD5)
}

var hmacAlgs = map[string]hmacAlg{
	"md5":    {"md5", md5.New, "md5\x01", 4, true},
	"sha1":   {"sha1", sha1.New, "sha\x01", 5, false},
	"sha256": {"sha256", sha256.New, "sha\x03", 8, false},
}

// HMACAlgs lists the supported names, as used in cram-<alg> and hmac-<alg>pw.
func HMACAlgs() []string { return []string{"md5", "sha1", "sha256"} }

func lookupAlg(alg string) (hmacAlg, error) {
	a, ok := hmacAlgs[strings.ToLower(alg)]
	if !ok {
		return hmacAlg{}, fmt.Errorf("pwhash: unknown HMAC algorithm %q", alg)
	}
	return a, nil
}

// padState returns the Courier-order state words (as bytes) after hashing
// one block of key XOR pad.
func padState(a hmacAlg, key []byte, pad byte) []byte {
	if len(key) > 64 {
		h := a.newH()
		h.Write(key)
		key = h.Sum(nil)
	}
	block := make([]byte, 64)
	copy(block, key)
	for i := range block {
		block[i] ^= pad
	}
	h := a.newH()
	h.Write(block)
	m, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
	st := m[len(a.magic) : len(a.magic)+4*a.words]
	out := make([]byte, len(st))
	copy(out, st)
	if a.le {
		for i := 0; i < len(out); i += 4 {
			binary.LittleEndian.PutUint32(out[i:], binary.BigEndian.Uint32(st[i:]))
		}
	}
	return out
}

// HMACSecret returns what userdbpw -hmac-<alg> prints for password: hex of
// the opad context followed by the ipad context.
func HMACSecret(alg, password string) (string, error) {
	a, err := lookupAlg(alg)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(append(padState(a, []byte(password), 0x5c), padState(a, []byte(password), 0x36)...)), nil
}

// resume builds a hash positioned after one 64-byte block with the given
// Courier-order state.
func resume(a hmacAlg, state []byte) (hash.Hash, error) {
	m := make([]byte, 0, len(a.magic)+len(state)+64+8)
	m = append(m, a.magic...)
	for i := 0; i < len(state); i += 4 {
		w := binary.BigEndian.Uint32(state[i:])
		if a.le {
			w = binary.LittleEndian.Uint32(state[i:])
		}
		m = binary.BigEndian.AppendUint32(m, w)
	}
	m = append(m, make([]byte, 64)...)
	m = binary.BigEndian.AppendUint64(m, 64)
	h := a.newH()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(m); err != nil {
		return nil, fmt.Errorf("pwhash: resume %s: %w", a.name, err)
	}
	return h, nil
}

// CRAMDigest computes HMAC-<alg>(key, challenge) from a stored secret
// (HMACSecret's format).
func CRAMDigest(alg, secretHex string, challenge []byte) ([]byte, error) {
	a, err := lookupAlg(alg)
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(secretHex))
	if err != nil || len(raw) != 8*a.words {
		return nil, fmt.Errorf("pwhash: malformed hmac-%spw secret", a.name)
	}
	outer, inner := raw[:4*a.words], raw[4*a.words:]
	hi, err := resume(a, inner)
	if err != nil {
		return nil, err
	}
	hi.Write(challenge)
	ho, err := resume(a, outer)
	if err != nil {
		return nil, err
	}
	ho.Write(hi.Sum(nil))
	return ho.Sum(nil), nil
}

// VerifyCRAM checks a CRAM response digest (hex, either case) against the
// stored secret for challenge, in constant time.
func VerifyCRAM(alg, secretHex string, challenge []byte, responseHex string) (bool, error) {
	want, err := CRAMDigest(alg, secretHex, challenge)
	if err != nil {
		return false, err
	}
	got, err := hex.DecodeString(responseHex)
	if err != nil {
		return false, nil
	}
	return subtle.ConstantTimeCompare(want, got) == 1, nil
}
