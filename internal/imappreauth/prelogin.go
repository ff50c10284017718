// Package imappreauth is the pre-authentication IMAP stage that imaplogin
// runs (reference §3): the greeting with the pre-login capability list,
// CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN and AUTHENTICATE (PLAIN,
// LOGIN, CRAM-*, EXTERNAL), the delay after a failed login, and the bound
// on the whole stage (Courier's alarm(60)).
// It uses internal/imapserver's connection and capability code, so both
// stages speak the same wire dialect.
//
// It is a package of its own, not part of imapserver, because it needs
// internal/starttls and the authdaemond request types, which the session
// stage (imapd, started once per login) must not link: every package a
// program links costs CPU at each process start.
//
// Invariants:
//   - The client is never read past the end of a line (exactread), so
//     nothing after the line that completes a login is consumed: commands
//     the client pipelined after it stay in the socket for the session
//     stage.
//   - After STARTTLS's OK nothing already read is interpreted: the reader
//     and its buffer are dropped before the handshake (internal/starttls's
//     contract; CVE-2011-0411 class).
//   - LOGIN and AUTHENTICATE are refused while TLS is required and absent,
//     and EXTERNAL needs the identity couriertls verified.
package imappreauth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/exactread"
	"gocourier/internal/imapserver"
	"gocourier/internal/imapwire"
	"gocourier/internal/starttls"
)

// AuthFunc checks credentials with authdaemond. It returns the account on
// success, an error wrapping authproto.ErrFail for a refused login, or any
// other error for a temporary problem (reference §3.3).
type AuthFunc func(req *authproto.Request) (*authproto.UserInfo, error)

// PreLogin configures the pre-authentication stage (reference §3).
type PreLogin struct {
	Auth         AuthFunc
	Service      string        // authlib service name ("imap")
	FailureDelay time.Duration // 5 s in Courier (§3.3)
	Timeout      time.Duration // alarm(60) in Courier
	Getenv       func(string) string
	Log          io.Writer // stderr
	Hostname     string    // for CRAM challenges
	IP, Port     string
	// Closer is called when the pre-auth timeout expires without deadline
	// support, to break a blocked read.
	Closer func()
	// IsTemporary classifies Auth errors; default authproto.IsTemporary.
	IsTemporary func(error) bool

	// TLSAvailable is starttls.Available's answer (couriertls and
	// TLS_CERTFILE usable), computed by the program: protocol code does
	// not look at files.
	TLSAvailable bool
	// StartTLS, when set, switches the connection to TLS (RFC 3501
	// §6.2.1). Run calls it after flushing "<tag> OK Begin SSL/TLS
	// negotiation now." and drops its own reader first, so nothing the
	// client pipelined after the command is ever interpreted (reference
	// §3.2, CVE-2011-0411 class); the function must follow the rest of
	// the internal/starttls contract (close extra socket copies, start
	// couriertls) and return the plaintext reader/writer. Afterwards
	// Getenv must report IMAP_TLS=1 (and TLS_EXTERNAL_ID, if any). An
	// error ends Run: the client is mid-handshake.
	StartTLS func() (io.Reader, io.Writer, error)

	// Random is the source of CRAM challenges (imaplogin passes
	// crypto/rand.Reader). It is a field, not an import, so that the
	// program chooses the source and this package stays free of crypto;
	// since the session stage (imapd) no longer links this package, that
	// is a matter of layering, not of imapd's start-up cost. Without it
	// the CRAM mechanisms answer a temporary failure.
	Random io.Reader
}

// tlsState is what the capability list and the login commands need to
// know about TLS; it changes once, after STARTTLS.
func (p *PreLogin) tlsState() imapserver.TLSState {
	return imapserver.TLSState{
		StartTLS:      p.StartTLS != nil && starttls.Offered("imap", p.Getenv, p.TLSAvailable),
		LoginDisabled: starttls.TLSRequired("imap", p.Getenv),
		External:      starttls.ExternalID("imap", p.Getenv) != "",
	}
}

// LoginResult is a successful authentication.
type LoginResult struct {
	Tag     string
	Account *authproto.UserInfo
	User    string // the login id given by the client
}

const textGreetingTail = "Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.  See COPYING for distribution information."

