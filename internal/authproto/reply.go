package authproto

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// UserInfo is what authdaemond returns for a successful PRE or AUTH
// (§10.3). UID is -1 when the module gave USERNAME instead of a numeric uid
// and the name could not be resolved.
type UserInfo struct {
	Username string // USERNAME: system account name, only when no numeric UID
	UID, GID int
	Home     string
	Address  string // ADDRESS: the login id; becomes AUTHENTICATED (§8)
	Name     string // NAME: full name
	Maildir  string
	Quota    string
	Passwd   string // PASSWD: the stored (crypted) password
	Passwd2  string // PASSWD2: the clear-text password just verified
	Options  string // comma-separated, DEFAULTOPTIONS merged in
}

// Option returns the value of the account option name from Options
// ("disableimap=1,group=a" -> Option("disableimap") == "1"), or "" if
// absent. A bare name without "=" counts as present with an empty value;
// use LookupOption to tell it from an absent option.
func (u *UserInfo) Option(name string) string {
	v, _ := u.LookupOption(name)
	return v
}

// LookupOption is Option that also reports presence.
func (u *UserInfo) LookupOption(name string) (string, bool) {
	for _, o := range strings.Split(u.Options, ",") {
		k, v, _ := strings.Cut(o, "=")
		if k == name && k != "" {
			return v, true
		}
	}
	return "", false
}

// Enabled reports whether a flag option such as disableimap is switched on:
// present with a value other than "" or "0" (auth_generic(3) options are
// "name=value"; white space around an item is ignored). The session stages
// read their account options this way from $OPTIONS (reference §11.1).
func (u *UserInfo) Enabled(name string) bool {
	for _, o := range strings.Split(u.Options, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
		if k == name && k != "" && v != "" && v != "0" {
			return true
		}
	}
	return false
}

// OptionValues returns every value of a repeatable option (group=).
func (u *UserInfo) OptionValues(name string) []string {
	var out []string
	for _, o := range strings.Split(u.Options, ",") {
		k, v, _ := strings.Cut(o, "=")
		if k == name && k != "" {
			out = append(out, v)
		}
	}
	return out
}

// EncodeReply renders u as a PRE/AUTH success reply, keys in §10.3 order,
// each only when present (GID and HOME always), ending with ".\n".
// Values containing a newline are cut at it so the reply stays parseable.
func EncodeReply(u *UserInfo) []byte {
	var b bytes.Buffer
	put := func(k, v string, always bool) {
		if v == "" && !always {
			return
		}
		if i := strings.IndexAny(v, "\n\x00"); i >= 0 {
			v = v[:i]
		}
		b.WriteString(k + "=" + v + "\n")
	}
	if u.Username != "" {
		put("USERNAME", u.Username, false)
	} else {
		put("UID", strconv.Itoa(u.UID), true)
	}
	put("GID", strconv.Itoa(u.GID), true)
	put("HOME", u.Home, true)
	put("ADDRESS", u.Address, false)
	put("NAME", u.Name, false)
	put("MAILDIR", u.Maildir, false)
	put("QUOTA", u.Quota, false)
	put("PASSWD", u.Passwd, false)
	put("PASSWD2", u.Passwd2, false)
	put("OPTIONS", u.Options, false)
	b.WriteString(".\n")
	return b.Bytes()
}

// FailReply is the whole reply for a failed lookup or password.
var FailReply = []byte("FAIL\n")

// ParseReply parses a complete PRE/AUTH reply. It returns ErrFail for
// "FAIL\n" and an error wrapping ErrTemporary when the reply is incomplete
// (no ".\n" line) or longer than MaxReply: the daemon died or gave up
// mid-request, which libcourierauth reports as EIO (§10.3). Unknown keys are
// ignored, as libcourierauth ignores them.
func ParseReply(data []byte) (*UserInfo, error) {
	if len(data) > MaxReply {
		return nil, fmt.Errorf("%w: reply longer than %d bytes", ErrTemporary, MaxReply)
	}
	if string(data) == "FAIL\n" {
		return nil, ErrFail
	}
	u := &UserInfo{UID: -1, GID: -1}
	rest := data
	haveUID, haveGID := false, false
	for {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("%w: reply ended without \".\"", ErrTemporary)
		}
		rest = after
		if string(line) == "." {
			if len(rest) != 0 {
				return nil, fmt.Errorf("%w: data after end of reply", ErrTemporary)
			}
			break
		}
		if string(line) == "FAIL" {
			return nil, ErrFail
		}
		k, v, ok := strings.Cut(string(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "USERNAME":
			u.Username = v
		case "UID":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: bad UID %q", ErrTemporary, truncate(v, 20))
			}
			u.UID, haveUID = n, true
		case "GID":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: bad GID %q", ErrTemporary, truncate(v, 20))
			}
			u.GID, haveGID = n, true
		case "HOME":
			u.Home = v
		case "ADDRESS":
			u.Address = v
		case "NAME":
			u.Name = v
		case "MAILDIR":
			u.Maildir = v
		case "QUOTA":
			u.Quota = v
		case "PASSWD":
			u.Passwd = v
		case "PASSWD2":
			u.Passwd2 = v
		case "OPTIONS":
			u.Options = v
		}
	}
	if !haveUID && u.Username == "" {
		return nil, fmt.Errorf("%w: reply has neither UID nor USERNAME", ErrTemporary)
	}
	if !haveGID {
		return nil, fmt.Errorf("%w: reply has no GID", ErrTemporary)
	}
	return u, nil
}

// EnumEntry is one ENUMERATE line: name uid gid home maildir options.
type EnumEntry struct {
	Name          string
	UID, GID      int
	Home, Maildir string
	Options       string
}

// EncodeEnumHeader starts one module's section of an ENUMERATE reply.
func EncodeEnumHeader(module string) []byte {
	return []byte("# " + module + "\n\n")
}

// EncodeEnumEntry renders one ENUMERATE line (§10.4). Tabs and newlines in
// fields are replaced by spaces so that one account stays one line.
func EncodeEnumEntry(e EnumEntry) []byte {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == 0 {
				return ' '
			}
			return r
		}, s)
	}
	return []byte(fmt.Sprintf("%s\t%d\t%d\t%s\t%s\t%s\n", clean(e.Name), e.UID, e.GID,
		clean(e.Home), clean(e.Maildir), clean(e.Options)))
}

// ParseEnumerate parses a complete ENUMERATE reply.
func ParseEnumerate(data []byte, fn func(module string, e EnumEntry)) error {
	module := ""
	for len(data) > 0 {
		line, rest, ok := bytes.Cut(data, []byte("\n"))
		if !ok {
			break
		}
		data = rest
		s := string(line)
		switch {
		case s == ".":
			return nil
		case s == "":
		case len(s) > 2 && s[:2] == "# ":
			module = s[2:]
		default:
			f := bytes.Split(line, []byte("\t"))
			if len(f) < 6 {
				continue
			}
			uid, err1 := strconv.Atoi(string(f[1]))
			gid, err2 := strconv.Atoi(string(f[2]))
			if err1 != nil || err2 != nil {
				continue
			}
			fn(module, EnumEntry{Name: string(f[0]), UID: uid, GID: gid, Home: string(f[3]),
				Maildir: string(f[4]), Options: string(f[5])})
		}
	}
	return fmt.Errorf("%w: enumeration ended without \".\"", ErrTemporary)
}

// IsTemporary reports whether err is a temporary failure (not FAIL).
func IsTemporary(err error) bool {
	return err != nil && !errors.Is(err, ErrFail)
}
