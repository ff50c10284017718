package mime

import "io"

// Section is a parsed FETCH BODY[...] section (RFC 3501 §6.4.5).
type Section struct {
	// Part is the part number path; empty for the whole message.
	Part []int
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME" (upper case).
	Specifier string
	// Fields are the HEADER.FIELDS(.NOT) names, in the case sent.
	Fields []string
	// Partial selects the octets Start..Start+Count of the section.
	Partial      bool
	Start, Count int64
}

// ParseSection parses the text between the brackets of BODY[...], for
// example "", "1.2", "HEADER", "1.HEADER.FIELDS (From To)", "2.MIME".
// Field names may be atoms or quoted strings.
func ParseSection(spec string) (Section, error) {
	return parseSection(spec)
}

// ParsePartial parses a partial specifier "<start.count>".
func ParsePartial(s string) (start, count int64, err error) {
	return parsePartial(s)
}

// String returns the section as echoed in a FETCH response, without the
// partial, e.g. `1.HEADER.FIELDS ("From" "To")` (field names quoted in the
// case sent, reference §4.5).
func (s Section) String() string {
	return sectionString(s)
}

// FetchSection returns a reader producing the CRLF bytes of section s of
// the message in r whose tree is root, and their count. The reader streams
// from r; only HEADER.FIELDS(.NOT) buffers the (bounded) selected fields.
// A section that does not exist gives an empty reader and size 0, as
// Courier answers {0} (reference §4.5).
func FetchSection(r io.ReaderAt, root *Part, s Section) (io.Reader, int64, error) {
	return fetchSection(r, root, s)
}

// Resolve finds the part addressed by the part number path, or nil.
// For message/rfc822 parts, numbering descends into the embedded message
// (RFC 3501 §6.4.5).
func Resolve(root *Part, path []int) *Part {
	return resolve(root, path)
}