// Run serves one pre-auth connection. It returns a result on successful
// login (the caller then execs the session stage, which sends the tagged
// OK, §1.1), or nil after LOGOUT or a disconnect.
func (p *PreLogin) Run(r io.Reader, w io.Writer) (*LoginResult, error) {
	if p.Getenv == nil {
		p.Getenv = os.Getenv
	}
	if p.Log == nil {
		p.Log = io.Discard
	}
	if p.Service == "" {
		p.Service = "imap"
	}
	start := time.Now()
	lim := imapwire.DefaultLimits
	lim.MaxLiteral = 8192 // Courier: over 8192 is "IMAP command too long" (§5)
	lim.MaxToken = 16384
	lim.MaxLine = 64 << 10
	// Never read past the end of a line (exactread): nothing after the
	// successful LOGIN line may be consumed here, because commands the
	// client pipelined after it belong to the session stage (they stay
	// in the socket).
	c := imapserver.NewConn(exactread.New(r), w, lim)
	fmt.Fprintf(p.Log, "DEBUG: Connection, ip=[%s], port=[%s]\n", p.IP, p.Port)
	// The whole pre-auth phase is bounded (Courier's alarm(60)).
	if p.Timeout > 0 {
		deadline := time.AfterFunc(p.Timeout, func() {
			if p.Closer != nil {
				p.Closer()
			}
		})
		defer deadline.Stop()
		if dl, ok := r.(imapserver.Deadliner); ok {
			dl.SetReadDeadline(start.Add(p.Timeout))
			defer dl.SetReadDeadline(time.Time{})
		}
	}
	caps := imapserver.PreAuthCapabilities(p.Getenv, p.tlsState())
	c.W.Untagged("OK [CAPABILITY " + caps + "] " + textGreetingTail)
	if err := c.Flush(); err != nil {
		return nil, err
	}
	logDisc := func() {
		fmt.Fprintf(p.Log, "DEBUG: Disconnected, ip=[%s], port=[%s], time=%d\n", p.IP, p.Port, int(time.Since(start).Seconds()))
	}
	for {
		cmd, ok, ferr := c.ReadCommand()
		if ferr != nil {
			c.FatalBye(ferr)
			c.Flush()
			if !errors.Is(ferr, imapserver.ErrTooManyViolations) {
				logDisc()
			}
			return nil, ferr
		}
		if ok {
			res, done, err := p.dispatch(c, cmd, caps)
			if errors.Is(err, errStartTLS) {
				// The OK must reach the client before the handshake;
				// c and its buffer are then abandoned.
				if err := c.Flush(); err != nil {
					logDisc()
					return nil, err
				}
				nr, nw, err := p.StartTLS()
				if err != nil {
					fmt.Fprintf(p.Log, "ERR: STARTTLS failed, ip=[%s], port=[%s]: %v\n", p.IP, p.Port, err)
					return nil, fmt.Errorf("starttls: %w", err)
				}
				c = imapserver.NewConn(exactread.New(nr), nw, lim)
				if dl, ok := nr.(imapserver.Deadliner); ok && p.Timeout > 0 {
					dl.SetReadDeadline(start.Add(p.Timeout))
				}
				caps = imapserver.PreAuthCapabilities(p.Getenv, p.tlsState())
				continue
			}
			if err != nil {
				c.Flush()
				if !errors.Is(err, imapserver.ErrTooManyViolations) && !errors.Is(err, errTemporary) {
					logDisc()
				}
				return nil, err
			}
			if res != nil {
				return res, nil
			}
			if done {
				err := c.Flush()
				fmt.Fprintf(p.Log, "INFO: LOGOUT, ip=[%s], port=[%s], rcvd=%d, sent=%d\n", p.IP, p.Port, c.Dec.BytesRead, c.W.BytesSent())
				return nil, err
			}
		}
		if err := c.Flush(); err != nil {
			logDisc()
			return nil, err
		}
	}
}

var errTemporary = errors.New("temporary authentication problem")

// errStartTLS tells Run that dispatch answered STARTTLS with OK.
var errStartTLS = errors.New("starttls accepted")

