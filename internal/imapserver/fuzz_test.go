package imapserver_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"gocourier/internal/imapmaildir"
	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

// FuzzSession feeds arbitrary client input to a selected session on a
// small maildir: whatever the bytes, the session must not panic or hang.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a SELECT INBOX\r\nb FETCH 1:* (FLAGS BODY.PEEK[1.HEADER.FIELDS (From)]<0.10> BODYSTRUCTURE)\r\n",
		"a SELECT INBOX\r\nb SEARCH OR (FROM x NOT SEEN) UID 1:* CHARSET UTF-8\r\n",
		"a APPEND INBOX (\\Seen) {5+}\r\nhello\r\nb STORE 1 +FLAGS (x)\r\n",
		"a LIST \"\" \"*%*%\"\r\nb STATUS INBOX (MESSAGES)\r\n",
		"a SELECT INBOX\r\nb UID SORT (REVERSE DATE) UTF-8 ALL\r\nc THREAD REFERENCES UTF-8 ALL\r\n",
		// RFC 7162 syntax (condstore.go)
		"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (1 5 1:*,3 (1:2 1:2)))\r\nc UID FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 1 VANISHED)\r\n",
		"a SELECT INBOX (CONDSTORE)\r\nb STORE 1:* (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen)\r\nc SEARCH RETURN (MIN MAX) MODSEQ \"/flags/\\\\seen\" all 1\r\nd STATUS INBOX (HIGHESTMODSEQ)\r\ne EXPUNGE\r\n",
	} {
		f.Add([]byte(s))
	}
	root := newMaildir(f)
	deliver(f, root, "1.M1P1.test", msg1)
	deliver(f, root, "2.M2P1.test", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b--\n")
	f.Fuzz(func(t *testing.T, in []byte) {
		md, err := maildir.Open(root, maildir.Options{Keywords: true})
		if err != nil {
			t.Fatal(err)
		}
		s := imapserver.NewSession(imapserver.Config{Getenv: getenv}, imapmaildir.New(md), bytes.NewReader(in), io.Discard)
		done := make(chan struct{})
		go func() { s.Run("* PREAUTH Ready."); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("session hung")
		}
	})
}
