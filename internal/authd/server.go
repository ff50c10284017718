// Package authd is authdaemond's server: it accepts connections on the
// Unix socket, parses one request per connection (internal/authproto),
// asks the configured modules in authmodulelist order and writes the
// reply (reference §10).
//
// Invariants:
//   - One request per connection; the connection is closed after the
//     reply (§10.1).
//   - Malformed input, a read timeout and a temporary module error close
//     the connection without any reply, which clients treat as a temporary
//     failure (§10.3). FAIL is sent only for "no such user / bad password".
//   - Each connection runs in its own goroutine with a deadline, and the
//     number of connections in service is bounded (MaxConns), so a stalled
//     client can hold one slot for at most ReadTimeout and never blocks
//     others. Courier's "daemons" count is therefore not needed.
//   - Modules never see a CRAM secret leave the daemon: the CRAM response
//     is verified here, and only the account data is returned.
//   - Passwords are logged only with DEBUG_LOGIN=2.
//   - A password check may be answered from the modules' pwhash.Cache only
//     when the same password already matched the same stored hash; a
//     failure always pays the full hash (DESIGN.md §1).
package authd

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"gocourier/internal/authproto"
)

// Module errors. A module returns ErrNotFound (Courier's -1) when it does
// not know the user or the password is wrong: the next module is asked, and
// FAIL is sent when none succeeds. Any other error is temporary (Courier's
// >0): the daemon stops and closes without a reply.
var (
	ErrNotFound    = errors.New("authd: user not found or bad password")
	ErrUnsupported = errors.New("authd: operation not supported by module")
)

// AuthRequest is an AUTH request handed to a module.
type AuthRequest struct {
	Service  string
	AuthType string // authproto.AuthLogin, AuthCram*, AuthExternal
	// For login: User and Password. For cram-*: User (from the response),
	// Challenge (decoded) and Response (hex digest). For external: User.
	User      string
	Password  string
	Challenge []byte
	Response  string
	RemoteIP  string
}

// Module is one authentication back end (authuserdb, and later authpwd,
// authshadow, authldap, authpgsql, authmysql, authsqlite, authpam,
// authpipe). Implementations must be safe for concurrent use.
type Module interface {
	// Name is the authmodulelist name, e.g. "authuserdb".
	Name() string
	// Pre looks a user up without a password (PRE, and EXTERNAL).
	Pre(service, user string) (*authproto.UserInfo, error)
	// Auth checks credentials; on success PASSWD2 is set for login.
	Auth(req *AuthRequest) (*authproto.UserInfo, error)
	// Passwd changes a password after checking the old one.
	Passwd(service, user, oldpass, newpass string) error
	// Enumerate calls fn for each account; ErrUnsupported if it cannot.
	Enumerate(fn func(authproto.EnumEntry)) error
}

// Server answers authdaemond requests.
type Server struct {
	Modules        []Module
	DefaultOptions string
	Debug          int // DEBUG_LOGIN
	Logger         *log.Logger
	MaxConns       int           // connections served at once; default 256
	ReadTimeout    time.Duration // whole request; default 30 s
	WriteTimeout   time.Duration // whole reply; default 30 s

	mu      sync.RWMutex // guards Modules/DefaultOptions/Debug for Reconfigure
	wg      sync.WaitGroup
	closing chan struct{}
	once    sync.Once
}

// Reconfigure swaps the module list and settings (SIGHUP); requests in
// flight finish with the old ones.
func (s *Server) Reconfigure(mods []Module, defaultOptions string, debug int) {
	s.mu.Lock()
	s.Modules, s.DefaultOptions, s.Debug = mods, defaultOptions, debug
	s.mu.Unlock()
}

func (s *Server) snapshot() ([]Module, string, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Modules, s.DefaultOptions, s.Debug
}

func (s *Server) logf(format string, args ...any) {
	if s.Logger != nil {
		s.Logger.Printf(format, args...)
	}
}