func (p *PreLogin) dispatch(c *imapserver.Conn, cmd imapserver.Command, caps string) (*LoginResult, bool, error) {
	d := c.Dec
	switch cmd.Name {
	case "CAPABILITY", "NOOP", "LOGOUT":
		if !d.CRLF() {
			return nil, false, c.SyntaxError(cmd.Tag)
		}
		switch cmd.Name {
		case "CAPABILITY":
			c.W.Untagged("CAPABILITY " + caps)
			c.OK(cmd.Tag, "CAPABILITY completed")
		case "NOOP":
			c.OK(cmd.Tag, "NOOP completed")
		default:
			c.W.Untagged("BYE " + imapserver.TextShutdown)
			c.OK(cmd.Tag, "LOGOUT completed")
			return nil, true, nil
		}
		return nil, false, nil
	case "LOGIN":
		if !d.SP() {
			return nil, false, c.SyntaxError(cmd.Tag)
		}
		user, ok := d.AString()
		if ok {
			ok = d.SP()
		}
		var pass string
		if ok {
			pass, ok = d.AString()
		}
		if ok {
			ok = d.CRLF()
		}
		if !ok {
			return nil, false, c.SyntaxError(cmd.Tag)
		}
		if p.tlsState().LoginDisabled {
			c.No(cmd.Tag, "STARTTLS required")
			return nil, false, nil
		}
		return p.finish(c, cmd.Tag, user, "", authproto.NewLogin(p.Service, user, pass))
	case "STARTTLS":
		if !d.CRLF() {
			return nil, false, c.SyntaxError(cmd.Tag)
		}
		// Not offered, or already on TLS (IMAP_TLS=1): Courier's NO.
		if !p.tlsState().StartTLS {
			return nil, false, c.GenericNo(cmd.Tag)
		}
		c.OK(cmd.Tag, "Begin SSL/TLS negotiation now.")
		return nil, false, errStartTLS
	case "AUTHENTICATE":
		return p.authenticate(c, cmd)
	case "ID":
		// RFC 2971 §3: ID is valid in every state, so once IMAP_ID_FIELDS
		// advertises it the greeting's promise holds before login too
		// (Courier's imaplogin refuses it: reference §3.2). The client's
		// list is read within the line limit and ignored.
		if p.Getenv("IMAP_ID_FIELDS") != "" {
			if err := d.DiscardLine(); err != nil {
				return nil, false, err
			}
			c.W.Untagged(imapserver.IDResponse(p.Getenv))
			c.OK(cmd.Tag, "ID completed")
			return nil, false, nil
		}
	}
	if err := d.DiscardLine(); err != nil {
		return nil, false, err
	}
	// A known command in the wrong state gets Courier's NO (reference
	// §3.2); an unknown command is a syntax error: BAD (RFC 3501 §7.1.5).
	if imapserver.IsSessionCommand(cmd.Name) || cmd.Name == "UID" || cmd.Name == "STARTTLS" {
		return nil, false, c.GenericNo(cmd.Tag)
	}
	return nil, false, c.GenericBad(cmd.Tag)
}

// finish asks authd and applies Courier's failure policy.
func (p *PreLogin) finish(c *imapserver.Conn, tag, user, method string, req *authproto.Request) (*LoginResult, bool, error) {
	var ui *authproto.UserInfo
	err := errors.New("no authenticator")
	if req != nil && p.Auth != nil {
		ui, err = p.Auth(req)
	}
	if err == nil {
		return &LoginResult{Tag: tag, Account: ui, User: user}, false, nil
	}
	isTemp := p.IsTemporary
	if isTemp == nil {
		isTemp = authproto.IsTemporary
	}
	if req != nil && p.Auth != nil && isTemp(err) {
		fmt.Fprintf(p.Log, "ERR: authentication error: %v\n", err)
		c.W.Untagged("BYE Temporary problem, please try again later")
		c.Flush()
		return nil, false, fmt.Errorf("%w: %v", errTemporary, err)
	}
	if method != "" {
		fmt.Fprintf(p.Log, "INFO: LOGIN FAILED, method=%s, ip=[%s], port=[%s]\n", method, p.IP, p.Port)
	} else {
		fmt.Fprintf(p.Log, "INFO: LOGIN FAILED, user=%s, ip=[%s], port=[%s]\n", user, p.IP, p.Port)
	}
	c.Flush()
	time.Sleep(p.FailureDelay)
	c.No(tag, "Login failed.")
	return nil, false, nil
}

