package imapwire

import (
	"strconv"
	"strings"
)

// Star stands for "*" in a sequence set (RFC 3501 §9 seq-number).
const Star = 0

// Range is one element of a sequence set; Lo <= Hi after normalisation,
// except that Star (0) means "the largest number in use".
type Range struct{ Lo, Hi uint32 }

// SeqSet is a parsed sequence-set or uid-set. `5:3` is kept as 3:5 per
// RFC 3501 §9 ("5:3" and "3:5" are the same); Courier instead matches
// nothing for reversed ranges (reference §13.8) — we follow the RFC.
type SeqSet []Range

// Resolve returns the set with Star replaced by max and ranges ordered.
func (s SeqSet) Resolve(max uint32) SeqSet {
	out := make(SeqSet, len(s))
	for i, r := range s {
		lo, hi := r.Lo, r.Hi
		if lo == Star {
			lo = max
		}
		if hi == Star {
			hi = max
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		out[i] = Range{lo, hi}
	}
	return out
}

// Contains reports whether n is in a resolved set.
func (s SeqSet) Contains(n uint32) bool {
	for _, r := range s {
		if n >= r.Lo && n <= r.Hi {
			return true
		}
	}
	return false
}

// String formats the set in wire form.
func (s SeqSet) String() string {
	var sb strings.Builder
	num := func(n uint32) {
		if n == Star {
			sb.WriteByte('*')
		} else {
			sb.WriteString(strconv.FormatUint(uint64(n), 10))
		}
	}
	for i, r := range s {
		if i > 0 {
			sb.WriteByte(',')
		}
		num(r.Lo)
		if r.Hi != r.Lo {
			sb.WriteByte(':')
			num(r.Hi)
		}
	}
	return sb.String()
}

// CompressUIDs formats sorted-or-not numbers as a compact set in the
// given order, joining consecutive runs (COPYUID, reference §4.7).
func CompressUIDs(nums []uint32) string {
	var s SeqSet
	for _, n := range nums {
		if k := len(s); k > 0 && s[k-1].Hi+1 == n && s[k-1].Hi >= s[k-1].Lo {
			s[k-1].Hi = n
			continue
		}
		s = append(s, Range{n, n})
	}
	return s.String()
}

func (d *Decoder) seqNumber() (uint32, bool) {
	if d.Special('*') {
		return Star, true
	}
	n, ok := d.Number()
	if ok && n == 0 {
		// nz-number; Courier answers "* NO Invalid message sequence
		// number: 0" rather than BAD, so 0 is allowed through and the
		// command decides.
		return 0xFFFFFFFF, true
	}
	return n, ok
}

// SeqSet reads a sequence-set (RFC 3501 §9). A literal 0 is returned as
// 0xFFFFFFFF, which matches nothing, so callers can report it.
func (d *Decoder) SeqSet() (SeqSet, bool) {
	var s SeqSet
	for {
		lo, ok := d.seqNumber()
		if !ok {
			return nil, false
		}
		hi := lo
		if d.Special(':') {
			if hi, ok = d.seqNumber(); !ok {
				return nil, false
			}
		}
		if lo != Star && hi != Star && lo > hi {
			lo, hi = hi, lo
		}
		s = append(s, Range{lo, hi})
		if len(s) > d.lim.MaxSeqRanges {
			return nil, d.fail(ErrTooLong)
		}
		if !d.Special(',') {
			return s, true
		}
	}
}
