package pwhash

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strings"
)

// SHA-crypt ($5$ SHA-256, $6$ SHA-512: Drepper's "Unix crypt using SHA-256
// and SHA-512", the scheme glibc's and libxcrypt's crypt(3) implement) is the
// hash every login pays for: userdbpw and `openssl passwd -6` write it with
// 5000 rounds. go-crypt's implementation allocates in every round (about
// 5,000 allocations and 320 KB per verify), which authdaemond then pays for
// again in garbage collection. This one keeps one hash state and one scratch
// buffer for the whole computation, so the rounds allocate nothing.
//
// Only the common, unambiguous form is handled here:
// $5$|$6$, optional rounds=N$ with N written without leading zeros inside
// glibc's range [1000, 999999999], a salt of 1..16 crypt64 characters, and a
// digest of exactly the encoded length in the crypt64 alphabet. Anything
// else (out-of-range rounds that crypt(3) would clamp, over-long salts it
// would truncate, odd spellings) goes to go-crypt as before, so the set of
// accepted hashes does not change.

// shaVariant describes one of the two SHA-crypt flavours.
type shaVariant struct {
	newHash func() hash.Hash
	size    int // digest bytes
	encLen  int // crypt64 characters of the encoded digest
	// groups lists the digest byte triples in the order crypt(3) encodes
	// them (the first byte is the most significant of the 24-bit group);
	// tail is the last, shorter group and tailChars its character count.
	groups    [][3]uint8
	tail      [3]int // indexes into the digest, -1 for a zero byte
	tailChars int
}

var sha512Variant = &shaVariant{
	newHash: sha512.New,
	size:    64,
	encLen:  86,
	groups: [][3]uint8{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
		{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
		{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
		{62, 20, 41},
	},
	tail:      [3]int{-1, -1, 63},
	tailChars: 2,
}

var sha256Variant = &shaVariant{
	newHash: sha256.New,
	size:    32,
	encLen:  43,
	groups: [][3]uint8{
		{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	},
	tail:      [3]int{-1, 31, 30},
	tailChars: 3,
}

const (
	shaDefaultRounds = 5000
	shaMinRounds     = 1000
	shaMaxRounds     = 999999999
	shaMaxSalt       = 16
)

// parseShaCrypt splits a stored $5$/$6$ value into its parts when it is in
// the form this file handles; ok is false otherwise.
func parseShaCrypt(stored string) (v *shaVariant, rounds int, salt, digest string, ok bool) {
	switch {
	case strings.HasPrefix(stored, "$6$"):
		v = sha512Variant
	case strings.HasPrefix(stored, "$5$"):
		v = sha256Variant
	default:
		return nil, 0, "", "", false
	}
	rest := stored[3:]
	rounds = shaDefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		end := strings.IndexByte(r, '$')
		if end < 1 || end > 9 || r[0] == '0' {
			return nil, 0, "", "", false
		}
		n := 0
		for i := 0; i < end; i++ {
			ch := r[i]
			if ch < '0' || ch > '9' {
				return nil, 0, "", "", false
			}
			n = n*10 + int(ch-'0')
		}
		if n < shaMinRounds || n > shaMaxRounds {
			return nil, 0, "", "", false
		}
		rounds, rest = n, r[end+1:]
	}
	salt, digest, found := strings.Cut(rest, "$")
	if !found || len(salt) == 0 || len(salt) > shaMaxSalt || len(digest) != v.encLen {
		return nil, 0, "", "", false
	}
	if !allCrypt64(salt) || !allCrypt64(digest) {
		return nil, 0, "", "", false
	}
	return v, rounds, salt, digest, true
}

// allCrypt64 reports whether s uses only the crypt64 alphabet (every tool
// writes salts from it; libxcrypt refuses some other bytes, which go-crypt
// then judges as before).
func allCrypt64(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(crypt64, s[i]) < 0 {
			return false
		}
	}
	return true
}

// verifyShaCrypt reports whether password matches stored; handled is false
// when stored is not in the form parseShaCrypt accepts (the caller then
// uses go-crypt).
func verifyShaCrypt(password, stored string) (match, handled bool) {
	v, rounds, salt, digest, ok := parseShaCrypt(stored)
	if !ok {
		return false, false
	}
	var enc [86]byte
	got := v.encode(enc[:0], v.sum(password, salt, rounds))
	return subtle.ConstantTimeCompare(got, []byte(digest)) == 1, true
}

// sum computes the SHA-crypt digest (the steps are numbered as in
// Drepper's specification). It allocates one scratch buffer and one hash
// state; nothing per round.
func (v *shaVariant) sum(password, salt string, rounds int) []byte {
	size := v.size
	pl, sl := len(password), len(salt)
	// scratch: B, A/C (size each), P' (pl), S' (sl), the password and the
	// salt as bytes.
	buf := make([]byte, 2*size+2*pl+2*sl)
	b, c := buf[:0:size], buf[size:size:2*size]
	pp := buf[2*size : 2*size+pl]
	sp := buf[2*size+pl : 2*size+pl+sl]
	pw := buf[2*size+pl+sl : 2*size+2*pl+sl]
	sa := buf[2*size+2*pl+sl:]
	copy(pw, password)
	copy(sa, salt)
	h := v.newHash()

	// Steps 4-8: B = H(P S P).
	h.Write(pw)
	h.Write(sa)
	h.Write(pw)
	b = h.Sum(b)

	// Steps 1-3 and 9-12: A = H(P S B-repeated-to-len(P) bits-of-len(P)).
	h.Reset()
	h.Write(pw)
	h.Write(sa)
	n := pl
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n = pl; n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	c = h.Sum(c)

	// Steps 13-16: P' = H(P repeated len(P) times), stretched to len(P).
	h.Reset()
	for i := 0; i < pl; i++ {
		h.Write(pw)
	}
	dp := h.Sum(b[:0]) // B is no longer needed
	for i := 0; i < pl; i += size {
		copy(pp[i:], dp)
	}

	// Steps 17-20: S' = H(S repeated 16+A[0] times), stretched to len(S).
	h.Reset()
	for i := 0; i < 16+int(c[0]); i++ {
		h.Write(sa)
	}
	ds := h.Sum(b[:0])
	for i := 0; i < sl; i += size {
		copy(sp[i:], ds)
	}

	// Step 21: the rounds; C starts as A.
	return cryptRounds(h, c, pp, sp, rounds)
}

// cryptRounds is the round loop that MD5-crypt (1,000 rounds over the
// password and salt) and SHA-crypt (rounds= over the P and S sequences)
// share: each round hashes the previous digest and the password in an
// order set by the round number's parity, with the salt unless it is a
// multiple of 3 and the password again unless a multiple of 7. c is
// overwritten in place.
func cryptRounds(h hash.Hash, c, pw, salt []byte, rounds int) []byte {
	for i := 0; i < rounds; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pw)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// encode appends the crypt64 encoding of digest in crypt(3)'s byte order.
func (v *shaVariant) encode(dst, digest []byte) []byte {
	put := func(w uint32, n int) {
		for ; n > 0; n-- {
			dst = append(dst, crypt64[w&0x3f])
			w >>= 6
		}
	}
	for _, g := range v.groups {
		put(uint32(digest[g[0]])<<16|uint32(digest[g[1]])<<8|uint32(digest[g[2]]), 4)
	}
	var w uint32
	for _, i := range v.tail {
		w <<= 8
		if i >= 0 {
			w |= uint32(digest[i])
		}
	}
	put(w, v.tailChars)
	return dst
}
