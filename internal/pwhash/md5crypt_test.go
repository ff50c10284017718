package pwhash

import (
	"strings"
	"testing"

	"github.com/go-crypt/crypt/algorithm/md5crypt"
)

// Made by libxcrypt's crypt(3) (python3 crypt.crypt) on this Debian host;
// lengths around the 16-byte digest size.
var md5CryptVectors = []struct{ name, pw, stored string }{
	{"openssl", "Hello world!", "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"},
	{"empty password", "", "$1$abc$Or2rbeUYTvt12aiVzMuS/."},
	{"one-byte salt", "x", "$1$a$TYcRT0JumNkKBBlirG1X4/"},
	{"16-byte password", strings.Repeat("p", 16), "$1$sixteen$zIe8jS1GBtd.tSq7gTCZe."},
	{"17-byte password", strings.Repeat("p", 17), "$1$svntn$Qoy3pm7vEUUXMladgnOF//"},
	{"utf8", "pässwörd ☃", "$1$utf8salt$QN/iXrntlnOzD/tb9Q184/"},
	{"160-byte password", strings.Repeat("long", 40), "$1$12345678$.iapQEIpp.9cYsL3x/nOu1"},
	{"userdbpw -md5", "secret", "$1$XgaGkadw$s0xIjmzr8C8KT9mqDILqj0"},
}

func TestMD5CryptVectors(t *testing.T) {
	for _, tc := range md5CryptVectors {
		t.Run(tc.name, func(t *testing.T) {
			if ok, handled := verifyMD5Crypt(tc.pw, tc.stored); !ok || !handled {
				t.Fatalf("match %v handled %v", ok, handled)
			}
			if ok, handled := verifyMD5Crypt(tc.pw+"!", tc.stored); ok || !handled {
				t.Fatalf("wrong password: match %v handled %v", ok, handled)
			}
		})
	}
}

func TestMD5CryptFallback(t *testing.T) {
	for _, stored := range []string{
		"$1$$" + strings.Repeat("a", 22),          // empty salt
		"$1$123456789$" + strings.Repeat("a", 22), // 9-byte salt: crypt(3) truncates
		"$1$ab:c$" + strings.Repeat("a", 22),
		"$1$abc$" + strings.Repeat("a", 21),
		"$1$abc",
		"$apr1$abc$" + strings.Repeat("a", 22),
	} {
		if _, handled := verifyMD5Crypt("pw", stored); handled {
			t.Errorf("%q handled by the fast path", stored)
		}
	}
}

func TestMD5CryptMatchesGoCrypt(t *testing.T) {
	for pl := 0; pl <= 70; pl += 7 {
		for _, salt := range []string{"a", "abcd", "./AZaz09"} {
			h, err := md5crypt.New()
			if err != nil {
				t.Fatal(err)
			}
			d, err := h.HashWithSalt(strings.Repeat("m", pl), []byte(salt))
			if err != nil {
				t.Fatal(err)
			}
			if ok, handled := verifyMD5Crypt(strings.Repeat("m", pl), d.Encode()); !ok || !handled {
				t.Fatalf("%s: match %v handled %v", d.Encode(), ok, handled)
			}
		}
	}
}

func TestMD5CryptAllocations(t *testing.T) {
	stored := md5CryptVectors[0].stored
	if n := testing.AllocsPerRun(5, func() { verifyMD5Crypt("Hello world!", stored) }); n > 3 {
		t.Fatalf("%v allocations per verify", n)
	}
}

func FuzzMD5Crypt(f *testing.F) {
	for _, tc := range md5CryptVectors {
		f.Add(tc.pw, tc.stored)
	}
	f.Fuzz(func(t *testing.T, pw, stored string) {
		if len(pw) > 200 {
			pw = pw[:200]
		}
		ok, handled := verifyMD5Crypt(pw, stored)
		if !handled {
			return
		}
		agreesWithGoCrypt(t, pw, stored, ok)
	})
}
