// Package login is what the login stages (imaplogin, pop3login) share: asking
// authdaemond about a user (through internal/authclient) and turning a
// successful answer into the session process (reference §1.2, §8).
//
// Invariants:
//   - Every call opens one connection to paths.AuthdaemonSocket() and sends
//     one request, with TCPREMOTEIP as a meta line when it is set (§10.2).
//   - A FAIL reply is ErrLoginFailed; everything else that goes wrong (no
//     socket, timeout, EOF before a complete reply) is a temporary error,
//     which the caller answers with "Temporary problem, please try again
//     later" (§3.3). IsTemporary tells them apart.
//   - ExecSession never returns on success, and never execs while still
//     root: privdrop.Drop must succeed first.
package login

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"gocourier/internal/authclient"
	"gocourier/internal/authproto"
	"gocourier/internal/handoff"
	"gocourier/internal/paths"
	"gocourier/internal/privdrop"
)

// Account is the user information authdaemond returned.
type Account = authproto.UserInfo

// ErrLoginFailed is a FAIL reply: unknown user or wrong password. The
// caller applies Courier's 5 s delay, not this package (§10.3).
var ErrLoginFailed = authproto.ErrFail

// ErrTemporary is wrapped by every temporary error.
var ErrTemporary = authproto.ErrTemporary

// client returns a client for the configured socket; a variable so tests
// can count calls.
var client = func() *authclient.Client {
	return authclient.New(paths.AuthdaemonSocket())
}

func withMeta(req *authproto.Request) *authproto.Request {
	if ip := os.Getenv("TCPREMOTEIP"); ip != "" && !strings.ContainsAny(ip, "\n\x00") {
		req.Meta = append(req.Meta, authproto.Meta{Name: "TCPREMOTEIP", Value: ip})
	}
	return req
}

// ApplyDefDomain appends $DEFDOMAIN to a login id that lacks a domain, as
// libcourierauth does (§12.1): when DOMAINSEP is set, the id lacks a domain
// if it contains none of DOMAINSEP's characters; otherwise if it does not
// contain DEFDOMAIN's first character (normally '@').
func ApplyDefDomain(user string) string {
	def := os.Getenv("DEFDOMAIN")
	if def == "" {
		return user
	}
	if sep := os.Getenv("DOMAINSEP"); sep != "" {
		if strings.ContainsAny(user, sep) {
			return user
		}
		return user + def
	}
	if strings.ContainsRune(user, rune(def[0])) {
		return user
	}
	return user + def
}

// Login authenticates user/pass for service with AUTH login. DEFDOMAIN is
// applied to user first. It returns ErrLoginFailed on FAIL, or an error
// for which IsTemporary is true.
func Login(service, user, pass string) (*authproto.UserInfo, error) {
	if strings.ContainsAny(user, "\n\x00") || strings.ContainsAny(pass, "\n\x00") || user == "" {
		// Cannot be sent in AUTH login; no account can match it.
		return nil, fmt.Errorf("login %s: %w", service, ErrLoginFailed)
	}
	u, err := client().Do(withMeta(authproto.NewLogin(service, ApplyDefDomain(user), pass)))
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", service, err)
	}
	return u, nil
}

// CRAM authenticates a CRAM-MD5/SHA1/SHA256 exchange. mech is the SASL name
// ("CRAM-MD5") or the authdaemond type ("cram-md5"); challengeB64 is the
// base64 challenge that was sent, responseB64 the client's base64 answer
// ("user hexdigest"). authdaemond verifies the HMAC against the stored
// hmac-*pw secret, so the login stage never sees a secret.
func CRAM(service, mech, challengeB64, responseB64 string) (*authproto.UserInfo, error) {
	t := strings.ToLower(mech)
	switch t {
	case authproto.AuthCramMD5, authproto.AuthCramSHA1, authproto.AuthCramSHA256:
	default:
		return nil, fmt.Errorf("login: unsupported mechanism %q: %w", mech, ErrLoginFailed)
	}
	u, err := client().Do(withMeta(authproto.NewCram(service, t, challengeB64, responseB64)))
	if err != nil {
		return nil, fmt.Errorf("login %s %s: %w", service, t, err)
	}
	return u, nil
}

// Pre looks a user up without a password (PRE . service user), for
// EXTERNAL (TLS client certificates) and tools. DEFDOMAIN is applied.
func Pre(service, user string) (*authproto.UserInfo, error) {
	u, err := client().Do(withMeta(authproto.NewPre(service, ApplyDefDomain(user))))
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", service, err)
	}
	return u, nil
}

// IsTemporary reports whether err is a temporary failure (the caller
// answers "Temporary problem") rather than a plain login failure.
func IsTemporary(err error) bool {
	return err != nil && !errors.Is(err, ErrLoginFailed)
}

