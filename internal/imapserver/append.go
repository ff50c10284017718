package imapserver

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// parseDateTime parses RFC 3501 date-time "dd-Mon-yyyy hh:mm:ss +zzzz"
// (day may be space-padded).
func parseDateTime(s string) (time.Time, bool) {
	s = strings.TrimLeft(s, " ")
	t, err := time.Parse("2-Jan-2006 15:04:05 -0700", s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// flagArg validates one STORE/APPEND flag: system flags except \Recent,
// or a keyword atom (reference §4.6: \Recent, unknown \X and keywords
// with '"' are refused).
func flagArg(f string) (string, bool) {
	if strings.HasPrefix(f, `\`) {
		sf, ok := isSystemFlag(f)
		return sf, ok
	}
	if f == "" {
		return "", false
	}
	for i := 0; i < len(f); i++ {
		if !isKeywordChar(f[i]) {
			return "", false
		}
	}
	return f, true
}

func isKeywordChar(b byte) bool {
	switch b {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return b > 0x20 && b < 0x7f
}

// flagList reads "(" flags ")" or a single flag; it returns ok=false on a
// syntax error and valid=false when a flag is not acceptable.
func (s *Session) flagList(allowBare bool) (flags []string, valid bool, ok bool) {
	d := s.c.Dec
	valid = true
	one := func() bool {
		b, okp := d.Peek()
		if !okp {
			return false
		}
		prefix := ""
		if b == '\\' {
			d.Special('\\')
			prefix = `\`
		}
		a, ok := d.Atom()
		if !ok {
			return false
		}
		f := prefix + a
		g, good := flagArg(f)
		if !good {
			valid = false
		}
		flags = append(flags, g)
		return true
	}
	if b, okp := d.Peek(); okp && b == '(' {
		ok = d.List(one)
		return flags, valid, ok
	}
	if !allowBare {
		return nil, valid, d.Fail("expected flag list")
	}
	if b, okp := d.Peek(); okp && b == '\n' {
		return nil, valid, true // "STORE n FLAGS" with no list clears (§4.6)
	}
	for {
		if !one() {
			return nil, valid, false
		}
		if b, okp := d.Peek(); !okp || b != ' ' {
			return flags, valid, true
		}
		d.SP()
	}
}

// SelfAppender is an optional Mailbox interface: APPEND into the selected
// mailbox through the opened mailbox, which can then show the new message
// without rescanning the whole folder (the sync after APPEND is otherwise
// the dominant cost of APPEND into a big selected folder).
type SelfAppender interface {
	AppendSelf(flags []string, date time.Time, r io.Reader) (uidValidity, uid uint32, err error)
}

func (s *Session) cmdAppend(tag string, _ bool) error {
	d := s.c.Dec
	raw, ok := s.mailboxArg()
	if !ok || !d.SP() {
		return s.bad(tag)
	}
	var flags []string
	valid := true
	if b, ok := d.Peek(); ok && b == '(' {
		flags, valid, ok = s.flagList(false)
		if !ok || !d.SP() {
			return s.bad(tag)
		}
	}
	date := time.Now()
	dateOK := true
	if b, ok := d.Peek(); ok && b == '"' {
		ds, ok := d.Quoted()
		if !ok || !d.SP() {
			return s.bad(tag)
		}
		date, dateOK = parseDateTime(ds)
	}
	n, sync, ok := d.LiteralHeader()
	if !ok {
		return s.bad(tag)
	}
	// Decide before asking for the literal (§4.4: no "+ OK" on errors).
	reject := func(status, text string) error {
		if !d.RejectLiteral(n, sync, errors.New(text)) && d.Fatal() {
			return d.Err()
		}
		if !sync {
			// the rest of the command line follows the literal
			if err := d.DiscardLine(); err != nil {
				return err
			}
		}
		s.c.W.Tagged(tag, status, text)
		if text == textError {
			return s.c.countError()
		}
		return nil
	}
	if !dateOK || !valid {
		return reject("NO", textError)
	}
	name, ok := s.wireName(raw)
	if !ok {
		return reject("NO", "[TRYCREATE] Must create mailbox before append")
	}
	if !s.store.Exists(name) {
		return reject("NO", "[TRYCREATE] Must create mailbox before append")
	}
	if !strings.Contains(s.rights(name), "i") {
		return reject("NO", "Access denied for APPEND on "+name+` (ACL "i" required)`)
	}
	if n > d.Limits().MaxAppend {
		// RFC 7889 TOOBIG.
		return reject("NO", "[TOOBIG] Message too large.")
	}
	body, ok := d.LiteralBody(n, sync)
	if !ok {
		return d.Err()
	}
	var uv, uid uint32
	var err error
	if sa, ok := s.mbox.(SelfAppender); ok && name == s.mboxName {
		uv, uid, err = sa.AppendSelf(flags, date, body)
	} else {
		uv, uid, err = s.store.Append(name, flags, date, body)
	}
	// Whatever the store did, the literal must be consumed.
	if _, derr := io.Copy(io.Discard, body); derr != nil {
		return derr
	}
	if d.Fatal() {
		return d.Err()
	}
	if ok, err2 := s.end(tag); !ok {
		return err2
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrOverQuota):
			s.c.No(tag, "[ALERT] Mail quota exceeded.")
		case errors.Is(err, ErrNoSuchMailbox):
			s.c.No(tag, "[TRYCREATE] Must create mailbox before append")
		case errors.Is(err, ErrBadKeyword):
			return s.c.GenericNo(tag)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return err
		default:
			s.c.No(tag, "[ALERT] APPEND failed - no write permission or out of disk space.")
		}
		return nil
	}
	if s.mbox != nil && name == s.mboxName {
		s.sync(true)
	}
	s.c.OK(tag, "[APPENDUID "+strconv.FormatUint(uint64(uv), 10)+" "+strconv.FormatUint(uint64(uid), 10)+"] APPEND Ok.")
	return nil
}
