package clients

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawConn is a line-level IMAP connection for checks no library makes
// easy (exact commands as a given client sends them, exact answers).
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	rc := &rawConn{Conn: c, r: bufio.NewReader(c)}
	if _, err := rc.r.ReadString('\n'); err != nil { // greeting
		c.Close()
		return nil, err
	}
	return rc, nil
}

var literalRE = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// readResp reads one response line with its literals inlined.
func (c *rawConn) readResp() (string, error) {
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(l)
		m := literalRE.FindStringSubmatch(l)
		if m == nil {
			return strings.TrimRight(b.String(), "\r\n"), nil
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return b.String(), err
		}
		b.Write(buf)
	}
}

// exchange sends line and returns the untagged responses and the tagged
// answer.
func (c *rawConn) exchange(t *testing.T, line string) ([]string, string) {
	t.Helper()
	tag, _, _ := strings.Cut(line, " ")
	if _, err := c.Write([]byte(line + "\r\n")); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
	var untagged []string
	for {
		l, err := c.readResp()
		if err != nil {
			t.Fatalf("read answer to %q: %v (got %q)", line, err, untagged)
		}
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

// cmd sends line and returns the tagged answer.
func (c *rawConn) cmd(t *testing.T, line string) string {
	t.Helper()
	_, tagged := c.exchange(t, line)
	return tagged
}

// ok sends line, fails the test unless the answer is OK, and returns the
// untagged responses.
func (c *rawConn) ok(t *testing.T, line string) []string {
	t.Helper()
	u, tagged := c.exchange(t, line)
	tag, _, _ := strings.Cut(line, " ")
	if !strings.HasPrefix(tagged, tag+" OK") {
		t.Fatalf("%q answered %q\nuntagged: %q", line, tagged, u)
	}
	return u
}

// appendLit sends an APPEND with a synchronising literal, as Thunderbird
// does, and returns the tagged answer.
func (c *rawConn) appendLit(t *testing.T, head string, msg string) string {
	t.Helper()
	tag, _, _ := strings.Cut(head, " ")
	if _, err := c.Write([]byte(head + " {" + strconv.Itoa(len(msg)) + "}\r\n")); err != nil {
		t.Fatal(err)
	}
	l, err := c.readResp()
	if err != nil || !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND continuation: %q %v", l, err)
	}
	if _, err := c.Write([]byte(msg + "\r\n")); err != nil {
		t.Fatal(err)
	}
	for {
		l, err := c.readResp()
		if err != nil {
			t.Fatalf("APPEND answer: %v", err)
		}
		if strings.HasPrefix(l, tag+" ") {
			return l
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func anyContains(ls []string, sub string) bool {
	for _, l := range ls {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