// ServiceName returns the authlib service name: $AUTHSERVICE<TCPLOCALPORT>
// when set (e.g. AUTHSERVICE993=imaps), else defaultService ("imap",
// "pop3") (§1.2).
func ServiceName(defaultService string) string {
	if port := os.Getenv("TCPLOCALPORT"); port != "" {
		if v := os.Getenv("AUTHSERVICE" + port); v != "" {
			return v
		}
	}
	return defaultService
}

// SessionEnv returns the environment for the session program: base with
// AUTHENTICATED=<Address>, OPTIONS=<Options>, MAILDIRQUOTA=<Quota> (only when
// authd returned a quota; the variable name Courier's maildir quota code
// reads) and extra appended, each replacing any earlier entry of the same
// name. MAILDIR is not set (§1.2): the maildir goes in argv[1].
func SessionEnv(u *authproto.UserInfo, base, extra []string) []string {
	add := []string{"AUTHENTICATED=" + u.Address, "OPTIONS=" + u.Options}
	if u.Quota != "" {
		add = append(add, "MAILDIRQUOTA="+u.Quota)
	}
	add = append(add, extra...)
	names := map[string]bool{}
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		names[k] = true
	}
	if u.Quota == "" {
		names["MAILDIRQUOTA"] = true // never inherit a stale quota
	}
	out := make([]string, 0, len(base)+len(add))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !names[k] {
			out = append(out, kv)
		}
	}
	return append(out, add...)
}

// SessionMaildir is argv[1] for the session: the account's MAILDIR, or
// defaultMaildir (normally "Maildir", relative to HOME) when none.
func SessionMaildir(u *authproto.UserInfo, defaultMaildir string) string {
	if u.Maildir != "" {
		return u.Maildir
	}
	return defaultMaildir
}

// ExecSession drops to the account (privdrop.Drop(u.UID, u.GID)), changes
// to u.Home and execs program with argv [program, maildir] and the
// environment of SessionEnv(u, os.Environ(), extraEnv). It returns only on
// error; the caller then answers with a temporary failure.
func ExecSession(u *authproto.UserInfo, program, defaultMaildir string, extraEnv []string) error {
	if u.UID < 0 || u.GID < 0 {
		return fmt.Errorf("login: account %q has no uid/gid", u.Address)
	}
	if err := privdrop.Drop(u.UID, u.GID); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if u.Home == "" {
		return fmt.Errorf("login: account %q has no home directory", u.Address)
	}
	if err := os.Chdir(u.Home); err != nil {
		return fmt.Errorf("login: chdir %s: %w", u.Home, err)
	}
	argv := []string{program, SessionMaildir(u, defaultMaildir)}
	err := syscall.Exec(program, argv, SessionEnv(u, os.Environ(), extraEnv))
	return fmt.Errorf("login: exec %s: %w", program, err)
}

// SessionSpawn is the request a reusable login stage sends couriertcpd
// (internal/handoff) instead of calling ExecSession: the same program,
// argv, environment, ids and home, checked the same way.
func SessionSpawn(u *authproto.UserInfo, program, defaultMaildir string, extraEnv []string) (*handoff.Spawn, error) {
	if u.UID < 0 || u.GID < 0 {
		return nil, fmt.Errorf("login: account %q has no uid/gid", u.Address)
	}
	if u.Home == "" {
		return nil, fmt.Errorf("login: account %q has no home directory", u.Address)
	}
	return &handoff.Spawn{
		UID:  u.UID,
		GID:  u.GID,
		Dir:  u.Home,
		Path: program,
		Args: []string{program, SessionMaildir(u, defaultMaildir)},
		Env:  SessionEnv(u, os.Environ(), extraEnv),
	}, nil
}

// StartSession starts the session stage for u. On a reusable pre-started
// stage (st.Reusable) it asks couriertcpd to start it and returns
// (true, nil) once it runs: the caller closes its copies of the socket and
// serves the next connection. Otherwise, or when the request could not be
// sent, it execs in place (ExecSession) and returns only on error. An
// error means the client must be told of a temporary problem.
func StartSession(st *handoff.Stage, u *authproto.UserInfo, program, defaultMaildir string, extraEnv []string) (bool, error) {
	if st.Reusable() {
		sp, err := SessionSpawn(u, program, defaultMaildir, extraEnv)
		if err != nil {
			return false, err
		}
		err = st.Spawn(sp)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, handoff.ErrNotSent) {
			return false, fmt.Errorf("login: start %s: %w", program, err)
		}
	}
	return false, ExecSession(u, program, defaultMaildir, extraEnv)
}
