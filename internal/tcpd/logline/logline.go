// Package logline classifies Courier log lines for courierlogger.
//
// Courier programs write one message per line to stderr and mark its
// severity with a prefix: `ERR:`, `CRIT:`, `ALERT:`, `EMERG:`, `WARN:`,
// `NOTICE:`, `INFO:` or `DEBUG:` (reference §1.4). courierlogger strips the
// prefix and uses it as the syslog level, so syslog shows
// `imapd: LOGIN, user=...` at level info.
//
// Invariant: Classify never fails; a line without a known prefix is logged
// whole at level ERR (unmarked stderr output is usually an error message
// from a library or perror), and the returned text is never longer than
// the input.
package logline

import "strings"

// Level is a syslog severity (RFC 5424 §6.2.1 numbering).
type Level int

const (
	Emerg Level = iota
	Alert
	Crit
	Err
	Warning
	Notice
	Info
	Debug
)

var prefixes = []struct {
	p string
	l Level
}{
	{"ERR:", Err}, {"ERROR:", Err}, {"CRIT:", Crit}, {"ALERT:", Alert}, {"EMERG:", Emerg},
	{"WARN:", Warning}, {"WARNING:", Warning}, {"NOTICE:", Notice}, {"INFO:", Info}, {"DEBUG:", Debug},
}

// Classify returns the level of line and the message without its prefix
// and the spaces after it.
func Classify(line string) (Level, string) {
	for _, p := range prefixes {
		if strings.HasPrefix(line, p.p) {
			return p.l, strings.TrimLeft(line[len(p.p):], " \t")
		}
	}
	return Err, line
}

// String is the lower-case level name (for the stderr fallback).
func (l Level) String() string {
	switch l {
	case Emerg:
		return "emerg"
	case Alert:
		return "alert"
	case Crit:
		return "crit"
	case Err:
		return "err"
	case Warning:
		return "warning"
	case Notice:
		return "notice"
	case Info:
		return "info"
	case Debug:
		return "debug"
	}
	return "unknown"
}
