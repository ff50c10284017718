package imapmaildir

// Mod-sequences (RFC 7162) are kept by internal/maildir in the folder's
// gocouriermodseq file; these methods only pass them through.

import "gocourier/internal/imapserver"

var (
	_ imapserver.ModSeqMailbox = (*Mailbox)(nil)
	_ imapserver.ModSeqStore   = (*Store)(nil)
)

// EnableModSeq implements imapserver.ModSeqMailbox.
func (b *Mailbox) EnableModSeq() error { return mapErr(b.f.EnableModSeq()) }

// HighestModSeq implements imapserver.ModSeqMailbox.
func (b *Mailbox) HighestModSeq() uint64 { return b.f.HighestModSeq() }

// ModSeq implements imapserver.ModSeqMailbox.
func (b *Mailbox) ModSeq(uid uint32) uint64 { return b.f.ModSeq(uid) }

// VanishedSince implements imapserver.ModSeqMailbox.
func (b *Mailbox) VanishedSince(modseq uint64) ([]uint32, bool) { return b.f.VanishedSince(modseq) }

// HighestModSeq implements imapserver.ModSeqStore (STATUS HIGHESTMODSEQ).
func (s *Store) HighestModSeq(name string) (uint64, error) {
	v, err := s.M.StatusHighestModSeq(name)
	return v, mapErr(err)
}
