// Package imapmaildir adapts internal/maildir to the storage interface of
// internal/imapserver. It only converts: flags between maildir letters
// plus keyword lists and IMAP flag strings, and storage errors to the
// server's error values. Invariant: no protocol text and no sockets here.
package imapmaildir

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

// Store implements imapserver.Store over a maildir.
type Store struct {
	M *maildir.Maildir
	// CheckAllFolders computes \Marked for every folder
	// (IMAP_CHECK_ALL_FOLDERS=1), not just INBOX.
	CheckAllFolders bool
	// User and Groups identify the session for ACLs (AUTHENTICATED and
	// the account's group= options).
	User   string
	Groups []string
}

// New wraps an opened maildir.
func New(m *maildir.Maildir) *Store { return &Store{M: m} }

// mapErr converts storage errors to the server's (keeping the text).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	pairs := []struct{ from, to error }{
		{maildir.ErrInvalidName, imapserver.ErrInvalidName},
		{maildir.ErrNoSuchFolder, imapserver.ErrNoSuchMailbox},
		{maildir.ErrFolderExists, imapserver.ErrExists},
		{maildir.ErrInboxExists, imapserver.ErrInboxExists},
		{maildir.ErrCannotDelete, imapserver.ErrCannotDelete},
		{maildir.ErrInboxRename, imapserver.ErrInboxRename},
		{maildir.ErrOverQuota, imapserver.ErrOverQuota},
		{maildir.ErrBadKeyword, imapserver.ErrBadKeyword},
		{maildir.ErrReadOnly, imapserver.ErrPermission},
		{maildir.ErrNoSuchMessage, imapserver.ErrNoSuchMessage},
	}
	for _, p := range pairs {
		if errors.Is(err, p.from) {
			return &wrapped{to: p.to, err: err}
		}
	}
	return err
}

type wrapped struct{ to, err error }

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.to, w.err} }

// specialUse maps Courier's default folder names to RFC 6154 attributes.
var specialUse = map[string]string{
	"INBOX.Sent": `\Sent`, "INBOX.Drafts": `\Drafts`, "INBOX.Trash": `\Trash`,
	"INBOX.Junk": `\Junk`, "INBOX.Spam": `\Junk`,
}

// Folders implements imapserver.Store.
func (s *Store) Folders() ([]imapserver.FolderInfo, error) {
	l, err := s.M.ListFolders()
	if err != nil {
		return nil, err
	}
	out := make([]imapserver.FolderInfo, 0, len(l))
	for _, f := range l {
		fi := imapserver.FolderInfo{Name: f.Name, NoSelect: f.NoSelect, Children: f.HasChildren, Marked: -1, SpecialUse: specialUse[f.Name]}
		if !f.NoSelect && (f.Name == "INBOX" || s.CheckAllFolders) {
			if u, err := s.M.HasUnseen(f.Name); err == nil {
				fi.Marked = 0
				if u {
					fi.Marked = 1
				}
			}
		}
		out = append(out, fi)
	}
	return out, nil
}

func (s *Store) Create(name string) error         { return mapErr(s.M.CreateFolder(name)) }
func (s *Store) Delete(name string) error         { return mapErr(s.M.DeleteFolder(name)) }
func (s *Store) Rename(from, to string) error     { return mapErr(s.M.RenameFolder(from, to)) }
func (s *Store) Subscriptions() ([]string, error) { return s.M.Subscriptions() }
func (s *Store) Subscribe(name string) error      { return mapErr(s.M.Subscribe(name)) }
func (s *Store) Unsubscribe(name string) error    { return mapErr(s.M.Unsubscribe(name)) }
func (s *Store) Close() error                     { return nil }

// Exists implements imapserver.Store.
func (s *Store) Exists(name string) bool { return s.M.FolderExists(name) }

// Status implements imapserver.Store.
func (s *Store) Status(name string) (imapserver.StatusInfo, error) {
	st, err := s.M.Status(name)
	if err != nil {
		return imapserver.StatusInfo{}, mapErr(err)
	}
	return imapserver.StatusInfo{Messages: st.Messages, Recent: st.Recent, Unseen: st.Unseen, UIDNext: st.UIDNext, UIDValidity: st.UIDValidity}, nil
}

// Open implements imapserver.Store.
func (s *Store) Open(name string, readOnly bool) (imapserver.Mailbox, error) {
	f, err := s.M.OpenFolder(name, readOnly)
	if err != nil {
		return nil, mapErr(err)
	}
	return &Mailbox{f: f, scanned: true}, nil
}

