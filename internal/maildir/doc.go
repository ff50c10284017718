// Package maildir reads and writes Maildir++ mail stores exactly as
// Courier-IMAP 5.0.13 does (reference §9), so that Courier's imapd/pop3d,
// delivery agents and our servers can work on one maildir at the same time.
//
// Invariants (each is relied upon by the protocol layers):
//   - Folder names at this API are IMAP-level UTF-8 names ("INBOX",
//     "INBOX.Sent", "INBOX.a.b"); the wire layer converts modified UTF-7.
//     On disk INBOX.a.b is <root>/.a.b (UTF-8 since Courier 5.0, §9.1).
//   - A message's UID never changes and is never reused within one
//     UIDVALIDITY. UIDs live in <folder>/courierimapuiddb (§9.4), which is
//     rewritten only via tmp/ + fsync + rename + directory fsync. A corrupt
//     uiddb header is treated like Courier does (as missing: new
//     UIDVALIDITY), so no UID can be reused under the old UIDVALIDITY; if
//     the header parses but some lines do not, the next UID is never
//     lowered below max(seen UID)+1.
//   - Flags live in the file name suffix ":2,<letters>" in ASCII order;
//     a flag change is one rename() inside cur/. Letters we do not know are
//     preserved.
//   - Every file in the maildir is hostile input: parsers never panic,
//     never allocate without bound, and skip what they do not understand.
//   - Anything acknowledged to a client (APPEND, COPY, flag change,
//     expunge) has been fsynced, file and directory (a STORE of many
//     messages may batch its renames into one fsync with
//     Folder.DeferSync/Flush, still before the acknowledgement).
//   - \Recent belongs to the session whose scan first numbers a message
//     (Courier's rule), or, for messages numbered by APPEND/COPY, to the
//     first read-write scan that sees them (RFC 3501; recentFile records
//     the claim boundary): read-only opens (EXAMINE) move new/ to cur/ but
//     save nothing, and Maildir.Status changes nothing on disk, so neither
//     takes \Recent away from a later SELECT.
//   - A rescan that has nothing to write runs without the dot-lock; one
//     that would move or number files, rewrite the uiddb or claim \Recent
//     takes the lock and scans again.
//   - With Options.UseLocks (IMAP_USELOCKS) rescans that rewrite the uiddb
//     hold Courier's dot-lock <folder>/tmp/courier.lock (§9.15), made by
//     link(2) so that it is NFS-safe and interoperates with Courier.
//
// Storage never knows about sockets or the IMAP/POP3 wire formats.
package maildir

import "errors"

// Errors returned by this package (wrapped with context; test with errors.Is).
var (
	ErrInvalidName   = errors.New("invalid mailbox name")
	ErrNoSuchFolder  = errors.New("mailbox does not exist")
	ErrFolderExists  = errors.New("mailbox already exists")
	ErrInboxExists   = errors.New("INBOX already exists")
	ErrCannotDelete  = errors.New("cannot delete this folder")
	ErrInboxRename   = errors.New("INBOX rename not implemented")
	ErrNoSuchMessage = errors.New("no such message")
	ErrOverQuota     = errors.New("mail quota exceeded")
	ErrReadOnly      = errors.New("folder is open read-only")
	ErrClosed        = errors.New("folder is closed")
	ErrLocked        = errors.New("maildir is locked by another process")
	ErrBadKeyword    = errors.New("invalid keyword")
)
