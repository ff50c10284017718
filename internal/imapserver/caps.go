package imapserver

import (
	"os"
	"strings"
)

// Capabilities builds the CAPABILITY list as Courier does (reference
// §3.1) from the environment, then appends the extensions this
// implementation adds (ours is a superset; each is implemented):
// LITERAL+ (RFC 7888), SASL-IR (RFC 4959, which Courier accepts without
// advertising) and, after login, UNSELECT, MOVE, SPECIAL-USE, ESEARCH.
func Capabilities(getenv func(string) string, postAuth bool) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	var caps string
	if getenv("IMAP_TLS") == "1" && getenv("IMAP_CAPABILITY_TLS") != "" {
		caps = getenv("IMAP_CAPABILITY_TLS")
	} else if v := getenv("IMAP_CAPABILITY"); v != "" {
		caps = v
	} else {
		caps = "IMAP4rev1"
	}
	list := strings.Fields(caps)
	if getenv("IMAP_DISABLETHREADSORT") == "1" {
		var keep []string
		for _, c := range list {
			u := strings.ToUpper(c)
			if u != "SORT" && !strings.HasPrefix(u, "THREAD=") {
				keep = append(keep, c)
			}
		}
		list = keep
	}
	// SMAP_CAPABILITY and OUTBOX (XCOURIEROUTBOX) are not offered:
	// neither SMAP nor the outbox is implemented.
	if getenv("IMAP_ACL") == "1" {
		list = append(list, "ACL", "ACL2=UNION")
	}
	if getenv("IMAP_ID_FIELDS") != "" {
		list = append(list, "ID")
	}
	// STARTTLS is not offered: TLS is provided by the TLS port wrapper;
	// see the package report.
	if getenv("IMAP_MOVE_EXPUNGE_TO_TRASH") == "1" {
		list = append(list, "XMAGICTRASH")
	}
	list = append(list, "ENABLE", "UTF8=ACCEPT", "LITERAL+", "SASL-IR")
	if postAuth {
		list = append(list, "UNSELECT", "MOVE", "SPECIAL-USE", "ESEARCH")
	}
	return strings.Join(dedupe(list), " ")
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	out := l[:0:0]
	for _, c := range l {
		u := strings.ToUpper(c)
		if seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, c)
	}
	return out
}
