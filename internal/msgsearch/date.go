package msgsearch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadDate is returned by ParseDate for text without a usable date.
var ErrBadDate = errors.New("msgsearch: unparseable date")

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

var dateSpaces = strings.NewReplacer(",", " ", "\t", " ", "\r", " ", "\n", " ")

// obsolete zone names, RFC 5322 §4.3.
var zones = map[string]int{
	"ut": 0, "gmt": 0, "z": 0, "utc": 0,
	"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}

// parseDate parses RFC 5322 date-time. The returned time is in the zone
// the header states (a fixed offset), so callers comparing calendar dates
// "disregarding time and timezone" (RFC 3501 §6.4.4 SENTBEFORE) can use
// its Year/Month/Day directly.
func parseDate(s string) (time.Time, error) {
	clean := stripDateComments(s)
	clean = dateSpaces.Replace(clean)
	f := strings.Fields(clean)
	// Optional day of week.
	if len(f) > 0 && len(f[0]) >= 3 && isAlpha(f[0]) {
		if _, isMonth := months[strings.ToLower(f[0][:3])]; !isMonth {
			f = f[1:]
		}
	}
	if len(f) < 3 {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	var day int
	var mon time.Month
	var yearTok string
	// day month year, or the obsolete/common "month day year".
	if d, err := strconv.Atoi(f[0]); err == nil {
		day = d
		mon = months[strings.ToLower(prefix3(f[1]))]
		yearTok = f[2]
	} else if d, err := strconv.Atoi(f[1]); err == nil {
		day = d
		mon = months[strings.ToLower(prefix3(f[0]))]
		yearTok = f[2]
	}
	if mon == 0 || day < 1 || day > 31 {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	year, err := strconv.Atoi(yearTok)
	if err != nil || year < 0 || len(yearTok) > 4 {
		return time.Time{}, fmt.Errorf("%w: year in %q", ErrBadDate, s)
	}
	switch {
	case len(yearTok) <= 2 && year < 50:
		year += 2000
	case len(yearTok) <= 3:
		year += 1900
	}
	f = f[3:]
	hh, mm, ss := 0, 0, 0
	if len(f) > 0 && strings.Contains(f[0], ":") {
		tp := strings.Split(f[0], ":")
		if len(tp) < 2 || len(tp) > 3 {
			return time.Time{}, fmt.Errorf("%w: time in %q", ErrBadDate, s)
		}
		vals := []*int{&hh, &mm, &ss}
		for i, t := range tp {
			v, err := strconv.Atoi(t)
			if err != nil || len(t) > 2 {
				return time.Time{}, fmt.Errorf("%w: time in %q", ErrBadDate, s)
			}
			*vals[i] = v
		}
		if hh > 23 || mm > 59 || ss > 60 {
			return time.Time{}, fmt.Errorf("%w: time in %q", ErrBadDate, s)
		}
		f = f[1:]
	}
	offset := 0
	if len(f) > 0 {
		z := f[0]
		if (z[0] == '+' || z[0] == '-') && len(z) == 5 {
			v, err := strconv.Atoi(z[1:])
			if err == nil && v%100 < 60 {
				offset = (v/100*3600 + v%100*60)
				if z[0] == '-' {
					offset = -offset
				}
			}
		} else if h, ok := zones[strings.ToLower(z)]; ok {
			offset = h * 3600
		}
		// Military and unknown zones count as -0000 (RFC 5322 §4.3).
	}
	if ss == 60 {
		ss = 59
	}
	t := time.Date(year, mon, day, hh, mm, ss, 0, time.FixedZone("", offset))
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("%w: no such day in %q", ErrBadDate, s)
	}
	return t, nil
}

func prefix3(s string) string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func stripDateComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
