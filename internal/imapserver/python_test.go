package imapserver_test

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"gocourier/internal/imapmaildir"
	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

const pyScript = `
import imaplib, sys
port = int(sys.argv[1])
c = imaplib.IMAP4("127.0.0.1", port)
assert c.state == "AUTH", c.state
typ, data = c.select("INBOX")
assert typ == "OK" and data == [b"1"], (typ, data)
typ, data = c.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert typ == "OK", typ
assert b"Subject: Hello Alice" in data[0][1], data
typ, data = c.append("INBOX", r"(\Seen)", None, b"Subject: py\r\n\r\nfrom python\r\n")
assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = c.search(None, "SEEN")
assert data == [b"2"], data
typ, data = c.create("INBOX.Py")
assert typ == "OK", data
typ, data = c.list()
assert any(b'"INBOX.Py"' in l for l in data), data
typ, data = c.store("1", "+FLAGS", r"(\Deleted)")
assert typ == "OK", data
typ, data = c.expunge()
assert data == [b"1"], data
c.close()
c.logout()
print("ok")
`

// TestPythonImaplib runs python3's imaplib against in-process sessions.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 missing")
		}
		t.Skip("python3 not installed")
	}
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			md, err := maildir.Open(root, maildir.Options{Keywords: true})
			if err != nil {
				conn.Close()
				continue
			}
			go func() {
				defer conn.Close()
				imapserver.NewSession(imapserver.Config{Getenv: getenv}, imapmaildir.New(md), conn, conn).Run("* PREAUTH Ready.")
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	out, err := exec.Command(py, "-c", pyScript, strconv.Itoa(port)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("python: %v\n%s", err, out)
	}
}
