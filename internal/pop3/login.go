package pop3

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Credentials are what a client presented in the AUTHORIZATION state.
type Credentials struct {
	User, Pass string
	Method     string // "USER" or the SASL mechanism
}

// Login runs the AUTHORIZATION state (RFC 1939 §4) as Courier's pop3login
// does (reference §6.2): greeting, CAPA, USER/PASS, AUTH PLAIN/LOGIN
// (RFC 5034, initial response allowed), UTF8, QUIT.
type Login struct {
	Conn      *Conn
	Capa      Capabilities
	Timeout   time.Duration // per command; 0 = none
	FailDelay time.Duration // sleep before "-ERR [AUTH]" (Courier: 5 s)

	// Check authenticates. nil means success: Serve returns at once
	// without replying (the session stage sends "+OK logged in.").
	Check func(Credentials) error
	// CRAM, when set, verifies a CRAM-MD5/CRAM-SHA1/CRAM-SHA256 answer
	// (RFC 2195): mech is the SASL name, challenge and response are the
	// base64 strings exchanged. nil means those mechanisms are refused.
	CRAM func(mech, challengeB64, responseB64 string) error
	// Hostname goes into the CRAM challenge; default "localhost".
	Hostname string
	// Random is the source of CRAM challenges (pop3login passes
	// crypto/rand.Reader): a field, not an import, so that pop3d, which
	// links this package, does not run crypto's package initialisers at
	// every login. Without it CRAM is not offered as working: the
	// exchange answers a temporary failure.
	Random io.Reader
	// IsTemporary tells a temporary authentication failure (answered
	// with [SYS/TEMP]) from a refused one.
	IsTemporary func(error) bool
	// Failed is called after each refused login, for the log.
	Failed func(Credentials, error)

	UTF8 bool // the client sent UTF8 (RFC 6856 §2)

	// StartTLS, when set and Capa.STLS is true, performs STLS (RFC 2595
	// §4): Serve flushes "+OK Begin SSL/TLS negotiation now.", abandons
	// its Conn (and whatever the client pipelined after STLS, which is
	// never interpreted: CVE-2011-0411 class) and continues on the Conn
	// returned, which must be built on the plaintext side of couriertls
	// (internal/starttls). The function may update Capa, External and
	// TLSRequired for the TLS state; Serve itself turns STLS and
	// TLSRequired off. An error ends Serve (Disconnected): the client is
	// mid-handshake.
	StartTLS func() (*Conn, error)
	// TLSRequired refuses USER, PASS and AUTH with "-ERR TLS required to
	// log in." (POP3_TLS_REQUIRED=1 before TLS, Courier's wording).
	TLSRequired bool
	// External is the verified client-certificate identity for AUTH
	// EXTERNAL; "" refuses the mechanism (fail closed).
	External string
	// Pre logs External in without a password (authdaemond PRE).
	Pre func(id string) error
	// TLSDone is set once STLS has succeeded (the "stls=1" of the log).
	TLSDone bool
}

// Serve returns the accepted credentials, or the Outcome that ended the
// session (Quit, Disconnected, TimedOut) with nil credentials.
func (l *Login) Serve() (*Credentials, Outcome) {
	c := l.Conn
	c.OK("Hello there.")
	user := ""
	haveUser := false
	for {
		c.SetTimeout(l.Timeout)
		line, err := c.ReadLine()
		if errors.Is(err, ErrLineTooLong) {
			c.Err("Command line too long.")
			continue
		}
		if err != nil {
			if isTimeout(err) {
				c.Err("Disconnected for inactivity.")
				c.Flush()
				return nil, TimedOut
			}
			return nil, Disconnected
		}
		cmd, args := splitCommand(line)
		if l.TLSRequired && (cmd == "USER" || cmd == "PASS" || cmd == "AUTH") {
			c.Err("TLS required to log in.")
			continue
		}
		switch cmd {
		case "CAPA":
			l.Capa.write(c)
		case "USER":
			if len(args) == 0 {
				c.Err("Invalid command.")
				haveUser = false
				continue
			}
			// Extra words are ignored, as Courier does.
			user, haveUser = args[0], true
			c.OK("Password required.")
		case "PASS":
			if !haveUser {
				c.Err("USER/PASS required.")
				continue
			}
			haveUser = false
			// The password is the rest of the line: some clients
			// allow spaces in it (RFC 1939 §7, PASS discussion).
			pass := ""
			if i := strings.IndexByte(line, ' '); i >= 0 {
				pass = line[i+1:]
			}
			if cr := l.try(Credentials{User: user, Pass: pass, Method: "USER"}); cr != nil {
				return cr, Quit
			}
		case "AUTH":
			if cr := l.auth(args); cr != nil {
				return cr, Quit
			}
		case "UTF8":
			l.UTF8 = true
			c.OK("UTF8 enabled")
		case "STLS":
			if !l.Capa.STLS || l.StartTLS == nil || len(args) > 0 {
				c.Err("TLS support not available.")
				continue
			}
			c.OK("Begin SSL/TLS negotiation now.")
			if err := c.Flush(); err != nil {
				return nil, Disconnected
			}
			nc, err := l.StartTLS()
			if err != nil {
				return nil, Disconnected
			}
			// Nothing of the plaintext phase survives: a half-given USER
			// is forgotten, as after a new connection.
			l.Conn, c = nc, nc
			user, haveUser = "", false
			l.Capa.STLS, l.TLSRequired, l.TLSDone = false, false, true
		case "QUIT":
			c.OK("Bye.")
			c.Flush()
			return nil, Quit
		case "NOOP":
			// RFC 1939 allows NOOP only in TRANSACTION; Courier refuses it too.
			c.Err("Invalid command.")
		case "":
			c.Err("Empty command.")
		default:
			c.Err("Invalid command.")
		}
	}
}

