package imapserver

import (
	"os"
	"strings"
)

// Capabilities builds the CAPABILITY list as Courier does (reference
// §3.1) from the environment, then appends the extensions this
// implementation adds (ours is a superset; each is implemented):
// LITERAL+ (RFC 7888), SASL-IR (RFC 4959, which Courier accepts without
// advertising) and, after login, UNSELECT, MOVE, SPECIAL-USE, ESEARCH,
// CONDSTORE and QRESYNC (RFC 7162; IMAP_CONDSTORE=0 leaves them out).
func Capabilities(getenv func(string) string, postAuth bool) string {
	return capabilities(getenv, postAuth, TLSState{})
}

// TLSState is what the pre-auth stage knows about TLS (reference §3.1
// item 5): whether STARTTLS is offered (IMAP_STARTTLS=YES, not yet on TLS,
// couriertls and the certificate present), whether TLS is required before
// login, and whether a verified client certificate makes EXTERNAL usable.
type TLSState struct {
	StartTLS      bool // advertise STARTTLS
	LoginDisabled bool // LOGINDISABLED; LOGIN/AUTHENTICATE refused (IMAP_TLS_REQUIRED=1 before TLS)
	External      bool // advertise AUTH=EXTERNAL (on TLS with TLS_EXTERNAL_ID)
}

// PreAuthCapabilities is Capabilities before login with the TLS items
// placed where Courier puts them (after ACL and ID, before XMAGICTRASH).
func PreAuthCapabilities(getenv func(string) string, tls TLSState) string {
	return capabilities(getenv, false, tls)
}

func capabilities(getenv func(string) string, postAuth bool, tls TLSState) string {
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
	// STARTTLS only before login (imapd forces IMAP_STARTTLS=NO, §3.1).
	if !postAuth {
		if tls.StartTLS {
			list = append(list, "STARTTLS")
		} else if tls.External {
			list = append(list, "AUTH=EXTERNAL")
		}
		// Courier says LOGINDISABLED only next to STARTTLS; we refuse
		// logins whenever TLS is required and absent (fail closed, even
		// if couriertls or the certificate is missing), so we say so.
		if tls.LoginDisabled {
			list = append(list, "LOGINDISABLED")
		}
	}
	if getenv("IMAP_MOVE_EXPUNGE_TO_TRASH") == "1" {
		list = append(list, "XMAGICTRASH")
	}
	list = append(list, "ENABLE", "UTF8=ACCEPT", "LITERAL+", "SASL-IR")
	if postAuth {
		list = append(list, "UNSELECT", "MOVE", "SPECIAL-USE", "ESEARCH")
		if condstoreOffered(getenv) {
			list = append(list, "CONDSTORE", "QRESYNC") // RFC 7162, condstore.go
		}
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
