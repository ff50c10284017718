package sortthread

import (
	"strings"

	"gocourier/internal/mime"
)

// baseSubject implements RFC 5256 §2.1. The second result reports that a
// reply/forward marker was removed: a "re"/"fw"/"fwd" leader, a "(fwd)"
// trailer or a "[fwd: ...]" wrapper (used by REFERENCES step 6).
func baseSubject(raw string) (string, bool) {
	// Step 1: decode, turn tabs and folding into spaces, collapse runs.
	s := mime.DecodeWords(mime.Unfold(raw))
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	s = b.String()
	reply := false
	for {
		// Step 2: remove subj-trailer ("(fwd)" / WSP) repeatedly.
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
			} else if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s = s[:len(s)-5]
				reply = true
			} else {
				break
			}
		}
		// Steps 3-5: remove subj-leader and subj-blob prefixes.
		for {
			changed := false
			if n, isRe := leaderLen(s); n > 0 {
				s = s[n:]
				reply = reply || isRe
				changed = true
			}
			if n := blobLen(s); n > 0 && n < len(s) {
				// Step 4 only when something remains of the subject.
				s = s[n:]
				changed = true
			}
			if !changed {
				break
			}
		}
		// Step 6: "[fwd:" subject "]" wrapper.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			reply = true
			continue
		}
		return s, reply
	}
}

// blobLen returns the length of a subj-blob prefix: "[" *BLOBCHAR "]" *WSP.
func blobLen(s string) int {
	if len(s) == 0 || s[0] != '[' {
		return 0
	}
	i := 1
	for i < len(s) && s[i] != '[' && s[i] != ']' {
		i++
	}
	if i >= len(s) || s[i] != ']' {
		return 0
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// leaderLen returns the length of a subj-leader prefix:
// (*subj-blob subj-refwd) / WSP, where
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func leaderLen(s string) (int, bool) {
	if len(s) > 0 && s[0] == ' ' {
		return 1, false
	}
	i := 0
	for {
		n := blobLen(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	rest := strings.ToLower(s[i:])
	switch {
	case strings.HasPrefix(rest, "re"):
		i += 2
	case strings.HasPrefix(rest, "fwd"):
		i += 3
	case strings.HasPrefix(rest, "fw"):
		i += 2
	default:
		return 0, false
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blobLen(s[i:])
	if i < len(s) && s[i] == ':' {
		return i + 1, true
	}
	return 0, false
}