// authenticate runs RFC 3501 §6.2.2 with SASL-IR (RFC 4959).
func (p *PreLogin) authenticate(c *imapserver.Conn, cmd imapserver.Command) (*LoginResult, bool, error) {
	d := c.Dec
	if !d.SP() {
		return nil, false, c.SyntaxError(cmd.Tag)
	}
	mech, ok := d.Atom()
	if !ok {
		return nil, false, c.SyntaxError(cmd.Tag)
	}
	mech = strings.ToUpper(mech)
	var ir *string
	if d.Special(' ') {
		s, ok := d.AtomBracket()
		if !ok {
			// '=' is an atom char; base64 is atom-safe.
			return nil, false, c.SyntaxError(cmd.Tag)
		}
		ir = &s
	}
	if !d.CRLF() {
		return nil, false, c.SyntaxError(cmd.Tag)
	}
	if p.tlsState().LoginDisabled {
		c.No(cmd.Tag, "STARTTLS required")
		return nil, false, nil
	}
	// readResp sends a challenge and reads one base64 line; "*" cancels.
	readResp := func(challenge string) ([]byte, bool, error) {
		if err := c.W.Continue(challenge); err != nil {
			return nil, false, err
		}
		line, err := c.ReadLine(16384)
		if err != nil {
			return nil, false, err
		}
		c.Dec.BytesRead += int64(len(line)) + 2
		if line == "*" {
			return nil, false, nil
		}
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, false, nil
		}
		return b, true, nil
	}
	// firstResponse is the client's first SASL response: the initial
	// response given with the command (RFC 4959 §3; "=" is empty), or the
	// answer to an empty challenge. ok is false for a cancel or bad base64.
	firstResponse := func() (data []byte, ok bool, err error) {
		if ir == nil {
			return readResp("")
		}
		if *ir == "=" {
			return nil, true, nil
		}
		b, err := base64.StdEncoding.DecodeString(*ir)
		return b, err == nil, nil
	}
	fail := func() (*LoginResult, bool, error) { return p.finish(c, cmd.Tag, "", mech, nil) }
	switch mech {
	case "PLAIN":
		data, ok, err := firstResponse()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return fail()
		}
		parts := bytes.Split(data, []byte{0})
		if len(parts) != 3 {
			return fail()
		}
		user, pass := string(parts[1]), string(parts[2])
		return p.finish(c, cmd.Tag, user, mech, authproto.NewLogin(p.Service, user, pass))
	case "LOGIN":
		var user []byte
		if ir != nil {
			b, err := base64.StdEncoding.DecodeString(*ir)
			if err != nil {
				return fail()
			}
			user = b
		} else {
			b, ok, err := readResp(base64.StdEncoding.EncodeToString([]byte("Username:")))
			if err != nil {
				return nil, false, err
			}
			if !ok {
				return fail()
			}
			user = b
		}
		pass, ok, err := readResp(base64.StdEncoding.EncodeToString([]byte("Password:")))
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return fail()
		}
		return p.finish(c, cmd.Tag, string(user), mech, authproto.NewLogin(p.Service, string(user), string(pass)))
	case "CRAM-MD5", "CRAM-SHA1", "CRAM-SHA256":
		var rnd [16]byte
		if p.Random == nil || readFull(p.Random, rnd[:]) != nil {
			c.W.Tagged(cmd.Tag, "NO", "[UNAVAILABLE] Temporary problem, please try again later")
			return nil, false, nil
		}
		host := p.Hostname
		if host == "" {
			host, _ = os.Hostname()
		}
		chal := base64.StdEncoding.EncodeToString([]byte("<" + strings.ToUpper(hex.EncodeToString(rnd[:])) + "@" + host + ">"))
		resp, ok, err := readResp(chal)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return fail()
		}
		user, _, _ := strings.Cut(string(resp), " ")
		return p.finish(c, cmd.Tag, user, mech, authproto.NewCram(p.Service, strings.ToLower(mech), chal, base64.StdEncoding.EncodeToString(resp)))
	case "EXTERNAL":
		// RFC 4422 Appendix A: the identity is the verified client
		// certificate's TLS_EXTERNAL field, set by couriertls only;
		// without one (no TLS, no certificate, certificate lacking the
		// field) the mechanism fails closed before any exchange.
		id := starttls.ExternalID("imap", p.Getenv)
		if id == "" {
			return fail()
		}
		authz, ok, err := firstResponse()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return fail()
		}
		// An authorization identity other than the certificate's would
		// be a proxy login, which is not supported.
		if len(authz) > 0 && string(authz) != id {
			return fail()
		}
		return p.finish(c, cmd.Tag, id, mech, authproto.NewPre(p.Service, id))
	}
	return fail()
}

func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	return err
}
