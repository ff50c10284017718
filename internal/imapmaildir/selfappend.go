package imapmaildir

import (
	"io"
	"time"

	"gocourier/internal/maildir"
)

// AppendSelf implements imapserver.SelfAppender: APPEND into the selected
// folder. When the folder could add the message to its state without a
// scan (maildir.Folder.AppendSelf says when), the message list grows by
// that one message and the session's following Rescan is skipped; other
// processes' changes are then reported by the next Rescan, which scans
// (the folder's directory stamps still describe the state before the
// append). Otherwise the next Rescan scans as usual.
func (b *Mailbox) AppendSelf(flags []string, date time.Time, r io.Reader) (uint32, uint32, error) {
	f, kws := SplitFlags(flags)
	uidv, uid, known, err := b.f.AppendSelf(r, f, kws, date)
	if err != nil {
		return 0, 0, mapErr(err)
	}
	if !known || b.scanned || b.msgs == nil {
		return uidv, uid, nil
	}
	if b.stale {
		// Our own flag changes or expunges are pending: take the
		// folder's whole state (no directory scan either way).
		b.msgs, b.stale, b.appended = b.all(), false, true
		return uidv, uid, nil
	}
	if m, ok := b.f.Message(uid); ok && len(b.msgs)+1 == b.f.Len() {
		// Growing in place is safe: a slice the session still holds
		// keeps its length and never sees the new element, and only
		// this adapter appends to msgs. Amortized growth keeps a
		// series of APPENDs from copying the whole list each time.
		b.msgs = append(b.msgs, b.toMessages([]maildir.MessageInfo{m})...)
		b.appended = true
	}
	return uidv, uid, nil
}
