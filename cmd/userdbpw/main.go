// Command userdbpw reads a password and prints the value to store in a
// userdb password field (userdbpw(8)):
//
//	userdbpw              SHA-512 crypt ($6$), for systempw / <service>pw
//	userdbpw -md5         MD5 crypt ($1$)
//	userdbpw -hmac-md5    HMAC-MD5 context for hmac-md5pw (CRAM-MD5)
//	userdbpw -hmac-sha1   HMAC-SHA1 context for hmac-sha1pw (CRAM-SHA1)
//	userdbpw -hmac-sha256 HMAC-SHA256 context for hmac-sha256pw (CRAM-SHA256)
//
// The password is one line of standard input; on a terminal it is asked for
// twice with echo off. Typical use: userdbpw -md5 | userdb alice set systempw
//
// Difference from Courier: Courier's default is the traditional DES
// crypt(3), which uses only the first 8 characters of the password; ours is
// SHA-512 crypt, which Courier's authlib (glibc crypt) also verifies. The
// HMAC values are byte-identical to Courier's.
package main

import (
	"fmt"
	"os"

	"gocourier/internal/login"
	"gocourier/internal/pwhash"
)

func main() {
	mode := ""
	switch len(os.Args) {
	case 1:
	case 2:
		mode = os.Args[1]
	default:
		fail("invalid argument.")
	}
	switch mode {
	case "", "-md5", "-hmac-md5", "-hmac-sha1", "-hmac-sha256":
	default:
		fail("invalid argument.")
	}
	pw, err := login.ReadSecret(os.Stdin, "Password: ")
	if err != nil {
		fail(err.Error())
	}
	if login.IsTerminal(os.Stdin) {
		again, err := login.ReadSecret(os.Stdin, "Reenter password: ")
		if err != nil {
			fail(err.Error())
		}
		if again != pw {
			fail("Passwords don't match.")
		}
	}
	var out string
	switch mode {
	case "":
		out, err = pwhash.Generate(pwhash.SchemeSHA512Crypt, pw)
	case "-md5":
		out, err = pwhash.Generate(pwhash.SchemeMD5Crypt, pw)
	default:
		out, err = pwhash.HMACSecret(mode[len("-hmac-"):], pw)
	}
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(out)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "userdbpw: "+msg)
	os.Exit(1)
}
