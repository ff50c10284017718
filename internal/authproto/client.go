package authproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"
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

// NewClient returns a client for socket with DefaultTimeouts.
func NewClient(socket string) *Client {
	return &Client{Socket: socket, Timeouts: DefaultTimeouts()}
}

// exchange connects, writes the request and reads the reply until EOF or
// until stop(buf) says the reply is complete. The buffer is bounded by max.
func (c *Client) exchange(req *Request, max int, stop func([]byte) bool) ([]byte, error) {
	if err := req.Validate(); err != nil {
		// libcourierauth refuses oversize requests before sending; the
		// login stage treats that as temporary (transcript 11-C).
		return nil, fmt.Errorf("%w: %v", ErrTemporary, err)
	}
	d := net.Dialer{Timeout: c.Timeouts.Connect}
	conn, err := d.DialContext(context.Background(), "unix", c.Socket)
	if err != nil {
		return nil, fmt.Errorf("%w: connect %s: %v", ErrTemporary, c.Socket, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(c.Timeouts.Write)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemporary, err)
	}
	if _, err := conn.Write(req.Encode()); err != nil {
		return nil, fmt.Errorf("%w: write request: %v", ErrTemporary, err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(c.Timeouts.Read)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemporary, err)
	}
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 4096)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if len(buf) > max {
			return nil, fmt.Errorf("%w: reply longer than %d bytes", ErrTemporary, max)
		}
		if stop(buf) {
			return buf, nil
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: read reply: %v", ErrTemporary, err)
		}
	}
}

// replyComplete is libcourierauth's test: exactly "FAIL\n", or ends "\n.\n".
func replyComplete(b []byte) bool {
	return string(b) == "FAIL\n" || bytes.HasSuffix(b, []byte("\n.\n")) || string(b) == ".\n"
}

// Do sends a PRE or AUTH request and parses the reply. It returns ErrFail
// on FAIL, and an error wrapping ErrTemporary for everything else that
// went wrong. A USERNAME reply without UID is resolved with the local
// passwd database, as libcourierauth does with getpwnam.
func (c *Client) Do(req *Request) (*UserInfo, error) {
	data, err := c.exchange(req, MaxReply, replyComplete)
	if err != nil {
		return nil, err
	}
	u, err := ParseReply(data)
	if err != nil {
		return nil, err
	}
	if u.UID < 0 && u.Username != "" {
		pw, err := user.Lookup(u.Username)
		if err != nil {
			return nil, fmt.Errorf("%w: USERNAME %q: %v", ErrTemporary, u.Username, err)
		}
		uid, err := strconv.Atoi(pw.Uid)
		if err != nil {
			return nil, fmt.Errorf("%w: USERNAME %q: bad uid", ErrTemporary, u.Username)
		}
		u.UID = uid
	}
	return u, nil
}

// Passwd asks the daemon to change a password; nil means "OK\n".
func (c *Client) Passwd(service, userid, oldpass, newpass string) error {
	req := &Request{Cmd: CmdPasswd, Service: service, User: userid, OldPass: oldpass, NewPass: newpass}
	if err := req.Validate(); err != nil {
		return ErrFail // a control character gives FAIL in Courier too (§10.2)
	}
	data, err := c.exchange(req, MaxReply, func(b []byte) bool {
		return string(b) == "OK\n" || string(b) == "FAIL\n"
	})
	if err != nil {
		return err
	}
	switch string(data) {
	case "OK\n":
		return nil
	case "FAIL\n":
		return ErrFail
	}
	return fmt.Errorf("%w: unexpected PASSWD reply", ErrTemporary)
}

// Enumerate lists all accounts; fn is called per entry with its module.
// A list that ends without the final "." returns an ErrTemporary error
// after the entries seen so far (§10.4).
func (c *Client) Enumerate(fn func(module string, e EnumEntry)) error {
	data, err := c.exchange(&Request{Cmd: CmdEnumerate}, 64<<20, func(b []byte) bool {
		return bytes.HasSuffix(b, []byte("\n.\n")) || string(b) == ".\n"
	})
	if err != nil {
		return err
	}
	return ParseEnumerate(data, fn)
}

// ParseEnumerate parses a complete ENUMERATE reply.
func ParseEnumerate(data []byte, fn func(module string, e EnumEntry)) error {
	module := ""
	for len(data) > 0 {
		line, rest, ok := bytes.Cut(data, []byte("\n"))
		if !ok {
			break
		}
		data = rest
		s := string(line)
		switch {
		case s == ".":
			return nil
		case s == "":
		case len(s) > 2 && s[:2] == "# ":
			module = s[2:]
		default:
			f := bytes.Split(line, []byte("\t"))
			if len(f) < 6 {
				continue
			}
			uid, err1 := strconv.Atoi(string(f[1]))
			gid, err2 := strconv.Atoi(string(f[2]))
			if err1 != nil || err2 != nil {
				continue
			}
			fn(module, EnumEntry{Name: string(f[0]), UID: uid, GID: gid, Home: string(f[3]),
				Maildir: string(f[4]), Options: string(f[5])})
		}
	}
	return fmt.Errorf("%w: enumeration ended without \".\"", ErrTemporary)
}

// IsTemporary reports whether err is a temporary failure (not FAIL).
func IsTemporary(err error) bool {
	return err != nil && !errors.Is(err, ErrFail)
}
