package pop3

import (
	"strconv"
	"strings"
)

// Capabilities is what CAPA lists (RFC 2449 §5). Courier gives the same
// list before and after login (reference §6.1), so both stages build it
// from the same environment with CapabilitiesFromEnv.
type Capabilities struct {
	SASL       []string // mechanisms advertised (POP3AUTH / POP3AUTH_TLS)
	STLS       bool     // STLS offered
	LoginDelay int      // seconds; 0 = not advertised
	Expire     string   // "NEVER", a day count, or "" = not advertised
}

// CapabilitiesFromEnv reads the settings of the pop3d/pop3d-ssl config
// files (exported into the environment by the rc script, reference §6.4).
//
//	POP3AUTH / POP3AUTH_TLS  SASL mechanisms advertised (the _TLS one when POP3_TLS=1)
//	POP3_LOGIN_DELAY         LOGIN-DELAY value; Courier always says 10 (default 10, 0 = omit)
//	POP3_EXPIRE              EXPIRE value (e.g. NEVER, 30); unset = omit
//
// On TLS with a verified client certificate (TLS_EXTERNAL_ID, set only by
// couriertls) EXTERNAL is added to the SASL list, as Courier does
// ("SASL <list> EXTERNAL", reference §6.1). STLS depends on files
// (couriertls, the certificate), so the login stage sets it.
func CapabilitiesFromEnv(getenv func(string) string) Capabilities {
	var c Capabilities
	list := getenv("POP3AUTH")
	if getenv("POP3_TLS") == "1" {
		list = getenv("POP3AUTH_TLS")
	}
	c.SASL = strings.Fields(strings.ToUpper(list))
	if getenv("POP3_TLS") == "1" && getenv("TLS_EXTERNAL_ID") != "" && len(c.SASL) > 0 {
		c.SASL = append(c.SASL, "EXTERNAL")
	}
	c.LoginDelay = 10
	if v := getenv("POP3_LOGIN_DELAY"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			c.LoginDelay = n
		}
	}
	c.Expire = strings.TrimSpace(getenv("POP3_EXPIRE"))
	return c
}

// write sends the CAPA response.
func (c Capabilities) write(conn *Conn) {
	conn.OK("Capability list follows")
	if len(c.SASL) > 0 {
		conn.Line("SASL " + strings.Join(c.SASL, " "))
	}
	if c.STLS {
		conn.Line("STLS")
	}
	conn.Line("TOP")
	conn.Line("USER")
	if c.LoginDelay > 0 {
		conn.Line("LOGIN-DELAY " + strconv.Itoa(c.LoginDelay))
	}
	if c.Expire != "" {
		conn.Line("EXPIRE " + c.Expire)
	}
	conn.Line("PIPELINING")
	conn.Line("UIDL")
	conn.Line("RESP-CODES")
	conn.Line("AUTH-RESP-CODE")
	conn.Line("UTF8 USER")
	conn.Line("IMPLEMENTATION Courier Mail Server")
	conn.End()
}

// splitCommand returns the upper-cased command word and its arguments.
// POP3 separates arguments by single spaces (RFC 1939 §3); runs of spaces
// and tabs are tolerated as clients are sloppy.
func splitCommand(line string) (string, []string) {
	f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) == 0 {
		return "", nil
	}
	return strings.ToUpper(f[0]), f[1:]
}