// try runs Check and answers a failure; it returns cr on success.
func (l *Login) try(cr Credentials) *Credentials {
	return l.finish(cr, l.Check(cr))
}

// finish answers the result err of an authentication attempt.
func (l *Login) finish(cr Credentials, err error) *Credentials {
	if err == nil {
		return &cr
	}
	if l.IsTemporary != nil && l.IsTemporary(err) {
		l.Conn.Err("[SYS/TEMP] Temporary problem, please try again later")
		return nil
	}
	return l.refuse(cr, err)
}

// refuse answers a refused login after Courier's delay; it returns nil.
func (l *Login) refuse(cr Credentials, err error) *Credentials {
	if l.Failed != nil {
		l.Failed(cr, err)
	}
	// Flush first so that the client is not left guessing for 5 s
	// about its previous pipelined replies.
	l.Conn.Flush()
	if l.FailDelay > 0 {
		time.Sleep(l.FailDelay)
	}
	l.Conn.Err("[AUTH] Login failed.")
	return nil
}

// auth implements AUTH (RFC 5034). PLAIN and LOGIN are accepted even when
// not advertised, like Courier (reference §13.4).
func (l *Login) auth(args []string) *Credentials {
	c := l.Conn
	if len(args) == 0 {
		if len(l.Capa.SASL) == 0 {
			c.Err("Invalid command.")
			return nil
		}
		// Pre-RFC 5034 clients list mechanisms this way (RFC 1734 practice).
		c.OK("Supported mechanisms follow")
		for _, m := range l.Capa.SASL {
			c.Line(m)
		}
		c.End()
		return nil
	}
	if len(args) > 2 {
		c.Err("Invalid command.")
		return nil
	}
	mech := strings.ToUpper(args[0])
	var initial *string
	if len(args) == 2 {
		initial = &args[1]
	}
	switch mech {
	case "PLAIN":
		resp, ok := l.challenge("", initial)
		if !ok {
			return nil
		}
		parts := strings.Split(string(resp), "\x00")
		if len(parts) != 3 || parts[1] == "" || (parts[0] != "" && parts[0] != parts[1]) {
			c.Err("[AUTH] Invalid PLAIN response.")
			return nil
		}
		return l.try(Credentials{User: parts[1], Pass: parts[2], Method: "PLAIN"})
	case "LOGIN":
		u, ok := l.challenge("Username:", initial)
		if !ok {
			return nil
		}
		p, ok := l.challenge("Password:", nil)
		if !ok {
			return nil
		}
		return l.try(Credentials{User: string(u), Pass: string(p), Method: "LOGIN"})
	case "EXTERNAL":
		// RFC 4422 Appendix A. The identity comes from the verified
		// client certificate only; without one the mechanism fails before
		// any exchange.
		if l.External == "" || l.Pre == nil {
			c.Err("[AUTH] Login failed.")
			return nil
		}
		authz, ok := l.challenge("", initial)
		if !ok {
			return nil
		}
		cr := Credentials{User: l.External, Method: mech}
		if len(authz) > 0 && string(authz) != l.External {
			return l.refuse(cr, errExternalAuthz)
		}
		return l.finish(cr, l.Pre(l.External))
	case "CRAM-MD5", "CRAM-SHA1", "CRAM-SHA256":
		if l.CRAM == nil || initial != nil {
			c.Err("Unsupported authentication mechanism.")
			return nil
		}
		host := l.Hostname
		if host == "" {
			host = "localhost"
		}
		var rnd [8]byte
		if l.Random == nil {
			c.Err("[SYS/TEMP] Temporary problem, please try again later")
			return nil
		}
		if _, err := io.ReadFull(l.Random, rnd[:]); err != nil {
			c.Err("[SYS/TEMP] Temporary problem, please try again later")
			return nil
		}
		ch := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("<%x.%d@%s>", rnd, time.Now().Unix(), host)))
		c.Line("+ " + ch)
		c.SetTimeout(l.Timeout)
		line, err := c.ReadLine()
		if err != nil || line == "*" {
			c.Err("Authentication cancelled.")
			return nil
		}
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
		user, _, ok := strings.Cut(string(dec), " ")
		if err != nil || !ok || user == "" {
			c.Err("Invalid base64 data.")
			return nil
		}
		cr := Credentials{User: user, Method: mech}
		return l.finish(cr, l.CRAM(mech, ch, strings.TrimSpace(line)))
	default:
		c.Err("Unsupported authentication mechanism.")
		return nil
	}
}

// errExternalAuthz refuses an EXTERNAL authorization identity that is not
// the certificate's (a proxy login, not supported).
var errExternalAuthz = errors.New("pop3: EXTERNAL authorization identity differs from the certificate")

// challenge sends "+ base64(prompt)" unless an initial response was given,
// and decodes the answer. "=" is an empty initial response and "*" cancels
// (RFC 5034 §4).
func (l *Login) challenge(prompt string, initial *string) ([]byte, bool) {
	c := l.Conn
	var line string
	if initial != nil {
		line = *initial
		if line == "=" {
			return nil, true
		}
	} else {
		c.Line("+ " + base64.StdEncoding.EncodeToString([]byte(prompt)))
		c.SetTimeout(l.Timeout)
		var err error
		line, err = c.ReadLine()
		if err != nil {
			c.Err("Invalid authentication response.")
			return nil, false
		}
	}
	if line == "*" {
		c.Err("Authentication cancelled.")
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
	if err != nil {
		c.Err("Invalid base64 data.")
		return nil, false
	}
	return b, true
}
