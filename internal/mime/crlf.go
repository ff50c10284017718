package mime

import "io"

// CRLFReader returns a reader producing the bytes of r with every bare LF
// turned into CRLF; an existing CRLF is passed unchanged.
func CRLFReader(r io.Reader) io.Reader {
	return newCRLFReader(r)
}

// CRLFSize reads r to EOF and returns the size of its CRLF form and its
// number of lines (a final line without a newline counts).
func CRLFSize(r io.Reader) (size, lines int64, err error) {
	return crlfSize(r)
}
