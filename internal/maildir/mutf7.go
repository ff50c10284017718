package maildir

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// mutf7Enc is RFC 3501 §5.1.3's modified BASE64 (',' instead of '/', no
// padding).
var mutf7Enc = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// toMUTF7 encodes a UTF-8 name in IMAP modified UTF-7. Courier 5.0.13
// names courierimaphieracl/ entries this way even though folder
// directories are UTF-8 (reference §9.7 quirk), so we must too for the
// two servers to share the ACLs of virtual non-ASCII levels.
func toMUTF7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 0, 2*len(u))
		for _, c := range u {
			buf = append(buf, byte(c>>8), byte(c))
		}
		b.WriteByte('&')
		b.WriteString(mutf7Enc.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}
