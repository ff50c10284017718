package clients

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// rawConn is a line-level IMAP connection for checks no library makes
// easy (exact tagged answers).
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawConn{Conn: c, r: bufio.NewReader(c)}
	if _, err := rc.r.ReadString('\n'); err != nil { // greeting
		c.Close()
		return nil, err
	}
	return rc, nil
}

// cmd sends line and returns the tagged answer (untagged lines dropped).
func (c *rawConn) cmd(t *testing.T, line string) string {
	t.Helper()
	tag, _, _ := strings.Cut(line, " ")
	if _, err := c.Write([]byte(line + "\r\n")); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read answer to %q: %v", line, err)
		}
		if strings.HasPrefix(l, tag+" ") {
			return strings.TrimRight(l, "\r\n")
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
