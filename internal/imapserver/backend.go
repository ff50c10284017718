// Package imapserver implements the IMAP4rev1 session state machine
// (RFC 3501 §3) and every command Courier-IMAP 5.0.13 answers (reference
// §3-§5), over the wire layer internal/imapwire and a storage interface
// defined here (Store/Mailbox). It never touches files itself.
//
// Invariants:
//   - One command at a time; all responses of a command are buffered and
//     flushed once (plus before each continuation request).
//   - The session's view of the selected mailbox (sequence number -> UID)
//     changes only when we tell the client: EXPUNGE/EXISTS/FETCH are sent
//     after each command (RFC 3501 §7.4.1 forbids EXPUNGE during FETCH,
//     STORE and SEARCH, so those commands do not report expunges).
//   - Message bodies are streamed from the store; nothing holds a whole
//     message in memory (APPEND literal is passed to the store as a reader).
//   - Error policy (reference §13.1, decided): syntax errors answer
//     "BAD Error in IMAP command received by server." (RFC 3501 §7.1.5)
//     instead of Courier's NO; failures answer NO with Courier's texts.
//     Only the current line is discarded (Courier also drops the next one).
//     10 consecutive errors end the session as in Courier.
package imapserver

import (
	"errors"
	"io"
	"time"
)

// Storage errors the server maps to Courier's replies. Adapters wrap or
// return these (errors.Is).
var (
	ErrNoSuchMailbox = errors.New("mailbox does not exist")
	ErrExists        = errors.New("mailbox already exists")
	ErrInvalidName   = errors.New("invalid mailbox name")
	ErrInboxExists   = errors.New("INBOX already exists")
	ErrCannotDelete  = errors.New("cannot delete this folder")
	ErrInboxRename   = errors.New("INBOX rename not implemented")
	ErrOverQuota     = errors.New("mail quota exceeded")
	ErrBadKeyword    = errors.New("invalid keyword")
	ErrPermission    = errors.New("permission denied")
	// ErrNoSuchMessage: the message's file is gone, expunged by another
	// session since this one last synced. STORE skips it (RFC 2180
	// §4.2.1 allows OK) and the next sync reports the EXPUNGE.
	ErrNoSuchMessage = errors.New("message expunged by another session")
	// ErrUIDValidityChanged from Rescan: another process recreated the
	// UID database, so every UID the client holds is void (RFC 3501
	// §2.3.1.1); the session must end.
	ErrUIDValidityChanged = errors.New("UIDVALIDITY changed")
)

// FolderInfo describes one folder for LIST.
type FolderInfo struct {
	Name       string // UTF-8, "INBOX" or "INBOX.x.y"
	NoSelect   bool   // exists only as a parent
	Children   bool
	Marked     int    // -1 unknown, 0 unmarked, 1 marked (unseen mail)
	SpecialUse string // \Sent, \Drafts, \Trash, \Junk or ""
}

// StatusInfo answers STATUS.
type StatusInfo struct {
	Messages, Recent, Unseen uint32
	UIDNext, UIDValidity     uint32
}

// QuotaInfo is the Maildir++ quota (reference §4.9); a zero limit is "none".
type QuotaInfo struct {
	Defined                bool
	Bytes, BytesLimit      int64
	Messages, MessageLimit int64
}

// Store is the account-wide storage.
type Store interface {
	// Folders lists every folder including INBOX and virtual parents.
	Folders() ([]FolderInfo, error)
	Create(name string) error
	Delete(name string) error
	Rename(from, to string) error
	Subscriptions() ([]string, error)
	Subscribe(name string) error
	Unsubscribe(name string) error
	Status(name string) (StatusInfo, error)
	// Exists reports whether a selectable folder exists, cheaply and
	// without touching its messages (no \Recent claims).
	Exists(name string) bool
	// Open opens a folder; readOnly sessions do not claim \Recent.
	Open(name string, readOnly bool) (Mailbox, error)
	// Append stores r (CRLF or LF; the store decides the on-disk form)
	// and returns the UIDVALIDITY and UID it got.
	Append(name string, flags []string, date time.Time, r io.Reader) (uidValidity, uid uint32, err error)
	Quota() (QuotaInfo, error)
	Close() error
}

// Message is one message as the session sees it.
type Message struct {
	UID          uint32
	Flags        []string // system flags (\Seen ...) and keywords, no \Recent
	Recent       bool     // claimed from new/ by this session
	InternalDate time.Time
}

// MessageReader is an opened message file in its stored (LF) form.
type MessageReader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Mailbox is an opened folder.
type Mailbox interface {
	UIDValidity() uint32
	UIDNext() uint32
	// Rescan re-reads the folder; Messages then returns the new state.
	Rescan() error
	// Messages in ascending UID order.
	Messages() []Message
	OpenMessage(uid uint32) (MessageReader, error)
	// SetFlags replaces the flags of a message (no \Recent).
	SetFlags(uid uint32, flags []string) error
	Expunge(uids []uint32) error
	// CopyTo copies messages to another folder, returning the target's
	// UIDVALIDITY and, pairwise, the source UIDs copied and their new UIDs.
	CopyTo(dest string, uids []uint32) (uidValidity uint32, src, dst []uint32, err error)
	// Watch returns a channel that receives a value soon after the
	// folder changes on disk (nil if unsupported), and a stop function.
	Watch() (<-chan struct{}, func(), error)
	Close() error
}

// AfterReplier is implemented by mailboxes that have work which need not
// delay a reply (the maildir's snapshot cache after a first open of a
// big folder, the fsyncs after moving deliveries). The session calls AfterReply after the responses of each
// command are flushed, before it reads the next command; it must be
// cheap when there is nothing to do.
type AfterReplier interface {
	AfterReply()
}

// Mover is implemented by mailboxes that can move natively (RFC 6851).
type Mover interface {
	MoveTo(dest string, uids []uint32) (uidValidity uint32, src, dst []uint32, err error)
}

// ACLEntry is one identifier and its rights, both in IMAP form (RFC 4314
// identifiers, rights in Courier's RFC 2086 compatibility letters).
type ACLEntry struct{ ID, Rights string }

// ErrBadIdentifier rejects an ACL identifier (Courier: "Invalid ACL
// identifier.").
var ErrBadIdentifier = errors.New("invalid ACL identifier")

// ACLStore is implemented by stores with RFC 4314 ACLs (reference §4.10).
type ACLStore interface {
	GetACL(name string) ([]ACLEntry, error)
	// SetACL applies rights ("+x", "-x" or a replacement) for id; an
	// empty result deletes the entry. ErrPermission when the change
	// would break the owner/administrators invariants.
	SetACL(name, id, rights string) error
	MyRights(name string) (string, error)
}

// FlagChanger is implemented by a Mailbox that can apply a flag change to
// a message's flags as they are now in storage, not as the session last
// saw them: the flags in old but not in new are removed, those in new but
// not in old added, others' changes to the rest kept. It returns the
// flags that result. STORE and FETCH's implicit \Seen use it, so two
// sessions changing different flags of one message at once both keep
// their change (RFC 3501 §6.4.6 defines +FLAGS/-FLAGS as changes to the
// message's flags).
type FlagChanger interface {
	ChangeFlags(uid uint32, old, new []string) ([]string, error)
}

// BatchSyncer is implemented by a Mailbox that can make many flag changes
// durable with one sync: STORE calls DeferSync before its SetFlags calls and
// Flush after them, before the tagged OK acknowledges them.
type BatchSyncer interface {
	DeferSync()
	Flush() error
}
