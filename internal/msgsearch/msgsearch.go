// Package msgsearch holds the text matching the IMAP SEARCH evaluator runs
// per message: header, body and text substring search with RFC 2047 and
// Content-Transfer-Encoding decoding and charset conversion, SEARCH
// CHARSET handling and Date header parsing.
//
// Invariants:
//   - Matching is case-insensitive substring matching on UTF-8 text after
//     Unicode simple case folding (RFC 3501 §6.4.4, as Courier's unicode
//     folding does; reference §4.8).
//   - Bodies are streamed: memory per search is bounded by a small window
//     (the decoded needle length plus a fixed buffer), never the message.
//   - Only text/* parts (and message/rfc822 headers) are searched for BODY;
//     undecodable charsets are read as bytes of ISO-8859-1 / UTF-8.
package msgsearch

import (
	"errors"
	"io"
	"time"

	"gocourier/internal/mime"
)

// ErrBadCharset is returned for a SEARCH CHARSET this server cannot
// convert; IMAP answers NO [BADCHARSET] (reference §4.8).
var ErrBadCharset = errors.New("msgsearch: unsupported charset")

// ToUTF8 converts b, encoded in the named charset (a SEARCH CHARSET
// argument or a MIME charset), to UTF-8. Unknown charsets give an error
// wrapping ErrBadCharset.
func ToUTF8(charset string, b []byte) (string, error) {
	return toUTF8(charset, b)
}

// Fold returns s case-folded for matching (Unicode simple folding).
func Fold(s string) string { return fold(s) }

// HeaderContains reports whether a field called field (case-insensitive)
// of hdr contains needle (UTF-8) after RFC 2047 decoding and case folding.
// An empty needle matches any message that has the field (RFC 3501 §6.4.4
// HEADER).
func HeaderContains(hdr mime.Header, field, needle string) bool {
	return headerContains(hdr, field, needle)
}

// AnyHeaderContains reports whether any header field (name ": " value,
// decoded) of hdr contains needle.
func AnyHeaderContains(hdr mime.Header, needle string) bool {
	return anyHeaderContains(hdr, needle)
}

// BodyContains reports whether the decoded text of the message body in r
// (size bytes, tree root) contains needle (UTF-8). Transfer encodings
// (base64, quoted-printable) and charsets of text parts are decoded while
// streaming.
func BodyContains(r io.ReaderAt, size int64, root *mime.Part, needle string) (bool, error) {
	return bodyContains(r, size, root, needle)
}

// TextContains reports whether the header or the body contains needle
// (RFC 3501 §6.4.4 TEXT).
func TextContains(r io.ReaderAt, size int64, root *mime.Part, needle string) (bool, error) {
	return textContains(r, size, root, needle)
}

// ParseDate parses an RFC 5322 date-time, including obsolete forms (RFC
// 5322 §4.3: two-digit years, alphabetic zones, missing seconds or
// weekday, comments). It fails for text that has no recognisable date.
func ParseDate(s string) (time.Time, error) {
	return parseDate(s)
}