// SplitFlags converts IMAP flags to maildir letters and keywords.
func SplitFlags(flags []string) (maildir.Flags, []string) {
	var f maildir.Flags
	var kws []string
	for _, x := range flags {
		switch strings.ToLower(x) {
		case `\seen`:
			f |= maildir.FlagSeen
		case `\answered`:
			f |= maildir.FlagAnswered
		case `\flagged`:
			f |= maildir.FlagFlagged
		case `\deleted`:
			f |= maildir.FlagDeleted
		case `\draft`:
			f |= maildir.FlagDraft
		default:
			if !strings.HasPrefix(x, `\`) {
				kws = append(kws, x)
			}
		}
	}
	return f, kws
}

// JoinFlags converts maildir letters and keywords to IMAP flags.
func JoinFlags(f maildir.Flags, kws []string) []string {
	out := make([]string, 0, 5+len(kws))
	for _, p := range systemFlags {
		if f.Has(p.bit) {
			out = append(out, p.name)
		}
	}
	return append(out, kws...)
}

// systemFlags in Courier's FETCH order (reference §4.5).
var systemFlags = [5]struct {
	bit  maildir.Flags
	name string
}{{maildir.FlagDraft, `\Draft`}, {maildir.FlagFlagged, `\Flagged`}, {maildir.FlagAnswered, `\Answered`}, {maildir.FlagSeen, `\Seen`}, {maildir.FlagDeleted, `\Deleted`}}

// flagTable interns the IMAP flag lists handed to the server: one shared,
// read-only slice per distinct combination of system flags and keywords,
// instead of one allocation per message per rescan (a 100,000-message
// folder has a handful of combinations). The slices have no spare
// capacity, so an append by a user copies; the server never edits a flag
// list in place (it builds new ones for STORE and \Seen updates).
type flagTable struct {
	sys [32][]string        // no keywords, by the 5 system flag bits
	kw  map[string][]string // with keywords, by sysKey+keywords
	buf []byte
}

// maxInterned bounds flagTable.kw; past it lists are built per message.
const maxInterned = 4096

func sysIndex(f maildir.Flags) int {
	i := 0
	for k, p := range systemFlags {
		if f.Has(p.bit) {
			i |= 1 << k
		}
	}
	return i
}

// get returns the shared list for f and kws.
func (t *flagTable) get(f maildir.Flags, kws []string) []string {
	si := sysIndex(f)
	if len(kws) == 0 {
		if l := t.sys[si]; l != nil {
			return l
		}
		l := JoinFlags(f, nil)
		l = l[:len(l):len(l)]
		t.sys[si] = l
		return l
	}
	t.buf = append(t.buf[:0], byte(si))
	for _, k := range kws {
		t.buf = append(t.buf, 0)
		t.buf = append(t.buf, k...)
	}
	if l, ok := t.kw[string(t.buf)]; ok {
		return l
	}
	l := JoinFlags(f, kws)
	l = l[:len(l):len(l)]
	if t.kw == nil {
		t.kw = map[string][]string{}
	}
	if len(t.kw) < maxInterned {
		t.kw[string(t.buf)] = l
	}
	return l
}

// Append implements imapserver.Store.
func (s *Store) Append(name string, flags []string, date time.Time, r io.Reader) (uint32, uint32, error) {
	f, kws := SplitFlags(flags)
	res, err := s.M.Append(name, r, f, kws, date)
	if err != nil {
		return 0, 0, mapErr(err)
	}
	return res.UIDValidity, res.UID, nil
}

// Quota implements imapserver.Store.
func (s *Store) Quota() (imapserver.QuotaInfo, error) {
	u, err := s.M.QuotaUsage()
	if err != nil {
		return imapserver.QuotaInfo{}, err
	}
	if u.Spec.IsZero() {
		return imapserver.QuotaInfo{}, nil
	}
	return imapserver.QuotaInfo{Defined: true, Bytes: u.Bytes, BytesLimit: u.Spec.Bytes, Messages: u.Count, MessageLimit: u.Spec.Count}, nil
}

// Mailbox implements imapserver.Mailbox over a maildir.Folder.
type Mailbox struct {
	f    *maildir.Folder
	msgs []imapserver.Message
	// scanned: the folder was just scanned by Open, so the first Rescan
	// (SELECT's) need not scan again.
	scanned bool
	// crlf caches RFC822.SIZE per UID (message files never change
	// content under one name, §9.1).
	crlf map[uint32]int64
	// gone keeps the INTERNALDATE of messages whose files vanished
	// (expunged by another session): this session may still show them
	// until it can send the EXPUNGE (RFC 3501 §7.4.1). Bounded by
	// maxGone.
	gone map[uint32]time.Time
	// stale: msgs misses our own changes (SetFlags, Expunge, MoveTo).
	stale bool
	// appended: AppendSelf already put its message into msgs; the
	// next Rescan skips the directory scan (selfappend.go).
	appended bool
	// flags interns the Flags lists of msgs.
	flags flagTable
}

func (b *Mailbox) UIDValidity() uint32 { return b.f.UIDValidity() }
func (b *Mailbox) UIDNext() uint32     { return b.f.UIDNext() }
func (b *Mailbox) Close() error        { return b.f.Close() }

// AfterReply implements imapserver.AfterReplier: the folder's deferred
// snapshot-cache write and directory fsyncs (maildir.Folder.SaveDeferred).
func (b *Mailbox) AfterReply() { b.f.SaveDeferred() }

// Rescan implements imapserver.Mailbox. INTERNALDATE is left zero when
// the folder has not stat'ed the file yet: the server asks InternalDate
// on demand, so SELECT costs no stat per message. The message list is
// rebuilt only when something changed: unchanged, it is reused; with
// only new messages (e.g. after an APPEND) they are appended. Our own
// flag changes and expunges are not reported by the folder as changes,
// so they mark the list stale.
func (b *Mailbox) Rescan() error {
	if b.appended {
		b.appended = false
		return nil
	}
	if b.scanned {
		b.scanned = false
		b.msgs = b.all()
		return nil
	}
	ch, err := b.f.Rescan()
	if err != nil {
		return err
	}
	if ch.UIDValidityChanged {
		return imapserver.ErrUIDValidityChanged
	}
	b.rememberGone(ch)
	quiet := !b.stale && b.msgs != nil && len(ch.Vanished) == 0 && len(ch.Changed) == 0 && !ch.KeywordsChanged
	if quiet && len(ch.New) == 0 {
		return nil
	}
	if quiet && (len(b.msgs) == 0 || ch.New[0].UID > b.msgs[len(b.msgs)-1].UID) && len(b.msgs)+len(ch.New) == b.f.Len() {
		// A fresh slice: the server may still hold the old one.
		msgs := make([]imapserver.Message, len(b.msgs), len(b.msgs)+len(ch.New))
		copy(msgs, b.msgs)
		b.msgs = append(msgs, b.toMessages(ch.New)...)
		return nil
	}
	b.stale = false
	b.msgs = b.all()
	return nil
}

func (b *Mailbox) toMessages(infos []maildir.MessageInfo) []imapserver.Message {
	msgs := make([]imapserver.Message, len(infos))
	for i, m := range infos {
		msgs[i] = imapserver.Message{UID: m.UID, Flags: b.flags.get(m.Flags, m.Keywords), Recent: m.Recent, InternalDate: m.InternalDate}
	}
	return msgs
}

// all lists the folder's messages straight from its state (no
// MessageInfo copies), with interned flag lists.
func (b *Mailbox) all() []imapserver.Message {
	msgs := make([]imapserver.Message, 0, b.f.Len())
	b.f.Each(func(uid uint32, fl maildir.Flags, kws []string, recent bool, mtime time.Time) {
		msgs = append(msgs, imapserver.Message{UID: uid, Flags: b.flags.get(fl, kws), Recent: recent, InternalDate: mtime})
	})
	return msgs
}

// InternalDate implements imapserver.InternalDater: the file's mtime,
// stat'ed once and then cached by the folder. For a file that vanished
// before it was stat'ed the date is unknowable (an APPEND's INTERNALDATE
// lives only in the mtime; the time in the name is the upload time), so
// this fails with imapserver.ErrNoSuchMessage and FETCH leaves the
// message out (RFC 2180 §4.1.3) instead of inventing a date: imaptest's
// stress run caught both the zero time and the name's time as
// "INTERNALDATE changed".
func (b *Mailbox) InternalDate(uid uint32) (time.Time, error) {
	if m, ok := b.f.Message(uid); ok {
		if !m.InternalDate.IsZero() {
			return m.InternalDate, nil
		}
		t, err := b.f.InternalDate(uid)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: %v", imapserver.ErrNoSuchMessage, err)
		}
		return t, nil
	}
	if t, ok := b.gone[uid]; ok {
		return t, nil
	}
	t, err := b.f.InternalDate(uid)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", imapserver.ErrNoSuchMessage, err)
	}
	return t, nil
}

// maxGone bounds Mailbox.gone; past it the map starts over (a date
// asked for after that is the zero time, as before).
const maxGone = 10000

func (b *Mailbox) rememberGone(ch maildir.Changes) {
	for i, uid := range ch.Vanished {
		if i >= len(ch.VanishedInfo) {
			break
		}
		if b.gone == nil || len(b.gone) >= maxGone {
			b.gone = map[uint32]time.Time{}
		}
		// Only dates that were read from the file are worth keeping
		// (see InternalDate).
		if d := ch.VanishedInfo[i].InternalDate; !d.IsZero() {
			b.gone[uid] = d
		}
	}
}

func (b *Mailbox) Messages() []imapserver.Message { return b.msgs }

// OpenMessage implements imapserver.Mailbox (raw reads, one fstat:
// maildir/rawread.go).
func (b *Mailbox) OpenMessage(uid uint32) (imapserver.MessageReader, error) {
	r, err := b.f.OpenRaw(uid)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return r, nil
}

// CRLFSize implements imapserver.CRLFSizer: the stored size plus one
// per LF (the wire form), counted once per message with one reused
// buffer and cached per UID.
func (b *Mailbox) CRLFSize(uid uint32) (int64, error) {
	if n, ok := b.crlf[uid]; ok {
		return n, nil
	}
	// One read of the file with raw system calls; it also caches the
	// INTERNALDATE (maildir/rawread.go).
	n, _, err := b.f.SizeAndDate(uid)
	if err != nil {
		return 0, err
	}
	if b.crlf == nil {
		b.crlf = make(map[uint32]int64)
	}
	b.crlf[uid] = n
	return n, nil
}

// DeferSync implements imapserver.BatchSyncer.
func (b *Mailbox) DeferSync() { b.f.DeferSync() }

// Flush implements imapserver.BatchSyncer.
func (b *Mailbox) Flush() error { return mapErr(b.f.Flush()) }

// SetFlags implements imapserver.Mailbox.
func (b *Mailbox) SetFlags(uid uint32, flags []string) error {
	f, kws := SplitFlags(flags)
	b.stale = true
	return mapErr(b.f.SetFlags(uid, f, kws))
}

// ChangeFlags implements imapserver.FlagChanger: the IMAP flags that old
// and new differ in are added or removed on the file's current flags;
// keywords are replaced by new's only when they differ from old's
// (Courier's keywords are last-writer-wins per message).
func (b *Mailbox) ChangeFlags(uid uint32, old, new []string) ([]string, error) {
	of, okw := SplitFlags(old)
	nf, nkw := SplitFlags(new)
	b.stale = true
	// new is old with the change applied (STORE, FETCH's \Seen), so its
	// keywords are old's in the same order unless the change touched them;
	// a FLAGS that only reorders them is taken as a change, which merely
	// writes the same set.
	kwChanged := !slices.EqualFunc(okw, nkw, strings.EqualFold)
	f, kws, err := b.f.ChangeFlags(uid, nf&^of, of&^nf, nkw, kwChanged)
	if err != nil {
		return nil, mapErr(err)
	}
	return JoinFlags(f, kws), nil
}

// Expunge implements imapserver.Mailbox.
func (b *Mailbox) Expunge(uids []uint32) error {
	b.stale = true
	_, err := b.f.Expunge(uids)
	return mapErr(err)
}

// CopyTo implements imapserver.Mailbox.
func (b *Mailbox) CopyTo(dest string, uids []uint32) (uint32, []uint32, []uint32, error) {
	uv, src, dst, err := b.f.CopyTo(dest, uids)
	return uv, src, dst, mapErr(err)
}

// MoveTo implements imapserver.Mover.
func (b *Mailbox) MoveTo(dest string, uids []uint32) (uint32, []uint32, []uint32, error) {
	b.stale = true
	uv, src, dst, err := b.f.MoveTo(dest, uids)
	return uv, src, dst, mapErr(err)
}

// Watch implements imapserver.Mailbox.
func (b *Mailbox) Watch() (<-chan struct{}, func(), error) { return b.f.Watch() }
