package mime

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"gocourier/internal/charset"
)

func readHeader(r io.Reader) (Header, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 4096)
	}
	var h Header
	total := 0
	cont := false // the last line was a kept field
	for {
		lineb, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Very long line: gather it with a bound.
			buf := append([]byte(nil), lineb...)
			for err == bufio.ErrBufferFull && total+len(buf) <= MaxHeaderBytes {
				lineb, err = br.ReadSlice('\n')
				buf = append(buf, lineb...)
			}
			lineb = buf
		}
		total += len(lineb)
		if total > MaxHeaderBytes {
			return h, ErrHeaderTooLarge
		}
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return h, fmt.Errorf("mime: read header: %w", err)
		}
		l := bytes.TrimRight(lineb, "\n")
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) == 0 {
			if len(lineb) > 0 || err == io.EOF {
				return h, nil
			}
		}
		switch {
		case len(l) > 0 && (l[0] == ' ' || l[0] == '\t'):
			if cont {
				f := &h.Fields[len(h.Fields)-1]
				f.Value += "\n" + string(l)
			}
		default:
			cont = false
			if i := bytes.IndexByte(l, ':'); i > 0 {
				name := strings.TrimRight(string(l[:i]), " \t")
				if name != "" && !strings.ContainsAny(name, " \t") {
					h.Fields = append(h.Fields, Field{Name: name, Value: string(l[i+1:])})
					cont = true
				}
			}
		}
		if err == io.EOF {
			return h, nil
		}
	}
}

func unfold(s string) string {
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.TrimSpace(b.String())
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded-words. White space between two
// adjacent encoded-words is dropped (RFC 2047 §6.2).
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return latin1IfInvalid(s)
	}
	if out, err := wordDecoder.DecodeHeader(s); err == nil {
		return latin1IfInvalid(out)
	}
	// Decode word by word, keeping the ones that fail.
	var b strings.Builder
	prevEncoded := false
	pendingSpace := ""
	for _, tok := range splitKeepSpace(s) {
		if strings.TrimSpace(tok) == "" {
			pendingSpace += tok
			continue
		}
		if strings.HasPrefix(tok, "=?") && strings.HasSuffix(tok, "?=") {
			if d, err := wordDecoder.Decode(tok); err == nil {
				if !prevEncoded {
					b.WriteString(pendingSpace)
				}
				pendingSpace = ""
				b.WriteString(d)
				prevEncoded = true
				continue
			}
		}
		b.WriteString(pendingSpace)
		pendingSpace = ""
		b.WriteString(tok)
		prevEncoded = false
	}
	b.WriteString(pendingSpace)
	return latin1IfInvalid(b.String())
}

// splitKeepSpace splits s into runs of white space and non-white space.
func splitKeepSpace(s string) []string {
	var out []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isSpace(s[i]) != isSpace(s[start]) {
			out = append(out, s[start:i])
			start = i
		}
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// latin1IfInvalid reads raw 8-bit header text that is not UTF-8 as
// ISO-8859-1, so that searches still see characters.
func latin1IfInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(rune(s[i]))
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
