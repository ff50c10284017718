package imapserver_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"gocourier/internal/imapserver"
)

// TestGoIMAPClient drives a session with go-imap v2's client, as a real
// client library would.
func TestGoIMAPClient(t *testing.T) {
	root := newMaildir(t)
	deliver(t, root, "1000.M1P1.test", msg1)
	var mu sync.Mutex
	var exists []uint32
	conn := startSession(t, root, imapserver.Config{})
	c := imapclient.New(conn, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				mu.Lock()
				exists = append(exists, *d.NumMessages)
				mu.Unlock()
			}
		},
	}})
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	caps, err := c.Capability().Wait()
	if err != nil || !caps.Has(imap.CapIdle) || !caps.Has(imap.CapLiteralPlus) {
		t.Fatalf("caps %v %v", caps, err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 || sel.UIDValidity == 0 {
		t.Fatalf("select %+v", sel)
	}
	body := "Subject: appended\r\nFrom: x@y\r\n\r\nhello world\r\n"
	ap := c.Append("INBOX", int64(len(body)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "$Work"}, Time: time.Date(2025, 3, 5, 14, 15, 30, 0, time.UTC)})
	ap.Write([]byte(body))
	ap.Close()
	ad, err := ap.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UID != 2 {
		t.Errorf("APPENDUID uid %d", ad.UID)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2), &imap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("fetched %d", len(msgs))
	}
	m := msgs[1]
	if m.Envelope == nil || m.Envelope.Subject != "appended" {
		t.Errorf("envelope %+v", m.Envelope)
	}
	if m.RFC822Size != int64(len(body)) {
		t.Errorf("size %d want %d", m.RFC822Size, len(body))
	}
	if !m.InternalDate.Equal(time.Date(2025, 3, 5, 14, 15, 30, 0, time.UTC)) {
		t.Errorf("internaldate %v", m.InternalDate)
	}
	var got string
	for _, b := range m.BodySection {
		got = string(b.Bytes)
	}
	if got != body {
		t.Errorf("body %q", got)
	}
	hasWork := false
	for _, f := range m.Flags {
		hasWork = hasWork || f == "$Work"
	}
	if !hasWork {
		t.Errorf("flags %v", m.Flags)
	}
	if _, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
	if err != nil || len(sd.AllUIDs()) != 1 || sd.AllUIDs()[0] != 1 {
		t.Fatalf("search %v %v", sd, err)
	}
	if err := c.Create("INBOX.Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(2), "INBOX.Archive").Wait()
	if err != nil || cd.UIDValidity == 0 {
		t.Fatalf("copy %+v %v", cd, err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	st, err := c.Status("INBOX.Archive", &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Fatalf("status %+v %v", st, err)
	}
	// IDLE, woken by a delivery.
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, root, "3000.M1P1.test", msg2)
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(exists)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no EXISTS during IDLE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatal(err)
	}
}
