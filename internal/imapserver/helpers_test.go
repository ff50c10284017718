package imapserver_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

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
