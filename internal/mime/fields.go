package mime

import (
	"strings"
)

// fill sets the content fields of pt from its header (RFC 2045 §5-§8,
// RFC 2183, RFC 3066, RFC 2557, RFC 1864).
func (pt *Part) fill(h Header, digest bool) {
	ct := h.Get("Content-Type")
	typ, sub, params, ok := parseContentType(ct)
	if ok {
		pt.Type, pt.Subtype, pt.Params, pt.HasContentType = typ, sub, params, true
	} else if digest && ct == "" {
		// RFC 2046 §5.1.5: the default in a digest is message/rfc822.
		pt.Type, pt.Subtype = "message", "rfc822"
	} else {
		// RFC 2045 §5.2: missing or invalid means text/plain; us-ascii.
		pt.Type, pt.Subtype = "text", "plain"
		pt.Params = []Param{{Name: "charset", Value: "us-ascii"}}
	}
	pt.Encoding = stripComments(h.Get("Content-Transfer-Encoding"))
	pt.ID = h.Get("Content-ID")
	pt.Description = h.Get("Content-Description")
	if d := h.Get("Content-Disposition"); d != "" {
		val, ps := splitParams(d)
		val = strings.TrimSpace(stripComments(val))
		if val != "" {
			pt.Disposition, pt.DispositionParams = val, ps
		}
	}
	if l := stripComments(h.Get("Content-Language")); l != "" {
		for _, tag := range strings.Split(l, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				pt.Language = append(pt.Language, tag)
			}
		}
	}
	pt.Location = h.Get("Content-Location")
	pt.MD5 = h.Get("Content-MD5")
}

// parseContentType parses "type/subtype; params". ok is false when the
// value is missing or has no valid type/subtype.
func parseContentType(s string) (typ, sub string, params []Param, ok bool) {
	if s == "" {
		return "", "", nil, false
	}
	val, params := splitParams(s)
	val = strings.TrimSpace(stripComments(val))
	i := strings.IndexByte(val, '/')
	if i <= 0 || i == len(val)-1 {
		return "", "", nil, false
	}
	typ = strings.ToLower(strings.TrimSpace(val[:i]))
	sub = strings.ToLower(strings.TrimSpace(val[i+1:]))
	if !isToken(typ) || !isToken(sub) {
		return "", "", nil, false
	}
	return typ, sub, params, true
}

// isToken reports whether s is a non-empty RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?=", c) >= 0 {
			return false
		}
	}
	return true
}

// splitParams splits "value; a=b; c="d e"" into the value and its
// parameters. It is lenient: unquoted values run to the next ';', names
// without '=' are dropped, parameter names and values keep their case
// (reference §4.5).
func splitParams(s string) (string, []Param) {
	first, rest, more := cutUnquoted(s, ';')
	var ps []Param
	for more {
		var p string
		p, rest, more = cutUnquoted(rest, ';')
		p = strings.TrimSpace(stripComments(p))
		eq := strings.IndexByte(p, '=')
		if eq <= 0 {
			continue
		}
		name := strings.TrimSpace(p[:eq])
		v := strings.TrimSpace(p[eq+1:])
		if len(v) >= 1 && v[0] == '"' {
			v = unquote(v)
		}
		if name == "" {
			continue
		}
		ps = append(ps, Param{Name: name, Value: v})
	}
	return first, ps
}

// cutUnquoted returns s up to the first sep outside quoted strings and
// comments, and the rest after it (found false when there is no such
// sep): splitUnquoted's pieces one at a time, without a slice.
func cutUnquoted(s string, sep byte) (before, after string, found bool) {
	inQ, depth := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (inQ || depth > 0):
			i++
		case inQ:
			if c == '"' {
				inQ = false
			}
		case c == '"' && depth == 0:
			inQ = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == sep && depth == 0:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unquote removes the quotes and backslash escapes of a quoted string; a
// missing closing quote is tolerated.
func unquote(s string) string {
	if len(s) == 0 || s[0] != '"' {
		return s
	}
	// The common case, nothing to remove but the quotes: a substring.
	end := 1
	for end < len(s) && s[end] != '"' && s[end] != '\\' && s[end] != '\r' && s[end] != '\n' {
		end++
	}
	if end == len(s) || s[end] == '"' {
		return s[1:end]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			b.WriteByte(s[i])
			continue
		}
		if c == '"' {
			break
		}
		if c == '\n' || c == '\r' {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// stripComments removes RFC 5322 comments outside quoted strings.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	inQ, depth := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
			continue
		case inQ:
			if c == '\\' && i+1 < len(s) {
				b.WriteByte(c)
				i++
				c = s[i]
			} else if c == '"' {
				inQ = false
			}
		case c == '"':
			inQ = true
		case c == '(':
			depth++
			continue
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}
