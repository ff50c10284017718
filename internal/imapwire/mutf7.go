package imapwire

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 for mailbox names, RFC 3501 §5.1.3: printable US-ASCII
// except '&' stands for itself, '&' is "&-", everything else is
// base64 (with ',' for '/') of UTF-16BE between '&' and '-'.

const mutf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// Strict: non-zero trailing bits would make two spellings of one name.
var mutf7 = base64.NewEncoding(mutf7Alphabet).WithPadding(base64.NoPadding).Strict()

// ErrMUTF7 reports a malformed modified UTF-7 name.
var ErrMUTF7 = errors.New("invalid modified UTF-7")

// EncodeMUTF7 converts UTF-8 to modified UTF-7.
func EncodeMUTF7(s string) string {
	var sb strings.Builder
	var pend []uint16
	flush := func() {
		if len(pend) == 0 {
			return
		}
		b := make([]byte, 2*len(pend))
		for i, u := range pend {
			b[2*i] = byte(u >> 8)
			b[2*i+1] = byte(u)
		}
		sb.WriteByte('&')
		sb.WriteString(mutf7.EncodeToString(b))
		sb.WriteByte('-')
		pend = pend[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			pend = append(pend, uint16(r1), uint16(r2))
		} else {
			pend = append(pend, uint16(r))
		}
	}
	flush()
	return sb.String()
}

// DecodeMUTF7 converts modified UTF-7 to UTF-8, rejecting non-canonical
// forms (RFC 3501 §5.1.3: no encoded printable ASCII, no adjacent shifts).
func DecodeMUTF7(s string) (string, error) {
	var sb strings.Builder
	prevEnc := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrMUTF7
		}
		if c != '&' {
			sb.WriteByte(c)
			i++
			prevEnc = false
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", ErrMUTF7
		}
		enc := s[i+1 : i+1+j]
		i += j + 2
		if enc == "" {
			sb.WriteByte('&')
			prevEnc = false
			continue
		}
		if prevEnc {
			return "", ErrMUTF7
		}
		// encoding/base64 skips CR and LF; a name must not contain them.
		for k := 0; k < len(enc); k++ {
			if strings.IndexByte(mutf7Alphabet, enc[k]) < 0 {
				return "", ErrMUTF7
			}
		}
		b, err := mutf7.DecodeString(enc)
		if err != nil || len(b)%2 != 0 {
			return "", ErrMUTF7
		}
		u := make([]uint16, len(b)/2)
		for k := range u {
			u[k] = uint16(b[2*k])<<8 | uint16(b[2*k+1])
		}
		for _, r := range utf16.Decode(u) {
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				return "", ErrMUTF7
			}
			sb.WriteRune(r)
		}
		prevEnc = true
	}
	return sb.String(), nil
}
