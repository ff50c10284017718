package mime

import "strings"

// atok is a token of an RFC 5322 structured field.
type atok struct {
	kind byte   // 'a' atom, 'q' quoted string, 'd' domain literal, or the special character
	text string // atom text, unquoted string, or literal with brackets
	raw  string // source text
}

// maxAddrTokens bounds the work on hostile address fields.
const maxAddrTokens = 100000

// tokenizeAddr splits an address field into atoms, quoted strings,
// domain literals, comments (kind 'c') and specials, dropping white space.
func tokenizeAddr(s string) []atok {
	var out []atok
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
			out = append(out, atok{kind: 'c', text: commentText(s[start:i]), raw: s[start:i]})
		case c == '"':
			j := i + 1
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
			out = append(out, atok{kind: 'q', text: b.String(), raw: s[i:j]})
			i = j
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				j = len(s) - i - 1
			}
			out = append(out, atok{kind: 'd', text: s[i : i+j+1], raw: s[i : i+j+1]})
			i += j + 1
		case strings.IndexByte("<>:;@,.\\)", c) >= 0:
			out = append(out, atok{kind: c, text: s[i : i+1], raw: s[i : i+1]})
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()<>[]:;@,.\\\"", s[j]) < 0 {
				j++
			}
			out = append(out, atok{kind: 'a', text: s[i:j], raw: s[i:j]})
			i = j
		}
	}
	return out
}

// phraseText renders a display name: words separated by single spaces,
// quoted strings unquoted, dots of obsolete phrases kept.
func phraseText(ts []atok) string {
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
// strings kept quoted.
func specText(ts []atok) string {
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

// dropComments removes comment tokens and reports, for each remaining
// token, the comment that directly follows it (or "").
func dropComments(all []atok) (toks []atok, after []string) {
	for _, t := range all {
		if t.kind == 'c' {
			if n := len(after); n > 0 && after[n-1] == "" {
				after[n-1] = t.text
			}
			continue
		}
		toks = append(toks, t)
		after = append(after, "")
	}
	return toks, after
}

func parseAddressList(s string) []Address {
	toks, after := dropComments(tokenizeAddr(s))
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
			add(Address{Mailbox: specText(phrase)})
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
			a.Mailbox = specText(toks[ls:i])
			if i < len(toks) && isSpecial(toks[i], "@") {
				i++
				ds := i
				for i < len(toks) && !isSpecial(toks[i], ">,;") {
					i++
				}
				a.Host = specText(toks[ds:i])
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
			a := Address{Mailbox: specText(phrase), Host: specText(toks[ds:i])}
			if i > ds {
				a.Name = after[i-1]
			}
			add(a)
		default: // ',' ';' '>' after a bare word: address without domain
			add(Address{Mailbox: specText(phrase)})
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
