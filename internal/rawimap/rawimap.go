// Package rawimap is a raw IMAP client for tests: it sends lines exactly as
// written and returns the server's response lines as text, so that a test
// can check the wire form (the order of untagged responses, the spelling
// of response codes, Courier's oddities) that a full client library would
// parse away. Literals in responses are inlined after a newline.
//
// It is for tests only; a failure to read or write ends the test.
package rawimap

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

// Conn is the client side of a test connection.
type Conn struct {
	T testing.TB
	C net.Conn      // the connection, for raw writes and deadlines
	R *bufio.Reader // its buffered reader
}

// New wraps c, with a 30 s deadline for the whole test conversation.
func New(t testing.TB, c net.Conn) *Conn {
	tc := &Conn{T: t, C: c, R: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return tc
}

var litRE = regexp.MustCompile(`\{(\d+)\}$`)

// Line reads one response line, inlining literals.
func (c *Conn) Line() string {
	c.T.Helper()
	var sb strings.Builder
	for {
		l, err := c.R.ReadString('\n')
		if err != nil {
			c.T.Fatalf("read: %v (so far %q)", err, sb.String())
		}
		l = strings.TrimSuffix(l, "\r\n")
		sb.WriteString(l)
		m := litRE.FindStringSubmatch(l)
		if m == nil {
			return sb.String()
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.R, buf); err != nil {
			c.T.Fatal(err)
		}
		sb.WriteString("\n" + string(buf))
	}
}

// Send writes s as it is.
func (c *Conn) Send(s string) {
	c.T.Helper()
	if _, err := io.WriteString(c.C, s); err != nil {
		c.T.Fatal(err)
	}
}

// Cmd sends a tagged line and returns every response up to the tagged one.
func (c *Conn) Cmd(line string) []string {
	c.T.Helper()
	tag := strings.Fields(line)[0]
	c.Send(line + "\r\n")
	return c.Until(tag)
}

// Until reads responses up to and including the one tagged tag.
func (c *Conn) Until(tag string) []string {
	c.T.Helper()
	var out []string
	for {
		l := c.Line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

// Contains reports whether any line contains want.
func Contains(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// MustContain fails the test for each of wants that no line contains.
func MustContain(t testing.TB, lines []string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !Contains(lines, w) {
			t.Errorf("missing %q in:\n%s", w, strings.Join(lines, "\n"))
		}
	}
}

// Step is one command and what its responses must and must not contain.
// It is an alias of an unnamed struct type so that tables of steps in
// other packages can be written without field names (go vet's composites
// check only asks for keys in literals of another package's named types).
type Step = struct {
	Name string
	Cmd  string
	Want []string
	Not  []string
}

// RunSteps runs the steps in order on c.
func RunSteps(t *testing.T, c *Conn, steps []Step) {
	t.Helper()
	for _, s := range steps {
		got := c.Cmd(s.Cmd)
		for _, w := range s.Want {
			if !Contains(got, w) {
				t.Errorf("%s: %q: missing %q in:\n%s", s.Name, s.Cmd, w, strings.Join(got, "\n"))
			}
		}
		for _, w := range s.Not {
			if Contains(got, w) {
				t.Errorf("%s: %q: unexpected %q in:\n%s", s.Name, s.Cmd, w, strings.Join(got, "\n"))
			}
		}
	}
}
