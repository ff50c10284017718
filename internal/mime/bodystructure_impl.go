package mime

import "strconv"

func appendParams(dst []byte, ps []Param) []byte {
	if len(ps) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = AppendString(dst, p.Name)
		dst = append(dst, ' ')
		dst = AppendString(dst, p.Value)
	}
	return append(dst, ')')
}

// appendExt appends body-fld-dsp, body-fld-lang and body-fld-loc.
func appendExt(dst []byte, p *Part) []byte {
	dst = append(dst, ' ')
	if p.Disposition == "" {
		dst = append(dst, "NIL"...)
	} else {
		dst = append(dst, '(')
		dst = AppendString(dst, p.Disposition)
		dst = append(dst, ' ')
		dst = appendParams(dst, p.DispositionParams)
		dst = append(dst, ')')
	}
	dst = append(dst, ' ')
	switch len(p.Language) {
	case 0:
		dst = append(dst, "NIL"...)
	case 1:
		dst = AppendString(dst, p.Language[0])
	default:
		dst = append(dst, '(')
		for i, l := range p.Language {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = AppendString(dst, l)
		}
		dst = append(dst, ')')
	}
	dst = append(dst, ' ')
	return AppendNString(dst, p.Location)
}

func appendBody(dst []byte, p *Part, ext bool) []byte {
	dst = append(dst, '(')
	if p.Type == "multipart" {
		for _, c := range p.Children {
			dst = appendBody(dst, c, ext)
		}
		dst = append(dst, ' ')
		dst = AppendString(dst, p.Subtype)
		if ext {
			dst = append(dst, ' ')
			dst = appendParams(dst, p.Params)
			dst = appendExt(dst, p)
		}
		return append(dst, ')')
	}
	dst = AppendString(dst, p.Type)
	dst = append(dst, ' ')
	dst = AppendString(dst, p.Subtype)
	dst = append(dst, ' ')
	dst = appendParams(dst, p.Params)
	dst = append(dst, ' ')
	dst = AppendNString(dst, p.ID)
	dst = append(dst, ' ')
	dst = AppendNString(dst, p.Description)
	dst = append(dst, ' ')
	if p.Encoding == "" {
		dst = append(dst, `"7BIT"`...) // RFC 2045 §6.1 default
	} else {
		dst = AppendString(dst, p.Encoding)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, p.BodySize, 10)
	if p.Message != nil {
		dst = append(dst, ' ')
		dst = appendEnvelope(dst, p.Message.Envelope)
		dst = append(dst, ' ')
		dst = appendBody(dst, p.Message, ext)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	} else if p.Type == "message" && p.Subtype == "rfc822" {
		// Not parsed (transfer-encoded, or past the nesting limits): the
		// grammar still needs an envelope and a body (RFC 3501 §9).
		dst = append(dst, " (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "...)
		dst = append(dst, `("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0) `...)
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	} else if p.Type == "text" {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	}
	if ext {
		dst = append(dst, ' ')
		dst = AppendNString(dst, p.MD5)
		dst = appendExt(dst, p)
	}
	return append(dst, ')')
}
