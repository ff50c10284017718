package pwhash

import (
	"crypto/md5"
	"crypto/subtle"
	"strings"
)

// MD5-crypt ($1$, Kamp's FreeBSD scheme; `userdbpw -md5`, `openssl passwd
// -1`), verified with one hash state and fixed buffers like SHA-crypt in
// shacrypt.go, for the common form only: $1$, a salt of 1..8 crypt64
// characters, a 22-character digest. Anything else goes to go-crypt.

const md5MaxSalt = 8

var md5Magic = []byte("$1$")

var md5Encoding = &shaVariant{
	size:   16,
	encLen: 22,
	groups: [][3]uint8{
		{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5},
	},
	tail:      [3]int{-1, -1, 11},
	tailChars: 2,
}

// verifyMD5Crypt reports whether password matches stored; handled is false
// when stored is not in the form described above.
func verifyMD5Crypt(password, stored string) (match, handled bool) {
	rest, ok := strings.CutPrefix(stored, "$1$")
	if !ok {
		return false, false
	}
	salt, digest, ok := strings.Cut(rest, "$")
	if !ok || len(salt) == 0 || len(salt) > md5MaxSalt || len(digest) != md5Encoding.encLen ||
		!allCrypt64(salt) || !allCrypt64(digest) {
		return false, false
	}
	var enc [22]byte
	got := md5Encoding.encode(enc[:0], md5CryptSum(password, salt))
	return subtle.ConstantTimeCompare(got, []byte(digest)) == 1, true
}

// md5CryptSum computes the MD5-crypt digest.
func md5CryptSum(password, salt string) []byte {
	pl := len(password)
	buf := make([]byte, 16+pl+len(salt))
	fin := buf[:0:16]
	pw := buf[16 : 16+pl]
	sa := buf[16+pl:]
	copy(pw, password)
	copy(sa, salt)
	h := md5.New()

	// The alternate sum: MD5(pw salt pw).
	h.Write(pw)
	h.Write(sa)
	h.Write(pw)
	fin = h.Sum(fin)

	h.Reset()
	h.Write(pw)
	h.Write(md5Magic)
	h.Write(sa)
	for n := pl; n > 0; n -= 16 {
		h.Write(fin[:min(n, 16)])
	}
	// The scheme's quirk: a zero byte for each set bit of the length
	// (the alternate sum was cleared), the password's first byte otherwise.
	var zero [1]byte
	for n := pl; n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(zero[:])
		} else {
			h.Write(pw[:1])
		}
	}
	fin = h.Sum(fin[:0])

	return cryptRounds(h, fin, pw, sa, 1000)
}
