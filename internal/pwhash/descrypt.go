package pwhash

// Traditional Unix DES crypt(3): 13 characters, 2 of salt. Courier's
// userdbpw writes it by default (it calls crypt() with a 2-character salt),
// so existing userdb files are full of it. Only the first 8 password bytes
// count, which is why we never generate it.
//
// The implementation is a plain bit-array DES (FIPS 46-3 tables) with the
// crypt(3) twist: each set salt bit swaps two bits of the E expansion, and
// an all-zero block is encrypted 25 times. It is written for clarity, not
// speed; one crypt takes well under a millisecond.

var desIP = [64]byte{
	58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
}

var desE = [48]byte{
	32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9,
	8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
	16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
	24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
}

var desP = [32]byte{
	16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
}

var desPC1 = [56]byte{
	57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
}

var desPC2 = [48]byte{
	14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
}

var desShifts = [16]byte{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

var desS = [8][64]byte{
	{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
	{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
	{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
	{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
	{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
	{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
	{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
	{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
}

const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func crypt64Value(c byte) (int, bool) {
	for i := 0; i < 64; i++ {
		if crypt64[i] == c {
			return i, true
		}
	}
	return 0, false
}

// desSubkeys computes the 16 48-bit round keys (one bit per byte).
func desSubkeys(key [64]byte) [16][48]byte {
	var cd [56]byte
	for i, p := range desPC1 {
		cd[i] = key[p-1]
	}
	var ks [16][48]byte
	for r := 0; r < 16; r++ {
		for s := 0; s < int(desShifts[r]); s++ {
			c0, d0 := cd[0], cd[28]
			copy(cd[0:27], cd[1:28])
			cd[27] = c0
			copy(cd[28:55], cd[29:56])
			cd[55] = d0
		}
		for i, p := range desPC2 {
			ks[r][i] = cd[p-1]
		}
	}
	return ks
}

// desEncrypt encrypts one 64-bit block (one bit per byte) with the round
// keys; saltMask[i] set swaps E output bits i and i+24 (crypt(3)).
func desEncrypt(block [64]byte, ks *[16][48]byte, saltMask *[24]bool) [64]byte {
	var lr [64]byte
	for i, p := range desIP {
		lr[i] = block[p-1]
	}
	l, r := lr[:32:32], lr[32:]
	var L, R [32]byte
	copy(L[:], l)
	copy(R[:], r)
	for round := 0; round < 16; round++ {
		var e [48]byte
		for i, p := range desE {
			e[i] = R[p-1]
		}
		if saltMask != nil {
			for i := 0; i < 24; i++ {
				if saltMask[i] {
					e[i], e[i+24] = e[i+24], e[i]
				}
			}
		}
		for i := range e {
			e[i] ^= ks[round][i]
		}
		var sout [32]byte
		for s := 0; s < 8; s++ {
			b := e[s*6 : s*6+6]
			row := b[0]<<1 | b[5]
			col := b[1]<<3 | b[2]<<2 | b[3]<<1 | b[4]
			v := desS[s][int(row)*16+int(col)]
			for k := 0; k < 4; k++ {
				sout[s*4+k] = (v >> (3 - k)) & 1
			}
		}
		var f [32]byte
		for i, p := range desP {
			f[i] = sout[p-1]
		}
		newR := L
		for i := range newR {
			newR[i] ^= f[i]
		}
		L, R = R, newR
	}
	// Final swap then inverse IP.
	var pre [64]byte
	copy(pre[:32], R[:])
	copy(pre[32:], L[:])
	var out [64]byte
	for i, p := range desIP {
		out[p-1] = pre[i]
	}
	return out
}

// desCrypt computes crypt(3) DES for a 2-character salt. ok is false when
// the salt characters are outside the crypt alphabet.
func desCrypt(password string, salt string) (string, bool) {
	if len(salt) < 2 {
		return "", false
	}
	s0, ok0 := crypt64Value(salt[0])
	s1, ok1 := crypt64Value(salt[1])
	if !ok0 || !ok1 {
		return "", false
	}
	saltBits := s0 | s1<<6
	var mask [24]bool
	for i := 0; i < 12; i++ {
		mask[i] = saltBits&(1<<i) != 0
	}
	var key [64]byte
	for i := 0; i < 8 && i < len(password); i++ {
		c := password[i] << 1
		for k := 0; k < 8; k++ {
			key[i*8+k] = (c >> (7 - k)) & 1
		}
	}
	ks := desSubkeys(key)
	var block [64]byte
	for i := 0; i < 25; i++ {
		block = desEncrypt(block, &ks, &mask)
	}
	out := make([]byte, 0, 13)
	out = append(out, salt[0], salt[1])
	for g := 0; g < 11; g++ {
		v := 0
		for k := 0; k < 6; k++ {
			bit := g*6 + k
			v <<= 1
			if bit < 64 {
				v |= int(block[bit])
			}
		}
		out = append(out, crypt64[v])
	}
	return string(out), true
}
