// Package authclient is the client side of Courier's authdaemond socket
// protocol (reference §10): it dials the Unix socket, sends one request,
// reads one reply and closes, with libcourierauth's timeouts. The login
// stages and authtest use it; the wire formats themselves are in
// internal/authproto.
//
// It is a package of its own, apart from authproto, because it needs net
// (to dial) and os/user (to resolve USERNAME replies): the session stages
// (imapd, pop3d) read account options with authproto but never talk to
// authdaemond, and each package they link costs CPU at every login, since
// they are started once per login.
//
// Invariants:
//   - One request per connection; the daemon answers and closes (§10.1).
//   - A FAIL reply is authproto.ErrFail; anything else that goes wrong
//     (no socket, a timeout, EOF before a complete reply, a reply over its
//     bound) wraps authproto.ErrTemporary, never ErrFail.
package authclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"

	"gocourier/internal/authproto"
)

// Timeouts are the client's limits, libcourierauth's defaults (§10.3).
type Timeouts struct {
	Connect time.Duration // TIMEOUT_SOCK, 10 s
	Write   time.Duration // TIMEOUT_WRITE, 10 s
	Read    time.Duration // TIMEOUT_READ, 30 s for the whole reply
}

// DefaultTimeouts returns libcourierauth's defaults, overridden by the
// environment variables TIMEOUT_SOCK, TIMEOUT_WRITE and TIMEOUT_READ (in
// seconds), as libcourierauth honours them.
func DefaultTimeouts() Timeouts {
	get := func(name string, def time.Duration) time.Duration {
		if v := os.Getenv(name); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
		return def
	}
	return Timeouts{
		Connect: get("TIMEOUT_SOCK", 10*time.Second),
		Write:   get("TIMEOUT_WRITE", 10*time.Second),
		Read:    get("TIMEOUT_READ", 30*time.Second),
	}
}

// Client sends requests to authdaemond over its Unix socket.
type Client struct {
	Socket   string
	Timeouts Timeouts
}

// New returns a client for socket with DefaultTimeouts.
func New(socket string) *Client {
	return &Client{Socket: socket, Timeouts: DefaultTimeouts()}
}

// exchange connects, writes the request and reads the reply until EOF or
// until stop(buf) says the reply is complete. The buffer is bounded by max.
func (c *Client) exchange(req *authproto.Request, max int, stop func([]byte) bool) ([]byte, error) {
	if err := req.Validate(); err != nil {
		// libcourierauth refuses oversize requests before sending; the
		// login stage treats that as temporary (transcript 11-C).
		return nil, fmt.Errorf("%w: %v", authproto.ErrTemporary, err)
	}
	d := net.Dialer{Timeout: c.Timeouts.Connect}
	conn, err := d.DialContext(context.Background(), "unix", c.Socket)
	if err != nil {
		return nil, fmt.Errorf("%w: connect %s: %v", authproto.ErrTemporary, c.Socket, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(c.Timeouts.Write)); err != nil {
		return nil, fmt.Errorf("%w: %v", authproto.ErrTemporary, err)
	}
	if _, err := conn.Write(req.Encode()); err != nil {
		return nil, fmt.Errorf("%w: write request: %v", authproto.ErrTemporary, err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(c.Timeouts.Read)); err != nil {
		return nil, fmt.Errorf("%w: %v", authproto.ErrTemporary, err)
	}
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 4096)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if len(buf) > max {
			return nil, fmt.Errorf("%w: reply longer than %d bytes", authproto.ErrTemporary, max)
		}
		if stop(buf) {
			return buf, nil
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: read reply: %v", authproto.ErrTemporary, err)
		}
	}
}

// replyComplete is libcourierauth's test: exactly "FAIL\n", or ends "\n.\n".
func replyComplete(b []byte) bool {
	return string(b) == "FAIL\n" || bytes.HasSuffix(b, []byte("\n.\n")) || string(b) == ".\n"
}

// Do sends a PRE or AUTH request and parses the reply. It returns
// authproto.ErrFail on FAIL, and an error wrapping authproto.ErrTemporary for
// everything else that went wrong. A USERNAME reply without UID is resolved
// with the local passwd database, as libcourierauth does with getpwnam.
func (c *Client) Do(req *authproto.Request) (*authproto.UserInfo, error) {
	data, err := c.exchange(req, authproto.MaxReply, replyComplete)
	if err != nil {
		return nil, err
	}
	u, err := authproto.ParseReply(data)
	if err != nil {
		return nil, err
	}
	if u.UID < 0 && u.Username != "" {
		pw, err := user.Lookup(u.Username)
		if err != nil {
			return nil, fmt.Errorf("%w: USERNAME %q: %v", authproto.ErrTemporary, u.Username, err)
		}
		uid, err := strconv.Atoi(pw.Uid)
		if err != nil {
			return nil, fmt.Errorf("%w: USERNAME %q: bad uid", authproto.ErrTemporary, u.Username)
		}
		u.UID = uid
	}
	return u, nil
}

// Passwd asks the daemon to change a password; nil means "OK\n".
func (c *Client) Passwd(service, userid, oldpass, newpass string) error {
	req := &authproto.Request{Cmd: authproto.CmdPasswd, Service: service, User: userid, OldPass: oldpass, NewPass: newpass}
	if err := req.Validate(); err != nil {
		return authproto.ErrFail // a control character gives FAIL in Courier too (§10.2)
	}
	data, err := c.exchange(req, authproto.MaxReply, func(b []byte) bool {
		return string(b) == "OK\n" || string(b) == "FAIL\n"
	})
	if err != nil {
		return err
	}
	switch string(data) {
	case "OK\n":
		return nil
	case "FAIL\n":
		return authproto.ErrFail
	}
	return fmt.Errorf("%w: unexpected PASSWD reply", authproto.ErrTemporary)
}

// Enumerate lists all accounts; fn is called per entry with its module.
// A list that ends without the final "." returns an ErrTemporary error
// after the entries seen so far (§10.4).
func (c *Client) Enumerate(fn func(module string, e authproto.EnumEntry)) error {
	data, err := c.exchange(&authproto.Request{Cmd: authproto.CmdEnumerate}, 64<<20, func(b []byte) bool {
		return bytes.HasSuffix(b, []byte("\n.\n")) || string(b) == ".\n"
	})
	if err != nil {
		return err
	}
	return authproto.ParseEnumerate(data, fn)
}
