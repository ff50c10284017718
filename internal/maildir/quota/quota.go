// Package quota implements the Maildir++ quota file "maildirsize"
// (maildirquota(7); reference §9.9) as Courier 5.0.13 writes it.
//
// Invariants:
//   - Line 1 is the quota spec ("10000000S,1000C"); every other line is a
//     delta "<bytes> <count>" written as "%12d %12d\n" (26 bytes), appended
//     with a single O_APPEND write so concurrent writers do not interleave.
//   - The file is recalculated from the folders when it is missing, when
//     it is >= 5120 bytes, or when it looks over quota and has more than one
//     delta line or is older than 15 minutes. A recalculation is written via
//     tmp/ and rename().
//   - Parsing never fails on hostile input: unparsable delta lines are
//     ignored, the spec is taken from the first line only.
package quota

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxFileSize is the size at which Courier recalculates maildirsize.
const MaxFileSize = 5120

// Spec is a quota specification. Zero means "no limit" for that resource.
type Spec struct {
	Bytes int64 // S
	Count int64 // C
}

// IsZero reports whether the spec imposes no limit at all.
func (s Spec) IsZero() bool { return s.Bytes <= 0 && s.Count <= 0 }

// String renders the spec in maildirsize form, e.g. "10000000S,1000C".
func (s Spec) String() string {
	var parts []string
	if s.Bytes > 0 {
		parts = append(parts, strconv.FormatInt(s.Bytes, 10)+"S")
	}
	if s.Count > 0 {
		parts = append(parts, strconv.FormatInt(s.Count, 10)+"C")
	}
	return strings.Join(parts, ",")
}

// ParseSpec parses "NS,MC". Unknown parts are ignored like Courier's
// parser does; an empty string is no quota.
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	s = strings.TrimSpace(s)
	if s == "" {
		return sp, nil
	}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if len(p) < 2 {
			if p == "" {
				continue
			}
			return sp, fmt.Errorf("quota: bad spec part %q", p)
		}
		n, err := strconv.ParseInt(p[:len(p)-1], 10, 64)
		if err != nil || n < 0 {
			return sp, fmt.Errorf("quota: bad spec part %q", p)
		}
		switch p[len(p)-1] {
		case 'S':
			sp.Bytes = n
		case 'C':
			sp.Count = n
		default:
			return sp, fmt.Errorf("quota: bad spec part %q", p)
		}
	}
	return sp, nil
}

// File is a parsed maildirsize.
type File struct {
	Spec      Spec
	SpecLine  string // first line as found
	Bytes     int64  // sum of deltas
	Count     int64
	Lines     int // number of delta lines
	BadLines  int // unparsable delta lines (ignored)
	Truncated bool
}

// Parse reads a maildirsize file. At most MaxFileSize*4 bytes are read.
func Parse(r io.Reader) (File, error) {
	var f File
	br := bufio.NewReader(io.LimitReader(r, MaxFileSize*4))
	first := true
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if !strings.HasSuffix(line, "\n") {
				// An incomplete last line is a torn write; ignore it.
				f.Truncated = true
				if !first {
					break
				}
			}
			line = strings.TrimRight(line, "\r\n")
			if first {
				f.SpecLine = line
				f.Spec, _ = ParseSpec(line)
				first = false
			} else {
				fs := strings.Fields(line)
				if len(fs) != 2 {
					f.BadLines++
					continue
				}
				b, e1 := strconv.ParseInt(fs[0], 10, 64)
				c, e2 := strconv.ParseInt(fs[1], 10, 64)
				if e1 != nil || e2 != nil {
					f.BadLines++
					continue
				}
				f.Bytes += b
				f.Count += c
				f.Lines++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return f, fmt.Errorf("quota: read maildirsize: %w", err)
		}
	}
	return f, nil
}

// DeltaLine formats one delta line exactly as Courier 5.0.13: "%12d %12d\n".
func DeltaLine(bytes, count int64) string {
	return fmt.Sprintf("%12d %12d\n", bytes, count)
}

// Over reports whether adding (bytes,count) to usage (ub,uc) exceeds spec.
// Courier refuses when the new total would be above the limit; a delta
// that shrinks usage is always allowed.
func (s Spec) Over(ub, uc, bytes, count int64) bool {
	if bytes <= 0 && count <= 0 {
		return false
	}
	if s.Bytes > 0 && ub+bytes > s.Bytes {
		return true
	}
	if s.Count > 0 && uc+count > s.Count {
		return true
	}
	return false
}

// Usage is a quota query answer (IMAP GETQUOTA, reference §4.9).
type Usage struct {
	Spec  Spec
	Bytes int64
	Count int64
}
