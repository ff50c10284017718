package mime

import (
	"strings"
	"sync"
)

// atok is a token of an RFC 5322 structured field.
type atok struct {
	kind  byte   // 'a' atom, 'q' quoted string, 'd' domain literal, or the special character
	text  string // atom text, unquoted string, or literal with brackets
	raw   string // source text
	pos   int    // offset of raw in the field
	after string // text of the comment directly following (set by dropComments)
}

// addrToks recycles token slices: every ENVELOPE parses up to six
// address fields, and growing a fresh slice per field was most of the
// garbage of FETCH ENVELOPE (issue #4). Slices that grew past
// maxPooledToks (hostile fields) are left to the collector.
var addrToks = sync.Pool{New: func() any { s := make([]atok, 0, 32); return &s }}

const maxPooledToks = 1024

// atomStop marks the bytes that end an atom; addrSpecial the specials
// that are tokens of their own (tables: the tokenizer tests every byte).
var atomStop, addrSpecial = byteSet(" \t\r\n()<>[]:;@,.\\\""), byteSet("<>:;@,.\\)")

func byteSet(s string) (t [256]bool) {
	for i := 0; i < len(s); i++ {
		t[s[i]] = true
	}
	return t
}

// maxAddrTokens bounds the work on hostile address fields.
const maxAddrTokens = 100000

// tokenizeAddr splits an address field into atoms, quoted strings,
// domain literals, comments (kind 'c') and specials, dropping white space.
func tokenizeAddr(out []atok, s string) []atok {
	for i := 0; i < len(s) && len(out) < maxAddrTokens; {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			start := i
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
				} else if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
			}
			out = append(out, atok{kind: 'c', text: commentText(s[start:i]), raw: s[start:i], pos: start})
		case c == '"':
			j := i + 1
			// Without quoted pairs or line breaks the text is a
			// substring; otherwise it is rebuilt.
			k := j
			for k < len(s) && s[k] != '"' && s[k] != '\\' && s[k] != '\r' && s[k] != '\n' {
				k++
			}
			if k >= len(s) || s[k] == '"' {
				end := k
				if k < len(s) {
					end++
				}
				out = append(out, atok{kind: 'q', text: s[j:k], raw: s[i:end], pos: i})
				i = end
				continue
			}
			var b strings.Builder
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				if s[j] == '\r' || s[j] == '\n' {
					continue
				}
				b.WriteByte(s[j])
			}
			if j < len(s) {
				j++
			}
			out = append(out, atok{kind: 'q', text: b.String(), raw: s[i:j], pos: i})
			i = j
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				j = len(s) - i - 1
			}
			out = append(out, atok{kind: 'd', text: s[i : i+j+1], raw: s[i : i+j+1], pos: i})
			i += j + 1
		case addrSpecial[c]:
			out = append(out, atok{kind: c, text: s[i : i+1], raw: s[i : i+1], pos: i})
			i++
		default:
			// c starts an atom; a stray ']' (the only stop byte not
			// handled above) is taken as atom text. Starting at i made
			// it an empty atom that did not advance, and the loop ran to
			// maxAddrTokens, dropping the rest of the field.
			j := i + 1
			for j < len(s) && !atomStop[s[j]] {
				j++
			}
			out = append(out, atok{kind: 'a', text: s[i:j], raw: s[i:j], pos: i})
			i = j
		}
	}
	return out
}

// phraseText renders a display name: words separated by single spaces,
// quoted strings unquoted, dots of obsolete phrases kept.
func phraseText(ts []atok) string {
	if len(ts) == 1 && (ts[0].kind == 'a' || ts[0].kind == 'q' || ts[0].kind == 'd') {
		return ts[0].text
	}
	var b strings.Builder
	for _, t := range ts {
		switch t.kind {
		case 'a', 'q', 'd':
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(t.text)
		case '.':
			b.WriteByte('.')
		}
	}
	return b.String()
}

// specText renders a local part or domain: tokens concatenated, quoted
// strings kept quoted. s is the field the tokens come from: when they
// are adjacent in it (no white space or comment between), the result is
// that substring.
func specText(s string, ts []atok) string {
	if len(ts) == 0 {
		return ""
	}
	end := ts[0].pos
	for _, t := range ts {
		switch t.kind {
		case 'a', 'd', '.', 'q':
		default:
			end = -1
		}
		if end != t.pos {
			end = -1
			break
		}
		end += len(t.raw)
	}
	if end >= 0 {
		return s[ts[0].pos:end]
	}
	var b strings.Builder
	for _, t := range ts {
		switch t.kind {
		case 'a', 'd', '.':
			b.WriteString(t.text)
		case 'q':
			b.WriteString(t.raw)
		}
	}
	return b.String()
}

