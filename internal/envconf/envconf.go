// Package envconf reads the numeric settings that Courier's programs take
// from the environment (their configuration files are shell variable
// assignments, reference §6.4).
//
// It is strconv and nothing heavier: the session stages call it at every
// start, once per login, and fmt's scanning (which panics and recovers
// internally on an empty value) cost measurable CPU there.
//
// Invariant: a value that is unset, empty, not a number in
// strconv.ParseFloat's syntax (so no surrounding blanks and no units), out
// of the accepted range, or too large for a time.Duration gives the
// default.
package envconf

import (
	"math"
	"os"
	"strconv"
	"time"
)

// Seconds returns $name as a duration in seconds (fractions allowed) when
// it is a number above zero, else def. For timeouts and intervals, where
// zero would mean "at once" rather than "off".
func Seconds(name string, def time.Duration) time.Duration {
	return seconds(os.Getenv(name), def, false)
}

// SecondsAllowingZero is Seconds that also accepts 0, for settings where 0
// switches the wait off: the login stages' failure delays (which tests set
// to 0) and POP3_LOGIN_TIMEOUT.
func SecondsAllowingZero(name string, def time.Duration) time.Duration {
	return seconds(os.Getenv(name), def, true)
}

func seconds(v string, def time.Duration, zeroOK bool) time.Duration {
	if v == "" { // unset, the usual case: no ParseFloat error to allocate
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f == 0 && !zeroOK {
		return def
	}
	ns := f * float64(time.Second)
	if ns >= math.MaxInt64 { // 2^63 as a float64: would not convert (also +Inf)
		return def
	}
	return time.Duration(ns)
}
