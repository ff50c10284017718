package clients

import (
	"bufio"
	"bytes"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// msgState is one message as the server reports it.
type msgState struct {
	UID   imap.UID
	MsgID string
	Flags []string // sorted, \Recent dropped (it is session state)
}

// boxState is a mailbox snapshot taken with the go-imap client.
type boxState struct {
	UIDValidity uint32
	UIDNext     imap.UID
	Msgs        []msgState // in UID order
}

func (b *boxState) byMsgID() map[string][]msgState {
	m := map[string][]msgState{}
	for _, x := range b.Msgs {
		m[x.MsgID] = append(m[x.MsgID], x)
	}
	return m
}

func (b *boxState) uids() []imap.UID {
	var u []imap.UID
	for _, x := range b.Msgs {
		u = append(u, x.UID)
	}
	return u
}

var msgIDSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}

// snapshot selects mailbox read-only (EXAMINE) and fetches every message's
// UID, flags and Message-ID.
func snapshot(t *testing.T, c *imapclient.Client, mailbox string) *boxState {
	t.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("examine %s: %v", mailbox, err)
	}
	st := &boxState{UIDValidity: sel.UIDValidity, UIDNext: sel.UIDNext}
	if sel.NumMessages == 0 {
		return st
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{msgIDSection}}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", mailbox, err)
	}
	for _, m := range msgs {
		ms := msgState{UID: m.UID, MsgID: headerMsgID(m.FindBodySection(msgIDSection))}
		for _, f := range m.Flags {
			if f != `\Recent` {
				ms.Flags = append(ms.Flags, string(f))
			}
		}
		sort.Strings(ms.Flags)
		st.Msgs = append(st.Msgs, ms)
	}
	sort.Slice(st.Msgs, func(i, j int) bool { return st.Msgs[i].UID < st.Msgs[j].UID })
	if uint32(len(st.Msgs)) != sel.NumMessages {
		t.Fatalf("%s: fetched %d messages, EXISTS %d", mailbox, len(st.Msgs), sel.NumMessages)
	}
	return st
}

func headerMsgID(b []byte) string {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(b, "\r\n\r\n"...)))).ReadMIMEHeader()
	return strings.TrimSpace(h.Get("Message-Id"))
}

// fileMsgID reads the Message-ID of a message file.
func fileMsgID(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, _ := textproto.NewReader(bufio.NewReader(f)).ReadMIMEHeader()
	return strings.TrimSpace(h.Get("Message-Id"))
}

// localState maps Message-ID -> file names (relative to folder) of a
// maildir folder.
func localState(t *testing.T, folder string) map[string][]string {
	t.Helper()
	files, err := MaildirFiles(folder)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, f := range files {
		id := fileMsgID(t, filepath.Join(folder, f))
		m[id] = append(m[id], f)
	}
	return m
}

// maildirFlags returns the info flags of a maildir file name ("" in new/).
func maildirFlags(name string) string {
	_, info, ok := strings.Cut(filepath.Base(name), ":2,")
	if !ok {
		return ""
	}
	return info
}
