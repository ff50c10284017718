package mime

import (
	"errors"
	"io"
)

// Limits that keep parsing of hostile messages bounded.
const (
	// MaxDepth is the deepest multipart / message/rfc822 nesting descended
	// into; deeper parts are reported as opaque leaves.
	MaxDepth = 50
	// MaxParts is the most parts one message may produce; further parts are
	// folded into their parent's body.
	MaxParts = 10000
	// MaxHeaderBytes bounds the bytes read of any single header block.
	MaxHeaderBytes = 1 << 20
)

// ErrHeaderTooLarge is returned by ReadHeader when the header block is
// longer than MaxHeaderBytes.
var ErrHeaderTooLarge = errors.New("mime: header too large")

// Param is one Content-Type or Content-Disposition parameter. Names and
// values keep the case found in the message (reference §4.5).
type Param struct {
	Name, Value string
}

// Part is one node of a message's MIME tree. Offsets are raw offsets into
// the stored (LF) file; sizes and line counts are for the CRLF form.
//
// The root Part returned by Parse is the whole message: its header is the
// message header and Envelope is set. A multipart part has Children (its
// body parts, numbered 1..n). A message/rfc822 part has Message, the
// embedded message, itself a root-like Part with Envelope set.
type Part struct {
	HeaderStart int64 // raw offset of the first header byte
	BodyStart   int64 // raw offset of the first body byte (after the blank line)
	BodyEnd     int64 // raw offset one past the last body byte

	HeaderSize int64 // CRLF size of the header, including the blank line
	BodySize   int64 // CRLF size of the body
	BodyLines  int64 // CRLF lines of the body (a final partial line counts)

	// Type and Subtype are lower case; when the part has no Content-Type
	// they hold the RFC 2045 default (text/plain, or message/rfc822 inside
	// multipart/digest) and HasContentType is false.
	Type, Subtype  string
	Params         []Param // in header order; charset=us-ascii default when HasContentType is false and type is text/plain
	HasContentType bool

	ID          string // Content-ID, raw; "" means NIL
	Description string // Content-Description, raw; "" means NIL
	// Encoding is the Content-Transfer-Encoding as written (case kept);
	// "" when absent, which BODYSTRUCTURE reports as "7BIT".
	Encoding          string
	Disposition       string  // Content-Disposition value, "" means NIL
	DispositionParams []Param // Content-Disposition parameters
	Language          []string
	Location          string // Content-Location, unfolded
	MD5               string // Content-MD5

	Envelope *Envelope // set on the root and on Message parts
	Children []*Part   // multipart body parts
	Message  *Part     // embedded message of a message/rfc822 part

	headerLines int64 // lines of the header block, including the blank line
}

// IsMultipart reports whether p is a multipart/* part.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// IsMessage reports whether p is a message/rfc822 part with a parsed
// embedded message.
func (p *Part) IsMessage() bool { return p.Message != nil }

// Size returns the CRLF size of header plus body.
func (p *Part) Size() int64 { return p.HeaderSize + p.BodySize }

// Header reads the header block of p from r (bounded by MaxHeaderBytes).
func (p *Part) Header(r io.ReaderAt) (Header, error) {
	return ReadHeader(io.NewSectionReader(r, p.HeaderStart, p.BodyStart-p.HeaderStart))
}

// Body returns a reader of p's raw (LF, still transfer-encoded) body.
func (p *Part) Body(r io.ReaderAt) *io.SectionReader {
	return io.NewSectionReader(r, p.BodyStart, p.BodyEnd-p.BodyStart)
}

// Walk calls fn for p and every descendant, depth first, in section order
// (Message parts are visited as children of their message/rfc822 part).
// Walk stops early when fn returns false.
func (p *Part) Walk(fn func(*Part) bool) bool {
	if !fn(p) {
		return false
	}
	if p.Message != nil && !p.Message.Walk(fn) {
		return false
	}
	for _, c := range p.Children {
		if !c.Walk(fn) {
			return false
		}
	}
	return true
}

// Parse reads the message stored in r (size bytes, LF or CRLF line ends)
// and returns its MIME tree. It reads the file once, sequentially through
// a bounded buffer, keeping only offsets and header fields. Errors are
// only I/O errors; malformed MIME is tolerated.
func Parse(r io.ReaderAt, size int64) (*Part, error) {
	return parse(r, size)
}
