package mime

// Address is one entry of an ENVELOPE address list (RFC 3501 §7.4.2).
// Empty strings are sent as NIL. Group syntax (RFC 5322 §3.4) is encoded
// with marker entries: GroupStart has the group name in Mailbox and a NIL
// host; GroupEnd is all NIL.
type Address struct {
	Name    string // display name, raw (encoded-words kept, as Courier does)
	ADL     string // source route, "@a,@b" form
	Mailbox string // local part (or group name when GroupStart)
	Host    string // domain; "" for a missing domain (sent as MissingHost)
	// GroupStart and GroupEnd mark the RFC 3501 group start/end entries.
	GroupStart, GroupEnd bool
}

// Envelope holds the ENVELOPE fields of a message (RFC 3501 §7.4.2).
// Date, Subject, InReplyTo and MessageID are the raw unfolded header text,
// not decoded (reference §4.5). Sender and ReplyTo default to From.
type Envelope struct {
	Date, Subject                      string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo, MessageID               string
}

// EnvelopeFromHeader builds the ENVELOPE of a message from its header.
func EnvelopeFromHeader(h Header) *Envelope {
	return envelopeFromHeader(h)
}

// ParseAddressList parses an RFC 5322 address-list (with obsolete forms,
// groups, routes and missing domains) into ENVELOPE address entries.
// It never fails: unparseable text is skipped.
func ParseAddressList(s string) []Address {
	return parseAddressList(s)
}

// AppendIMAP appends the parenthesised ENVELOPE of e to dst.
func (e *Envelope) AppendIMAP(dst []byte) []byte {
	return appendEnvelope(dst, e)
}
