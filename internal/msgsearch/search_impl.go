package msgsearch

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"gocourier/internal/charset"

	"gocourier/internal/mime"
)

func toUTF8(cs string, b []byte) (string, error) {
	name := strings.ToLower(strings.TrimSpace(cs))
	switch name {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return string(b), nil
	}
	r, err := charset.Reader(name, bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadCharset, cs, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("msgsearch: convert from %q: %w", cs, err)
	}
	return string(out), nil
}

func headerContains(hdr mime.Header, field, needle string) bool {
	m := newMatcher(needle)
	for _, f := range hdr.Fields {
		if !strings.EqualFold(f.Name, field) {
			continue
		}
		v := mime.Unfold(f.Value)
		if needle == "" || m.matchString(mime.DecodeWords(v)) {
			return true
		}
		if isAddressField(f.Name) && m.matchString(addressText(v)) {
			return true
		}
	}
	return false
}

// isAddressField reports whether a field holds an RFC 5322 address list.
func isAddressField(name string) bool {
	switch strings.ToLower(name) {
	case "from", "to", "cc", "bcc", "sender", "reply-to":
		return true
	}
	return false
}

// addressText renders the parsed addresses of an address field as
// "Name <mailbox@host>, ..." without comments, quoting or folding, so that
// FROM "user@domain.org" finds "<user (comment)@ (comment) domain.org>":
// RFC 3501 §6.4.4 matches against the envelope's address structure, not
// the raw header text (which is matched too, so nothing that matched
// before stops matching).
func addressText(v string) string {
	var b strings.Builder
	for _, a := range mime.ParseAddressList(v) {
		if a.GroupEnd {
			b.WriteString("; ")
			continue
		}
		if a.GroupStart {
			b.WriteString(mime.DecodeWords(a.Mailbox))
			b.WriteString(": ")
			continue
		}
		if a.Name != "" {
			b.WriteString(mime.DecodeWords(a.Name))
			b.WriteByte(' ')
		}
		b.WriteByte('<')
		b.WriteString(a.Mailbox)
		if a.Host != "" {
			b.WriteByte('@')
			b.WriteString(a.Host)
		}
		b.WriteString(">, ")
	}
	return b.String()
}

func anyHeaderContains(hdr mime.Header, needle string) bool {
	m := newMatcher(needle)
	for _, f := range hdr.Fields {
		if m.matchString(f.Name + ": " + mime.DecodeWords(mime.Unfold(f.Value))) {
			return true
		}
	}
	return false
}

// ioRecorder remembers read failures of the message file, to tell them
// apart from decoding failures of hostile content (after which the part
// just stops matching).
type ioRecorder struct {
	r   io.Reader
	err error
}

func (e *ioRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// decodedBody returns a reader of the decoded, UTF-8 text of a leaf part.
func decodedBody(raw io.Reader, p *mime.Part) io.Reader {
	rd := raw
	switch strings.ToLower(p.Encoding) {
	case "base64":
		rd = base64.NewDecoder(base64.StdEncoding, &base64Filter{r: rd})
	case "quoted-printable":
		rd = quotedprintable.NewReader(rd)
	}
	cs := ""
	for _, prm := range p.Params {
		if strings.EqualFold(prm.Name, "charset") {
			cs = strings.ToLower(strings.TrimSpace(prm.Value))
		}
	}
	switch cs {
	case "", "us-ascii", "utf-8", "utf8":
		return rd
	}
	if cr, err := charset.Reader(cs, rd); err == nil {
		return cr
	}
	return rd
}

// base64Filter drops bytes that are not part of the base64 alphabet, as
// mail readers do (RFC 2045 §6.8: "any characters outside of the base64
// alphabet are to be ignored").
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

func bodyContains(r io.ReaderAt, size int64, root *mime.Part, needle string) (bool, error) {
	if root == nil {
		return false, nil
	}
	m := newMatcher(needle)
	found := false
	var ferr error
	root.Walk(func(p *mime.Part) bool {
		if p != root && p.Envelope != nil {
			// An embedded message: its header is body text of the outer one.
			h, err := p.Header(r)
			if err != nil && !errors.Is(err, mime.ErrHeaderTooLarge) {
				ferr = fmt.Errorf("msgsearch: read embedded header: %w", err)
				return false
			}
			if anyHeaderContains(h, needle) {
				found = true
				return false
			}
		}
		if p.Type != "text" || p.IsMultipart() || p.Message != nil {
			return true
		}
		rec := &ioRecorder{r: p.Body(r)}
		ok, _ := m.matchReader(decodedBody(rec, p))
		if rec.err != nil {
			ferr = fmt.Errorf("msgsearch: read body: %w", rec.err)
			return false
		}
		if ok {
			found = true
			return false
		}
		return true
	})
	return found, ferr
}

func textContains(r io.ReaderAt, size int64, root *mime.Part, needle string) (bool, error) {
	if root == nil {
		return false, nil
	}
	h, err := root.Header(r)
	if err != nil && !errors.Is(err, mime.ErrHeaderTooLarge) {
		return false, fmt.Errorf("msgsearch: read header: %w", err)
	}
	if anyHeaderContains(h, needle) {
		return true, nil
	}
	return bodyContains(r, size, root, needle)
}
