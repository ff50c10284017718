package mime

import "strconv"

// maxQuoted is the longest string sent quoted; longer ones are literals.
const maxQuoted = 1024

func appendString(dst []byte, s string) []byte {
	if len(s) <= maxQuoted {
		safe := true
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == 0 || c == '\r' || c == '\n' || c >= 0x80 {
				safe = false
				break
			}
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
