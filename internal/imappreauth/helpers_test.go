package imappreauth_test

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

// testEnv is the environment of a Debian-configured Courier (§3.1).
var testEnv = map[string]string{
	"IMAP_CAPABILITY": "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
	"IMAP_ACL":        "1",
}

// tconn is the client side of a test connection.
type tconn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func newT(t testing.TB, c net.Conn) *tconn {
	tc := &tconn{t: t, c: c, r: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return tc
}

var litRE = regexp.MustCompile(`\{(\d+)\}$`)

// line reads one response line, inlining literals.
func (c *tconn) line() string {
	c.t.Helper()
	var sb strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (so far %q)", err, sb.String())
		}
		l = strings.TrimSuffix(l, "\r\n")
		sb.WriteString(l)
		m := litRE.FindStringSubmatch(l)
		if m == nil {
			return sb.String()
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			c.t.Fatal(err)
		}
		sb.WriteString("\n" + string(buf))
	}
}

func (c *tconn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a tagged line and returns every response up to the tagged one.
func (c *tconn) cmd(line string) []string {
	c.t.Helper()
	tag := strings.Fields(line)[0]
	c.send(line + "\r\n")
	return c.until(tag)
}

func (c *tconn) until(tag string) []string {
	c.t.Helper()
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

func mustContain(t testing.TB, lines []string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !contains(lines, w) {
			t.Errorf("missing %q in:\n%s", w, strings.Join(lines, "\n"))
		}
	}
}

// step is one command and what its responses must and must not contain.
type step struct {
	name string
	cmd  string
	want []string
	not  []string
}

func runSteps(t *testing.T, c *tconn, steps []step) {
	t.Helper()
	for _, s := range steps {
		got := c.cmd(s.cmd)
		for _, w := range s.want {
			if !contains(got, w) {
				t.Errorf("%s: %q: missing %q in:\n%s", s.name, s.cmd, w, strings.Join(got, "\n"))
			}
		}
		for _, w := range s.not {
			if contains(got, w) {
				t.Errorf("%s: %q: unexpected %q in:\n%s", s.name, s.cmd, w, strings.Join(got, "\n"))
			}
		}
	}
}
