// Package charset turns text in a MIME charset into UTF-8, for SEARCH and
// for RFC 2047 encoded words.
//
// Names are resolved with the WHATWG encoding labels (the same table as
// x/text's htmlindex, as a switch: see lookup), which cover what mail actually carries (ISO-8859-*, windows-125x, KOI8,
// Shift_JIS, EUC-JP, ISO-2022-JP, GBK/GB18030, Big5, EUC-KR, UTF-16) and
// map the old names to their supersets (ISO-8859-1 is read as windows-1252,
// GB2312 as GBK), which is right for matching text.
//
// Why not go-message/charset: its package init builds about 74 kB of
// tables in every process that links it, and every imapd links this code;
// htmlindex costs about 5 kB (measured with runtime.MemStats after init).
// Session memory per idle connection is a goal of the project (DESIGN.md §7).
package charset

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/transform"
)

// ErrUnknown is returned for a charset name we cannot decode.
var ErrUnknown = errors.New("charset: unknown charset")

// IsUTF8 reports whether name needs no conversion: UTF-8 and its ASCII
// subset (RFC 2046 §4.1.2: the default charset is US-ASCII).
func IsUTF8(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		return true
	}
	return false
}

// Reader returns a reader of r's text converted from charset name to UTF-8.
// Bytes that are invalid in the charset become U+FFFD; they never stop the
// stream (hostile input must not hide the rest of a message from SEARCH).
func Reader(name string, r io.Reader) (io.Reader, error) {
	if IsUTF8(name) {
		return r, nil
	}
	enc := lookup(strings.ToLower(strings.TrimSpace(name)))
	if enc == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	return transform.NewReader(r, enc.NewDecoder()), nil
}
