package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const multipartMsg = `From: Alice Example <alice@clients.test>
To: imapuser@clients.test
Subject: report with attachment
Date: Wed, 25 Nov 2026 10:00:00 +0000
Message-ID: <multi@clients.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XyZ"

This is a multi-part message in MIME format.
--XyZ
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello, the report is attached.
--XyZ
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"

JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K
--XyZ--
`

// TestThunderbirdFlow replays, over a raw connection, the command
// sequence Thunderbird 115 sends for everyday work (its exact spellings:
// lower-case "fetch", UID-based everything, header-field lists, MIME part
// fetches, copy-to-Trash delete with UID EXPUNGE, APPEND to Sent and
// Drafts, keywords as tags, IDLE, pipelined commands) and checks the
// answers a client depends on.
func TestThunderbirdFlow(t *testing.T) {
	p := needChain(t)
	s := Start(t, p, Options{Seed: func(md string) error {
		if err := seedSubjects("plain one", "plain two")(md); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(md, "new", "1700000099.M99P1.clients"), []byte(multipartMsg), 0o600)
	}})
	c, err := dialRaw(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	caps := c.ok(t, "1 capability")
	for _, want := range []string{"IMAP4rev1", "IDLE", "UIDPLUS", "NAMESPACE", "QUOTA"} {
		if !anyContains(caps, want) {
			t.Errorf("CAPABILITY lacks %s: %q", want, caps)
		}
	}
	c.ok(t, fmt.Sprintf(`2 login "%s" "%s"`, User, Pass))
	if ns := c.ok(t, "3 namespace"); !anyContains(ns, `(("INBOX." "."))`) {
		t.Errorf("NAMESPACE: %q", ns)
	}
	c.ok(t, `4 list "" "INBOX"`)
	c.ok(t, `5 lsub "" "*"`)
	if l := c.ok(t, `6 list "" "*"`); !anyContains(l, `"INBOX.Archive"`) {
		t.Errorf("LIST lacks INBOX.Archive: %q", l)
	}
	for _, box := range []string{"INBOX.Trash", "INBOX.Sent", "INBOX.Drafts"} {
		c.ok(t, "7 create \""+box+"\"")
		c.ok(t, "8 subscribe \""+box+"\"")
	}
	if l := c.ok(t, `9 lsub "" "*"`); !anyContains(l, `"INBOX.Sent"`) {
		t.Errorf("LSUB after SUBSCRIBE: %q", l)
	}
	sel := c.ok(t, `10 select "INBOX"`)
	if !anyContains(sel, "* 3 EXISTS") || !anyContains(sel, `PERMANENTFLAGS (`) {
		t.Errorf("SELECT: %q", sel)
	}
	c.ok(t, `11 getquotaroot "INBOX"`)
	flags := c.ok(t, "12 UID fetch 1:* (FLAGS)")
	if len(flags) != 3 {
		t.Fatalf("UID fetch 1:* (FLAGS): %q", flags)
	}
	uidRE := regexp.MustCompile(`UID (\d+)`)
	var uids []string
	for _, l := range flags {
		m := uidRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("FETCH without UID: %q", l)
		}
		uids = append(uids, m[1])
	}
	all := strings.Join(uids, ",")
	hdrs := c.ok(t, "13 UID fetch "+all+" (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])")
	multiUID := ""
	for _, h := range hdrs {
		if !strings.Contains(h, "Subject: ") || !strings.Contains(h, "RFC822.SIZE ") {
			t.Errorf("header fetch: %q", h)
		}
		if strings.Contains(h, "report with attachment") {
			multiUID = uidRE.FindStringSubmatch(h)[1]
		}
	}
	if multiUID == "" {
		t.Fatalf("multipart message not found in %q", hdrs)
	}

	// Opening the multipart message: structure, then the parts.
	bs := c.ok(t, "14 UID fetch "+multiUID+" (UID RFC822.SIZE BODYSTRUCTURE)")
	if len(bs) != 1 || !strings.Contains(bs[0], `"mixed"`) || !strings.Contains(strings.ToLower(bs[0]), `"application" "pdf"`) ||
		!strings.Contains(bs[0], `"attachment" ("filename" "report.pdf")`) {
		t.Errorf("BODYSTRUCTURE: %q", bs)
	}
	parts := c.ok(t, "15 UID fetch "+multiUID+" (UID RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[1.MIME] BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[2]<0.10240>)")
	if len(parts) != 1 {
		t.Fatalf("part fetch: %q", parts)
	}
	for _, want := range []string{"Hello, the report is attached.", "Content-Type: text/plain; charset=utf-8", `filename="report.pdf"`,
		"JVBERi0xLjQK", "Subject: report with attachment"} {
		if !strings.Contains(parts[0], want) {
			t.Errorf("part fetch lacks %q: %q", want, parts[0])
		}
	}
	whole := c.ok(t, "16 UID fetch "+multiUID+" (UID RFC822.SIZE BODY.PEEK[])")
	if m := regexp.MustCompile(`RFC822.SIZE (\d+) BODY\[\] \{(\d+)\}`).FindStringSubmatch(whole[0]); m == nil || m[1] != m[2] {
		t.Errorf("RFC822.SIZE and BODY[] literal differ: %q", firstLine(whole[0]))
	}

	// Read, tag, junk.
	if st := c.ok(t, "17 UID store "+multiUID+" +Flags (\\Seen)"); !anyContains(st, `\Seen`) {
		t.Errorf("store \\Seen: %q", st)
	}
	if st := c.ok(t, "18 UID store "+uids[0]+" +Flags ($label1 Junk)"); !anyContains(st, "$label1") || !anyContains(st, "Junk") {
		t.Errorf("store keywords: %q", st)
	}

	// Delete = copy to Trash, \Deleted, UID EXPUNGE.
	cp := c.cmd(t, `19 UID copy `+uids[1]+` "INBOX.Trash"`)
	if !strings.Contains(cp, "19 OK [COPYUID ") {
		t.Errorf("copy to Trash: %q", cp)
	}
	c.ok(t, "20 UID store "+uids[1]+" +FLAGS (\\Deleted \\Seen)")
	if ex := c.ok(t, "21 UID expunge "+uids[1]); !anyContains(ex, "EXPUNGE") {
		t.Errorf("UID EXPUNGE: %q", ex)
	}

	// Sent and Drafts.
	sent := strings.ReplaceAll(testMessage("<sent@clients.test>", "sent by tb"), "\n", "\r\n")
	if a := c.appendLit(t, `22 append "INBOX.Sent" (\Seen) "26-Nov-2026 12:00:00 +0000"`, sent); !strings.Contains(a, "22 OK [APPENDUID ") {
		t.Errorf("APPEND Sent: %q", a)
	}
	draft := strings.ReplaceAll(testMessage("<draft@clients.test>", "draft"), "\n", "\r\n")
	a := c.appendLit(t, `23 append "INBOX.Drafts" (\Draft \Seen)`, draft)
	m := regexp.MustCompile(`APPENDUID \d+ (\d+)`).FindStringSubmatch(a)
	if m == nil {
		t.Fatalf("APPEND Drafts: %q", a)
	}
	c.ok(t, `24 select "INBOX.Drafts"`)
	c.ok(t, "25 UID store "+m[1]+" +FLAGS (\\Deleted)")
	c.ok(t, "26 UID expunge "+m[1])
	if st := c.ok(t, `27 STATUS "INBOX.Sent" (MESSAGES UNSEEN)`); !anyContains(st, "MESSAGES 1 UNSEEN 0") {
		t.Errorf("STATUS Sent: %q", st)
	}

	// Back to INBOX: the tags are remembered and listed in FLAGS.
	sel = c.ok(t, `28 select "INBOX"`)
	if !anyContains(sel, "* 2 EXISTS") || !anyContains(sel, "$label1") {
		t.Errorf("re-SELECT INBOX: %q", sel)
	}

	// Pipelined commands are answered in order.
	c.Write([]byte("29 noop\r\n30 UID fetch 1:* (FLAGS)\r\n31 noop\r\n"))
	for _, tag := range []string{"29", "30", "31"} {
		for {
			l, err := c.readResp()
			if err != nil {
				t.Fatalf("pipelined %s: %v", tag, err)
			}
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Errorf("pipelined %s: %q", tag, l)
				}
				break
			}
		}
	}

	// IDLE sees a delivery by another client.
	c.Write([]byte("32 IDLE\r\n"))
	if l, err := c.readResp(); err != nil || !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q %v", l, err)
	}
	o, err := dialRaw(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	o.ok(t, fmt.Sprintf("o1 LOGIN %s %s", User, Pass))
	if r := o.appendLit(t, "o2 APPEND INBOX", strings.ReplaceAll(testMessage("<idle@clients.test>", "while idle"), "\n", "\r\n")); !strings.HasPrefix(r, "o2 OK") {
		t.Fatalf("APPEND from the other client: %q", r)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	for {
		l, err := c.readResp()
		if err != nil {
			t.Fatalf("no EXISTS during IDLE: %v", err)
		}
		if l == "* 3 EXISTS" {
			break
		}
	}
	c.Write([]byte("DONE\r\n"))
	for {
		l, err := c.readResp()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "32 ") {
			if !strings.HasPrefix(l, "32 OK") {
				t.Errorf("IDLE end: %q", l)
			}
			break
		}
	}

	// Folder management: rename and delete.
	c.ok(t, `33 rename "INBOX.Drafts" "INBOX.Drafts2"`)
	c.ok(t, `34 delete "INBOX.Drafts2"`)
	if l := c.ok(t, `35 list "" "*"`); anyContains(l, "Drafts") {
		t.Errorf("LIST after delete: %q", l)
	}
	c.ok(t, "36 check")
	c.ok(t, "37 close")
	if u, tagged := c.exchange(t, "38 logout"); !strings.HasPrefix(tagged, "38 OK") || !anyContains(u, "* BYE") {
		t.Errorf("LOGOUT: %q %q", u, tagged)
	}

	// The server state, seen by an independent client.
	g := s.Dial(t)
	if tr := snapshot(t, g, "INBOX.Trash"); len(tr.Msgs) != 1 || tr.Msgs[0].MsgID != msgIDFor("plain two") {
		t.Errorf("Trash: %+v", tr.Msgs)
	}
	in := snapshot(t, g, "INBOX")
	if len(in.Msgs) != 3 {
		t.Errorf("INBOX: %+v", in.Msgs)
	}
	if got := strconv.Itoa(len(in.byMsgID()[msgIDFor("plain two")])); got != "0" {
		t.Errorf("deleted message still in INBOX")
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
