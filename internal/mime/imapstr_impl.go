package mime

import "strconv"

// maxQuoted is the longest string sent quoted; longer ones are literals.
const maxQuoted = 1024

func appendString(dst []byte, s string) []byte {
	if len(s) <= maxQuoted {
		safe, plain := true, true
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == 0 || c == '\r' || c == '\n' || c >= 0x80:
				safe = false
			case c == '"' || c == '\\':
				plain = false
			}
		}
		if safe && plain {
			// The common case: copied in one piece.
			dst = append(dst, '"')
			dst = append(dst, s...)
			return append(dst, '"')
		}
		if safe {
			dst = append(dst, '"')
			for i := 0; i < len(s); i++ {
				if s[i] == '"' || s[i] == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, s[i])
			}
			return append(dst, '"')
		}
	}
	dst = append(dst, '{')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, "}\r\n"...)
	return append(dst, s...)
}
