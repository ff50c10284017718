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
// Where Courier 5.0.13 deviates from the RFCs (reference §4.5, §13 item 9)
// this package follows the RFC, and the differences a client can see are:
//   - a missing Content-Transfer-Encoding is "7BIT" (RFC 2045 §6.1);
//     Courier says "8bit";
//   - a missing Content-Type gives ("charset" "us-ascii") (RFC 2045 §5.2);
//     Courier says NIL;
//   - ENVELOPE groups keep their name, (NIL NIL "name" NIL) ... (NIL NIL
//     NIL NIL) (RFC 3501 §7.4.2); Courier sends (NIL NIL "" NIL) twice;
//   - the CRLF before a boundary belongs to the boundary (RFC 2046
//     §5.1.1), so a part ending in a blank line is one byte shorter than
//     Courier's, which ends such a section with a lone CR;
//   - single-part extension data ends with body-fld-loc (RFC 3501 §9),
//     one more NIL than Courier sends;
//   - a missing domain is sent as ".MISSING-HOST-NAME." (as UW imapd
//     does), since a NIL or empty host marks a group start.
//
// Everything else (lower-case type names, parameter case kept, raw
// encoded-words in ENVELOPE, {0} for missing sections, HEADER.FIELDS
// echoed quoted in the case sent) matches Courier.
package mime