func isSpecial(t atok, set string) bool {
	return t.kind != 'a' && t.kind != 'q' && t.kind != 'd' && strings.IndexByte(set, t.kind) >= 0
}

// commentText is the text of a comment "(...)" without its outer
// parentheses, quoted pairs resolved and white space folded.
func commentText(raw string) string {
	raw = strings.TrimPrefix(raw, "(")
	raw = strings.TrimSuffix(raw, ")")
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		b.WriteByte(raw[i])
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// dropComments removes comment tokens, in place, and sets each
// remaining token's after to the comment that directly follows it.
func dropComments(all []atok) []atok {
	toks := all[:0]
	for _, t := range all {
		if t.kind == 'c' {
			if n := len(toks); n > 0 && toks[n-1].after == "" {
				toks[n-1].after = t.text
			}
			continue
		}
		t.after = ""
		toks = append(toks, t)
	}
	return toks
}

func parseAddressList(s string) []Address {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	tp := addrToks.Get().(*[]atok)
	all := tokenizeAddr((*tp)[:0], s)
	defer func() {
		clear(all) // drop references to the field's strings
		if cap(all) <= maxPooledToks {
			*tp = all[:0]
			addrToks.Put(tp)
		}
	}()
	toks := dropComments(all)
	var out []Address
	inGroup := false
	add := func(a Address) {
		if a.Mailbox == "" && a.Host == "" {
			return // nothing to report; an all-NIL entry would read as a group end
		}
		out = append(out, a)
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		if isSpecial(t, ",>\\)") {
			i++
			continue
		}
		if isSpecial(t, ";") {
			if inGroup {
				out = append(out, Address{GroupEnd: true})
				inGroup = false
			}
			i++
			continue
		}
		start := i
		for i < len(toks) && !isSpecial(toks[i], "<:@,;>") {
			i++
		}
		phrase := toks[start:i]
		if i >= len(toks) {
			add(Address{Mailbox: specText(s, phrase)})
			break
		}
		switch toks[i].kind {
		case ':':
			i++
			if !inGroup {
				out = append(out, Address{GroupStart: true, Mailbox: phraseText(phrase)})
				inGroup = true
			}
		case '<':
			i++
			var a Address
			a.Name = phraseText(phrase)
			// Obsolete route: "@a,@b:" (RFC 5322 §4.4).
			if i < len(toks) && isSpecial(toks[i], "@") {
				rs := i
				for i < len(toks) && !isSpecial(toks[i], ":>") {
					i++
				}
				a.ADL = specText2(toks[rs:i])
				if i < len(toks) && isSpecial(toks[i], ":") {
					i++
				}
			}
			ls := i
			for i < len(toks) && !isSpecial(toks[i], "@>") {
				i++
			}
			a.Mailbox = specText(s, toks[ls:i])
			if i < len(toks) && isSpecial(toks[i], "@") {
				i++
				ds := i
				for i < len(toks) && !isSpecial(toks[i], ">,;") {
					i++
				}
				a.Host = specText(s, toks[ds:i])
			}
			if i < len(toks) && isSpecial(toks[i], ">") {
				i++
			}
			add(a)
		case '@':
			i++
			ds := i
			for i < len(toks) && !isSpecial(toks[i], ",;<>:") && !(i > ds && toks[i-1].kind != '.' && toks[i].kind != '.') {
				i++
			}
			// "user@domain (Real Name)": the old RFC 822 form puts the
			// name in a trailing comment; Courier's ENVELOPE shows it as
			// the name, and so do mail clients.
			a := Address{Mailbox: specText(s, phrase), Host: specText(s, toks[ds:i])}
			if i > ds {
				a.Name = toks[i-1].after
			}
			add(a)
		default: // ',' ';' '>' after a bare word: address without domain
			add(Address{Mailbox: specText(s, phrase)})
		}
	}
	if inGroup {
		out = append(out, Address{GroupEnd: true})
	}
	return out
}

// specText2 renders a route "@a,@b" keeping the commas.
func specText2(ts []atok) string {
	var b strings.Builder
	for _, t := range ts {
		if t.kind == 'q' {
			b.WriteString(t.raw)
		} else {
			b.WriteString(t.text)
		}
	}
	return b.String()
}
