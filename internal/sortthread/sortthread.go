// Package sortthread implements RFC 5256: base subject extraction, the
// SORT keys and comparison, and the THREAD=ORDEREDSUBJECT and
// THREAD=REFERENCES algorithms, producing IMAP response text.
//
// Invariants:
//   - Input messages are given in mailbox order (ascending sequence number,
//     which is also ascending UID); that order is the final tie-break
//     (RFC 5256 §3 SORT, "in the order in which they appear in the
//     mailbox") and is never reversed by REVERSE.
//   - Strings compare with i;ascii-casemap (RFC 4790 §9.2) after the
//     extraction each key defines; addresses compare by the local part
//     (mailbox) of the first address (RFC 5256 §3 CC/FROM/TO).
//   - Nothing here touches messages: callers pass the raw header values.
//
// Differences from Courier 5.0.13 (transcript 08, reference §4.8), where
// this package follows RFC 5256:
//   - a message without a usable Date sorts by its INTERNALDATE (§2.2);
//     Courier sorts it first, as if dated at the epoch;
//   - messages equal under all keys keep mailbox order (§3); Courier
//     lists them in reverse;
//   - ORDEREDSUBJECT makes the later messages of a subject children of the
//     first, "(2 (6)(5))" (§3); Courier prints a chain, "(2 6 5)".
package sortthread

import (
	"errors"
	"time"

	"gocourier/internal/mime"
)

// Message is the per-message input of SORT and THREAD. Header values are
// the raw (unfolded or not) field bodies; "" when the field is absent.
type Message struct {
	ID      uint32    // number to report: sequence number or UID
	Arrival time.Time // INTERNALDATE
	Size    int64     // RFC822.SIZE

	Date, Subject, From, To, Cc      string
	MessageID, InReplyTo, References string
}

// KeyKind is one RFC 5256 sort criterion.
type KeyKind int

// Sort criteria of RFC 5256 §3.
const (
	Arrival KeyKind = iota
	Cc
	Date
	From
	Size
	Subject
	To
)

// Key is a sort criterion with its REVERSE modifier.
type Key struct {
	Kind    KeyKind
	Reverse bool
}

// ErrBadKey is returned by ParseKeys for unknown or misplaced keys.
var ErrBadKey = errors.New("sortthread: bad sort key")

// ParseKeys parses the words of a SORT criteria list, e.g.
// ["REVERSE", "DATE", "SUBJECT"] (case-insensitive). REVERSE must be
// followed by a key; the list must not be empty.
func ParseKeys(words []string) ([]Key, error) {
	return parseKeys(words)
}

// Sort returns the IDs of msgs ordered by keys (RFC 5256 §3).
func Sort(msgs []Message, keys []Key) []uint32 {
	return sortMessages(msgs, keys)
}

// BaseSubject extracts the RFC 5256 §2.1 base subject of a raw Subject
// value: encoded-words are decoded to UTF-8, white space is collapsed,
// and subj-trailer, subj-leader, [blob] prefixes and [Fwd: ...] wrappers
// are removed. The result is not case-folded.
func BaseSubject(subject string) string {
	b, _ := baseSubject(subject)
	return b
}

// BaseSubjectReply is BaseSubject that also reports whether the subject
// looked like a reply or forward (RFC 5256 §2.1 step 4/5, used by
// THREAD=REFERENCES subject merging).
func BaseSubjectReply(subject string) (string, bool) {
	return baseSubject(subject)
}

// SentDate returns the RFC 5256 §2.2 sent date of m: its Date header, or
// when that is missing or invalid, its arrival time.
func SentDate(m *Message) time.Time {
	return sentDate(m)
}

// Thread is one node of a THREAD result. ID 0 marks a dummy node (a
// missing parent, kept only when it has several children).
type Thread struct {
	ID       uint32
	Children []*Thread
}

// ErrBadAlgorithm is returned by Run for an unknown algorithm name.
var ErrBadAlgorithm = errors.New("sortthread: unknown threading algorithm")

// Run threads msgs with the named algorithm ("ORDEREDSUBJECT" or
// "REFERENCES", case-insensitive).
func Run(algorithm string, msgs []Message) ([]*Thread, error) {
	return run(algorithm, msgs)
}

// OrderedSubject implements THREAD=ORDEREDSUBJECT (RFC 5256 §3).
func OrderedSubject(msgs []Message) []*Thread { return orderedSubject(msgs) }

// References implements THREAD=REFERENCES (RFC 5256 §3, steps 1-6).
func References(msgs []Message) []*Thread { return references(msgs) }

// Format renders threads as the data of a THREAD response, e.g.
// "(1 2)(3 (4)(5))" (RFC 5256 §4); "" for no threads.
func Format(threads []*Thread) string { return format(threads) }

// FromHeader fills a Message from a message header (the fields SORT and
// THREAD use) and the mailbox data the caller knows.
func FromHeader(id uint32, arrival time.Time, size int64, h mime.Header) Message {
	return Message{
		ID: id, Arrival: arrival, Size: size,
		Date: h.Get("Date"), Subject: h.Get("Subject"),
		From: h.Get("From"), To: h.Get("To"), Cc: h.Get("Cc"),
		MessageID: h.Get("Message-ID"), InReplyTo: h.Get("In-Reply-To"), References: h.Get("References"),
	}
}
