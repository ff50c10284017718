package imapserver_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocourier/internal/imapmaildir"
	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

// testEnv is the environment of a Debian-configured Courier (§3.1).
var testEnv = map[string]string{
	"IMAP_CAPABILITY": "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
	"IMAP_ACL":        "1",
}

func getenv(k string) string { return testEnv[k] }

// newMaildir makes an empty maildir in a temporary directory.
func newMaildir(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// deliver puts a message into new/ the way an MDA does (tmp, then rename).
func deliver(t testing.TB, root, name, body string) {
	t.Helper()
	tmp := filepath.Join(root, "tmp", name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "new", name)); err != nil {
		t.Fatal(err)
	}
}

const msg1 = "From: Bob Example <bob@example.com>\nTo: Alice <alice@example.com>\nSubject: Hello Alice\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nMessage-ID: <m1@example.com>\n\nHi Alice,\nThis is the first test message.\n"
const msg2 = "From: Carol <carol@example.org>\nTo: alice@example.com\nSubject: Re: Hello Alice\nDate: Tue, 4 Mar 2025 11:30:00 +0100\nMessage-ID: <m2@example.org>\nIn-Reply-To: <m1@example.com>\nReferences: <m1@example.com>\n\nA reply.\n"

// startSession serves one in-process session on a pipe.
func startSession(t testing.TB, root string, cfg imapserver.Config) net.Conn {
	t.Helper()
	md, err := maildir.Open(root, maildir.Options{Keywords: true, UseLocks: true, TrashName: "Trash"})
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := net.Pipe()
	if cfg.Getenv == nil {
		cfg.Getenv = getenv
	}
	s := imapserver.NewSession(cfg, imapmaildir.New(md), srv, srv)
	go func() {
		s.Run("* PREAUTH Ready.")
		srv.Close()
	}()
	t.Cleanup(func() { cli.Close() })
	return cli
}

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
