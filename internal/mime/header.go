package mime

import (
	"io"
)

// Field is one header field. Value is the raw text after the colon, with
// folding kept (line ends normalised to "\n") and without the final newline.
type Field struct {
	Name  string
	Value string
}

// Header is a parsed header block, fields in order.
type Header struct {
	Fields []Field
}

// ReadHeader reads a header block from r up to and including the blank
// line that ends it (or EOF). It reads at most MaxHeaderBytes and then
// fails with ErrHeaderTooLarge. r may be read past the header end.
// Lines that are not fields (no colon) are skipped, as mail readers do.
func ReadHeader(r io.Reader) (Header, error) {
	return readHeader(r)
}

// Get returns the first field called name (case-insensitive), unfolded
// and trimmed, or "" when there is none.
func (h Header) Get(name string) string {
	for _, f := range h.Fields {
		if equalFold(f.Name, name) {
			return Unfold(f.Value)
		}
	}
	return ""
}

// Has reports whether a field called name exists.
func (h Header) Has(name string) bool {
	for _, f := range h.Fields {
		if equalFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns every field called name, unfolded and trimmed.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h.Fields {
		if equalFold(f.Name, name) {
			out = append(out, Unfold(f.Value))
		}
	}
	return out
}

// Unfold removes folding line breaks (RFC 5322 §2.2.3) and trims
// surrounding white space.
func Unfold(s string) string {
	return unfold(s)
}

// DecodeWords decodes RFC 2047 encoded-words in a header value to UTF-8.
// Unknown charsets and malformed words are left as they are; bytes that
// are not valid UTF-8 outside encoded-words are read as ISO-8859-1.
func DecodeWords(s string) string {
	return decodeWords(s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
