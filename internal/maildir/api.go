package maildir

import (
	"time"
)

// Options configure a Maildir handle. They come from the environment of
// imapd/pop3d (reference §1.2), read by the caller.
type Options struct {
	// UseLocks serialises uiddb rewrites with tmp/courier.lock
	// (IMAP_USELOCKS, default on in Courier's imapd config).
	UseLocks bool
	// TrashName is the IMAP_TRASHFOLDERNAME without "INBOX." ("Trash").
	// Trash is not counted in quota and cannot be deleted.
	TrashName string
	// Quota is the QUOTA value from authdaemond; when non-empty it
	// overrides the first line of maildirsize (§9.9).
	Quota string
	// Hostname is used in new file names; default os.Hostname().
	Hostname string
	// Keywords enables courierimapkeywords (IMAP_KEYWORDS != 0).
	Keywords bool
	// Owner is the owner's user id for ACL evaluation ("owner" entries).
	Owner string
	// Now, when set, replaces time.Now (tests).
	Now func() time.Time
}

// FolderInfo is one entry of ListFolders.
type FolderInfo struct {
	Name        string // IMAP UTF-8 name, e.g. "INBOX.a.b"
	HasChildren bool
	NoSelect    bool // virtual hierarchy level without a directory (§4.2)
}

// Status is what IMAP STATUS needs (reference §4.2).
type Status struct {
	Messages    uint32
	Recent      uint32
	Unseen      uint32
	UIDNext     uint32
	UIDValidity uint32
}

// MessageInfo describes one message of an open folder.
type MessageInfo struct {
	UID      uint32
	Name     string   // base file name (without ":2,flags")
	Flags    Flags    // maildir letters
	Keywords []string // IMAP keywords (courierimapkeywords), sorted as stored
	// LFSize is the size from ",S=" in the name, or -1 when absent. The
	// CRLF size (RFC822.SIZE) is Folder.CRLFSize: it needs a read of the
	// file, so it is computed lazily and cached.
	LFSize int64
	// InternalDate is the file mtime when already known (after
	// OpenMessage/InternalDate); scans do not stat every file, so use
	// Folder.InternalDate(uid) for INTERNALDATE.
	InternalDate time.Time
	Recent       bool // this session moved it from new/ to cur/
}

// Changes is what Rescan found since the previous scan.
type Changes struct {
	New      []MessageInfo // appended by anyone, with their UIDs, by UID
	Vanished []uint32      // UIDs whose files are gone, ascending
	// VanishedInfo is the last known state of each Vanished message, in
	// the same order: a session may still show it until it can report the
	// EXPUNGE, and needs e.g. its INTERNALDATE (zero if never stat'ed).
	VanishedInfo []MessageInfo
	Changed      []MessageInfo // flag or keyword changes made by others
	// KeywordsChanged is true when the set of keywords in use changed
	// (IMAP must resend FLAGS/PERMANENTFLAGS, §4.3).
	KeywordsChanged bool
	// UIDValidityChanged: another process recreated the uiddb (it was
	// deleted or corrupt). Every old UID is in Vanished and every message
	// is in New; IMAP clients must be disconnected (RFC 3501 §2.3.1.1).
	UIDValidityChanged bool
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.New) == 0 && len(c.Vanished) == 0 && len(c.Changed) == 0 && !c.KeywordsChanged
}

// AppendResult tells where an appended or copied message went (UIDPLUS).
type AppendResult struct {
	UIDValidity uint32
	UID         uint32
}