func (s *Server) init() {
	s.once.Do(func() { s.closing = make(chan struct{}) })
}

// Serve accepts connections until l is closed. It returns nil after
// Shutdown, the accept error otherwise.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	max := s.MaxConns
	if max <= 0 {
		max = 256
	}
	sem := make(chan struct{}, max)
	for {
		sem <- struct{}{} // wait for a free slot before accepting more
		c, err := l.Accept()
		if err != nil {
			<-sem
			select {
			case <-s.closing:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("authd: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer func() { <-sem; s.wg.Done() }()
			s.HandleConn(c)
		}()
	}
}

// Shutdown marks the server closing (call before closing the listener)
// and waits up to timeout for requests in flight.
func (s *Server) Shutdown(timeout time.Duration) {
	s.init()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// HandleConn serves one connection: one request, one reply, close.
func (s *Server) HandleConn(c net.Conn) {
	defer c.Close()
	defer func() {
		if r := recover(); r != nil {
			s.logf("authdaemond: internal error: %v", r)
		}
	}()
	rt, wt := s.ReadTimeout, s.WriteTimeout
	if rt <= 0 {
		rt = 30 * time.Second
	}
	if wt <= 0 {
		wt = 30 * time.Second
	}
	_ = c.SetReadDeadline(time.Now().Add(rt))
	br := bufio.NewReaderSize(c, 4096)
	req, err := authproto.ReadRequest(br)
	mods, defOpts, debug := s.snapshot()
	if err != nil {
		if debug > 0 {
			s.logf("authdaemond: bad request from %s: %v", peer(c), err)
		}
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(wt))
	h := handler{s: s, mods: mods, defOpts: defOpts, debug: debug}
	reply, err := h.handle(req, c)
	if err != nil {
		s.logf("authdaemond: %v", err)
		return // temporary error: no reply (§10.3)
	}
	if reply != nil {
		if _, err := c.Write(reply); err != nil && debug > 0 {
			s.logf("authdaemond: write reply: %v", err)
		}
	}
}

type handler struct {
	s       *Server
	mods    []Module
	defOpts string
	debug   int
}

func (h *handler) debugf(format string, args ...any) {
	if h.debug > 0 {
		h.s.logf("authdaemond: "+format, args...)
	}
}

// handle returns the reply bytes, or an error for "close without reply".
// ENUMERATE writes directly to w and returns a nil reply.
func (h *handler) handle(req *authproto.Request, w net.Conn) ([]byte, error) {
	ip := req.MetaValue("TCPREMOTEIP")
	switch req.Cmd {
	case authproto.CmdPre:
		h.debugf("received userid lookup request: %s (service=%s, module=%s, ip=%s)", req.User, req.Service, req.Module, ip)
		for _, m := range h.mods {
			if req.Module != "." && req.Module != m.Name() {
				continue
			}
			u, err := m.Pre(req.Service, req.User)
			if res, done, err := h.result(m, u, err); done {
				return res, err
			}
		}
		h.debugf("FAIL, all modules rejected %s", req.User)
		return authproto.FailReply, nil
	case authproto.CmdAuth:
		ar, ok := h.authRequest(req, ip)
		if !ok {
			return authproto.FailReply, nil
		}
		if h.debug >= 2 {
			h.debugf("received auth request, service=%s, authtype=%s, user=%s, password=%s, ip=%s", ar.Service, ar.AuthType, ar.User, ar.Password, ip)
		} else {
			h.debugf("received auth request, service=%s, authtype=%s, user=%s, ip=%s", ar.Service, ar.AuthType, ar.User, ip)
		}
		for _, m := range h.mods {
			var u *authproto.UserInfo
			var err error
			if ar.AuthType == authproto.AuthExternal {
				u, err = m.Pre(ar.Service, ar.User)
			} else {
				u, err = m.Auth(ar)
			}
			if res, done, err := h.result(m, u, err); done {
				return res, err
			}
		}
		h.debugf("FAIL, all modules rejected %s", ar.User)
		return authproto.FailReply, nil
	case authproto.CmdPasswd:
		h.debugf("received password change request, service=%s, user=%s", req.Service, req.User)
		for _, m := range h.mods {
			err := m.Passwd(req.Service, req.User, req.OldPass, req.NewPass)
			switch {
			case err == nil:
				h.debugf("password changed for %s by %s", req.User, m.Name())
				return []byte("OK\n"), nil
			case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnsupported):
				continue
			default:
				h.s.logf("authdaemond: %s: password change for %s: %v", m.Name(), req.User, err)
				return authproto.FailReply, nil
			}
		}
		return authproto.FailReply, nil
	case authproto.CmdEnumerate:
		bw := bufio.NewWriter(w)
		for _, m := range h.mods {
			bw.Write(authproto.EncodeEnumHeader(m.Name()))
			err := m.Enumerate(func(e authproto.EnumEntry) {
				e.Options = MergeOptions(e.Options, h.defOpts)
				bw.Write(authproto.EncodeEnumEntry(e))
			})
			if err != nil && !errors.Is(err, ErrUnsupported) {
				bw.Flush()
				return nil, fmt.Errorf("%s: enumerate: %w", m.Name(), err) // truncated list, no "."
			}
		}
		bw.WriteString(".\n")
		if err := bw.Flush(); err != nil {
			h.debugf("enumerate: %v", err)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown command %q", req.Cmd)
}

// result turns one module's answer into (reply, stop, error).
func (h *handler) result(m Module, u *authproto.UserInfo, err error) ([]byte, bool, error) {
	switch {
	case err == nil && u != nil:
		u.Options = MergeOptions(u.Options, h.defOpts)
		h.debugf("%s: sysusername=%s, sysuserid=%d, sysgroupid=%d, homedir=%s, address=%s, fullname=%s, maildir=%s, quota=%s, options=%s",
			m.Name(), u.Username, u.UID, u.GID, u.Home, u.Address, u.Name, u.Maildir, u.Quota, u.Options)
		return authproto.EncodeReply(u), true, nil
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrUnsupported):
		h.debugf("%s: REJECT", m.Name())
		return nil, false, nil
	default:
		return nil, true, fmt.Errorf("%s: temporary error: %w", m.Name(), err)
	}
}

// authRequest decodes AUTH data into an AuthRequest; ok false means FAIL.
func (h *handler) authRequest(req *authproto.Request, ip string) (*AuthRequest, bool) {
	ar := &AuthRequest{Service: req.Service, AuthType: req.AuthType, RemoteIP: ip}
	switch req.AuthType {
	case authproto.AuthLogin:
		u, p, ok := req.LoginData()
		if !ok || u == "" {
			return nil, false
		}
		ar.User, ar.Password = u, p
	case authproto.AuthCramMD5, authproto.AuthCramSHA1, authproto.AuthCramSHA256:
		chal, resp, ok := req.CramData()
		if !ok {
			return nil, false
		}
		c, err := decodeB64(chal)
		if err != nil {
			return nil, false
		}
		r, err := decodeB64(resp)
		if err != nil {
			return nil, false
		}
		// The response is "<user> <hex digest>"; the user may contain
		// spaces, the digest cannot (RFC 2195 §2).
		i := strings.LastIndexByte(string(r), ' ')
		if i <= 0 {
			return nil, false
		}
		ar.User, ar.Response, ar.Challenge = string(r[:i]), string(r[i+1:]), c
	case authproto.AuthExternal:
		u, _, _ := strings.Cut(req.AuthData, "\n")
		if u == "" {
			return nil, false
		}
		ar.User = u
	default:
		h.debugf("unsupported authentication type %q", req.AuthType)
		return nil, false
	}
	return ar, true
}

func peer(c net.Conn) string {
	if uc, ok := c.(*net.UnixConn); ok {
		if cred, err := peerCred(uc); err == nil {
			return cred
		}
	}
	return "client"
}
