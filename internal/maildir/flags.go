package maildir

import (
	"math/bits"
	"strings"
)

// Flags is the set of maildir info letters of a message (the part after
// ":2,"). Bit i<26 is letter 'A'+i, bit 26+i is 'a'+i, so unknown letters
// (e.g. P "passed", or Dovecot's lower-case keyword letters) survive a
// rename (reference §9.3).
type Flags uint64

// The IMAP system flags and their maildir letters (reference §9.3).
const (
	FlagDraft    Flags = 1 << ('D' - 'A') // \Draft
	FlagFlagged  Flags = 1 << ('F' - 'A') // \Flagged
	FlagPassed   Flags = 1 << ('P' - 'A') // not used by IMAP
	FlagAnswered Flags = 1 << ('R' - 'A') // \Answered
	FlagSeen     Flags = 1 << ('S' - 'A') // \Seen
	FlagDeleted  Flags = 1 << ('T' - 'A') // \Deleted

	// IMAPFlags is the set imapd shows and changes.
	IMAPFlags = FlagDraft | FlagFlagged | FlagAnswered | FlagSeen | FlagDeleted
)

func flagBit(c byte) Flags {
	switch {
	case c >= 'A' && c <= 'Z':
		return 1 << (c - 'A')
	case c >= 'a' && c <= 'z':
		return 1 << (26 + c - 'a')
	}
	return 0
}

// ParseFlags parses the letters after ":2,". Other characters are ignored.
func ParseFlags(s string) Flags {
	var f Flags
	for i := 0; i < len(s); i++ {
		f |= flagBit(s[i])
	}
	return f
}

// String renders the letters in ASCII order, as Courier writes them.
func (f Flags) String() string {
	var b strings.Builder
	for f != 0 {
		i := bits.TrailingZeros64(uint64(f))
		f &^= 1 << i
		if i < 26 {
			b.WriteByte(byte('A' + i))
		} else if i < 52 {
			b.WriteByte(byte('a' + i - 26))
		}
	}
	return b.String()
}

// Has reports whether all of g are set.
func (f Flags) Has(g Flags) bool { return f&g == g }

// splitName splits a cur/ file name into base name and info ("2,FS").
// A name without ':' has empty info and hasInfo false.
func splitName(name string) (base, info string, hasInfo bool) {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:], true
	}
	return name, "", false
}

// flagsOf returns the flags of a file name (only for ":2," info).
func flagsOf(name string) Flags {
	_, info, ok := splitName(name)
	if !ok || !strings.HasPrefix(info, "2,") {
		return 0
	}
	return ParseFlags(info[2:])
}

// withFlags returns base+":2,"+flags. An info in another version (":1,")
// is replaced, as Courier does when it changes flags.
func withFlags(base string, f Flags) string { return base + ":2," + f.String() }
