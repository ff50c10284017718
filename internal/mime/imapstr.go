package mime

// AppendString appends s as an IMAP string: a quoted string when it is
// short and holds only 7-bit text without CR, LF, NUL; otherwise a
// literal {n}\r\n<bytes> (RFC 3501 §4.3).
func AppendString(dst []byte, s string) []byte {
	return appendString(dst, s)
}

// AppendNString is AppendString, with NIL for "".
func AppendNString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "NIL"...)
	}
	return appendString(dst, s)
}
