package authd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gocourier/internal/authproto"
	"gocourier/internal/pwhash"
	"gocourier/internal/userdb"
)

// UserDBModule is authuserdb over the text userdb (internal/userdb). It
// reads the text file(s) directly, so no userdb.dat is needed; the data is
// re-read when a file changes (checked at most once a second) and on
// Reload (SIGHUP). Password lookup order (reference §3.4): "<service>pw",
// then "systempw"; CRAM: "<service>-hmac-<alg>pw", then "hmac-<alg>pw".
type UserDBModule struct {
	Source *userdb.Source
	Logf   func(format string, args ...any)
	// Cache remembers successful password verifications (nil: none).
	Cache *pwhash.Cache
}

// NewUserDBModule serves the userdb at path.
func NewUserDBModule(path string, logf func(string, ...any)) *UserDBModule {
	src := userdb.NewSource(path)
	if logf != nil {
		src.Log = func(m string) { logf("authdaemond: %s", m) }
	}
	return &UserDBModule{Source: src, Logf: logf}
}

// Name implements Module.
func (m *UserDBModule) Name() string { return "authuserdb" }

// Reload re-reads the userdb now.
func (m *UserDBModule) Reload() error { return m.Source.Reload() }

func (m *UserDBModule) logf(format string, args ...any) {
	if m.Logf != nil {
		m.Logf(format, args...)
	}
}

func (m *UserDBModule) lookup(user string) (*userdb.Entry, error) {
	db, err := m.Source.DB()
	if err != nil {
		return nil, err // no good copy at all: temporary
	}
	e := db.Lookup(user)
	if e == nil {
		return nil, ErrNotFound
	}
	return e, nil
}

// info converts a record to the reply fields.
func (m *UserDBModule) info(e *userdb.Entry) (*authproto.UserInfo, error) {
	uid, err1 := strconv.Atoi(e.Value("uid"))
	gid, err2 := strconv.Atoi(e.Value("gid"))
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		m.logf("authdaemond: userdb: %s:%d: account %q has no valid uid/gid", e.File, e.Line, e.Name)
		return nil, ErrNotFound
	}
	name, _, _ := strings.Cut(e.Value("gecos"), ",")
	return &authproto.UserInfo{
		UID:     uid,
		GID:     gid,
		Home:    e.Value("home"),
		Address: e.Name,
		Name:    name,
		Maildir: e.Value("mail"),
		Quota:   e.Value("quota"),
		Options: e.Value("options"),
	}, nil
}

// passwordField returns the name and value of the password that applies
// to service.
func passwordField(e *userdb.Entry, service string) (string, string, bool) {
	if service != "" {
		if v, ok := e.Get(service + "pw"); ok {
			return service + "pw", v, true
		}
	}
	v, ok := e.Get("systempw")
	return "systempw", v, ok
}

// Pre implements Module.
func (m *UserDBModule) Pre(service, user string) (*authproto.UserInfo, error) {
	e, err := m.lookup(user)
	if err != nil {
		return nil, err
	}
	u, err := m.info(e)
	if err != nil {
		return nil, err
	}
	if _, pw, ok := passwordField(e, service); ok {
		u.Passwd = pw
	}
	return u, nil
}

// Auth implements Module.
func (m *UserDBModule) Auth(req *AuthRequest) (*authproto.UserInfo, error) {
	e, err := m.lookup(req.User)
	if err != nil {
		return nil, err
	}
	switch req.AuthType {
	case authproto.AuthLogin:
		_, stored, ok := passwordField(e, req.Service)
		if !ok {
			return nil, ErrNotFound
		}
		match, err := m.Cache.Verify(req.Password, stored)
		if err != nil {
			m.logf("authdaemond: userdb: account %q: %v", e.Name, err)
		}
		if !match {
			return nil, ErrNotFound
		}
		u, err := m.info(e)
		if err != nil {
			return nil, err
		}
		u.Passwd, u.Passwd2 = stored, req.Password
		return u, nil
	case authproto.AuthCramMD5, authproto.AuthCramSHA1, authproto.AuthCramSHA256:
		alg := strings.TrimPrefix(req.AuthType, "cram-")
		secret, ok := e.Get(req.Service + "-hmac-" + alg + "pw")
		if !ok {
			secret, ok = e.Get("hmac-" + alg + "pw")
		}
		if !ok {
			return nil, ErrNotFound
		}
		match, err := pwhash.VerifyCRAM(alg, secret, req.Challenge, req.Response)
		if err != nil {
			m.logf("authdaemond: userdb: account %q: %v", e.Name, err)
		}
		if !match {
			return nil, ErrNotFound
		}
		return m.info(e)
	}
	return nil, ErrUnsupported
}

// Passwd implements Module: the old password must match the field that
// applies to service; that field gets a new SHA-512 crypt, and HMAC fields
// already present are recomputed so CRAM keeps working with the new
// password.
func (m *UserDBModule) Passwd(service, user, oldpass, newpass string) error {
	e, err := m.lookup(user)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("userdb: %w", err)
	}
	field, stored, ok := passwordField(e, service)
	if !ok {
		return ErrNotFound
	}
	if match, _ := pwhash.Verify(oldpass, stored); !match {
		return ErrNotFound
	}
	h, err := pwhash.Generate(pwhash.SchemeSHA512Crypt, newpass)
	if err != nil {
		return err
	}
	set := []userdb.Field{{Name: field, Value: h}}
	for _, alg := range pwhash.HMACAlgs() {
		for _, f := range []string{"hmac-" + alg + "pw", service + "-hmac-" + alg + "pw"} {
			if _, ok := e.Get(f); ok {
				s, err := pwhash.HMACSecret(alg, newpass)
				if err != nil {
					return err
				}
				set = append(set, userdb.Field{Name: f, Value: s})
			}
		}
	}
	if err := userdb.Apply(e.File, e.Name, userdb.Edit{Set: set}); err != nil {
		return err
	}
	return m.Source.Reload()
}

// Enumerate implements Module.
func (m *UserDBModule) Enumerate(fn func(authproto.EnumEntry)) error {
	db, err := m.Source.DB()
	if err != nil {
		return err
	}
	for _, e := range db.Entries() {
		u, err := m.info(e)
		if err != nil {
			continue
		}
		fn(authproto.EnumEntry{Name: e.Name, UID: u.UID, GID: u.GID, Home: u.Home, Maildir: u.Maildir, Options: u.Options})
	}
	return nil
}
