// Package pop3maildir adapts the storage package's POP3 view of a maildir
// (maildir.POP3Drop: Courier's courierpop3dsizelist order, sizes and UIDLs,
// reference §9.10) to the pop3.Maildrop interface.
//
// Invariants: this package adds no file access of its own; every file
// operation is internal/maildir's. A message file that vanished since login
// (another client deleted it) is reported as pop3.ErrGone so the protocol
// answers -ERR and goes on. The drop holds the POP3 lock from Open until
// Close, which gives [IN-USE] to a second session (RFC 2449 §8.1.1).
package pop3maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"gocourier/internal/maildir"
	"gocourier/internal/pop3"
)

// ErrInUse means another POP3 session holds the maildrop.
var ErrInUse = maildir.ErrLocked

// Drop is an open maildrop.
type Drop struct {
	d    *maildir.POP3Drop
	msgs []pop3.MessageInfo
}

var _ pop3.Maildrop = (*Drop)(nil)

// Open opens the INBOX of the maildir at root (normally "." after pop3d's
// chdir) and takes the POP3 lock. A lock held elsewhere gives an error
// for which errors.Is(err, ErrInUse) is true.
func Open(root string, opts maildir.Options) (*Drop, error) {
	d, err := maildir.OpenPOP3(root, opts)
	if err != nil {
		return nil, fmt.Errorf("pop3 maildrop %s: %w", root, err)
	}
	ms := d.Messages()
	out := make([]pop3.MessageInfo, len(ms))
	for i, m := range ms {
		out[i] = pop3.MessageInfo{Size: m.Size, UIDL: m.UIDL, UTF8: m.IsUTF8}
	}
	return &Drop{d: d, msgs: out}, nil
}

// Messages returns the messages as fixed at Open.
func (d *Drop) Messages() []pop3.MessageInfo { return d.msgs }

// Open opens message i for reading.
func (d *Drop) Open(i int) (io.ReadCloser, error) {
	f, err := d.d.Open(i)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, maildir.ErrNoSuchMessage) {
			return nil, fmt.Errorf("message %d: %w", i+1, pop3.ErrGone)
		}
		return nil, err
	}
	return f, nil
}

// MarkSeen sets the Seen flag after a RETR, as Courier does.
func (d *Drop) MarkSeen(i int) { d.d.MarkSeen(i) }

// Delete removes messages at QUIT.
func (d *Drop) Delete(idx []int) error { return d.d.Delete(idx) }

// Close releases the lock; calling it again does nothing.
func (d *Drop) Close() error { return d.d.Close() }

// Release is Close, for pop3.Releaser: QUIT lets the maildrop go before
// it answers.
func (d *Drop) Release() error { return d.d.Close() }
