package mime

func envelopeFromHeader(h Header) *Envelope {
	e := &Envelope{
		Date:      h.Get("Date"),
		Subject:   h.Get("Subject"),
		From:      parseAddressList(h.Get("From")),
		Sender:    parseAddressList(h.Get("Sender")),
		ReplyTo:   parseAddressList(h.Get("Reply-To")),
		To:        parseAddressList(h.Get("To")),
		Cc:        parseAddressList(h.Get("Cc")),
		Bcc:       parseAddressList(h.Get("Bcc")),
		InReplyTo: h.Get("In-Reply-To"),
		MessageID: h.Get("Message-ID"),
	}
	// RFC 3501 §7.4.2: sender and reply-to default to from.
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

func appendEnvelope(dst []byte, e *Envelope) []byte {
	if e == nil {
		e = &Envelope{}
	}
	dst = append(dst, '(')
	dst = AppendNString(dst, e.Date)
	dst = append(dst, ' ')
	dst = AppendNString(dst, e.Subject)
	for _, l := range [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		dst = append(dst, ' ')
		dst = appendAddressList(dst, l)
	}
	dst = append(dst, ' ')
	dst = AppendNString(dst, e.InReplyTo)
	dst = append(dst, ' ')
	dst = AppendNString(dst, e.MessageID)
	return append(dst, ')')
}

// MissingHost is sent as the host of an address that has no domain.
const MissingHost = ".MISSING-HOST-NAME."

func appendAddressList(dst []byte, l []Address) []byte {
	if len(l) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	for _, a := range l {
		switch {
		case a.GroupEnd:
			dst = append(dst, "(NIL NIL NIL NIL)"...)
		case a.GroupStart:
			dst = append(dst, "(NIL NIL "...)
			dst = AppendString(dst, a.Mailbox)
			dst = append(dst, " NIL)"...)
		default:
			dst = append(dst, '(')
			dst = AppendNString(dst, a.Name)
			dst = append(dst, ' ')
			dst = AppendNString(dst, a.ADL)
			dst = append(dst, ' ')
			// Mailbox and host are never NIL or empty for a real address:
			// an empty host means a group start (RFC 3501 §7.4.2), and
			// clients (go-imap among them) read "" like NIL. A missing
			// domain gets the placeholder UW imapd uses.
			dst = AppendString(dst, a.Mailbox)
			dst = append(dst, ' ')
			host := a.Host
			if host == "" {
				host = MissingHost
			}
			dst = AppendString(dst, host)
			dst = append(dst, ')')
		}
	}
	return append(dst, ')')
}
