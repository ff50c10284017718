// Package mime parses stored messages into a MIME tree and serializes the
// IMAP views of it (ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]).
//
// Invariants:
//   - Messages are read through an io.ReaderAt, in bounded buffered chunks.
//     A Part keeps offsets, sizes and the few header fields IMAP needs,
//     never a body. Memory is bounded by MaxHeaderBytes per header read,
//     MaxDepth nesting and MaxParts parts, whatever the message size.
//   - Stored files use LF line ends (Courier maildir). Every size this
//     package reports is the size of the CRLF form IMAP sends: a bare LF
//     counts as CRLF, an existing CRLF stays CRLF (RFC 3501 §2.3.1,
//     reference §4.5 "RFC822.SIZE"). Readers returned by FetchSection
//     produce exactly that many bytes.
//   - Hostile input never panics: malformed structure degrades to a
//     text/plain leaf (RFC 2045 §5.2 defaults) and parse limits stop
//     descending instead of failing.
//
// Where Courier deviates from the RFCs (reference §13 item 9) this package
// follows the RFC: a missing Content-Transfer-Encoding is "7BIT" (RFC 2045
// §6.1), a missing Content-Type is text/plain; charset=us-ascii (RFC 2045
// §5.2), group names are kept in ENVELOPE (RFC 3501 §7.4.2), and part
// sizes include the final line's CRLF before a boundary only when the
// body really contains it (RFC 2046 §5.1.1: the CRLF before a boundary
// belongs to the boundary).
package mime
