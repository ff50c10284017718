package mime

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// fetchThroughClient serves one FETCH response built from msg to the
// go-imap client and returns what the client parsed: a check that our
// ENVELOPE and BODYSTRUCTURE syntax is what real clients accept.
func fetchThroughClient(t *testing.T, msg string, extended bool) *imapclient.FetchMessageBuffer {
	t.Helper()
	p := mustParse(t, msg)
	resp := "* 1 FETCH (ENVELOPE " + string(p.Envelope.AppendIMAP(nil))
	if extended {
		resp += " BODYSTRUCTURE "
	} else {
		resp += " BODY "
	}
	resp += string(p.AppendBodyStructure(nil, extended)) + ")\r\n"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		_, _ = c.Write([]byte("* OK [CAPABILITY IMAP4rev1] test\r\n"))
		for i := 0; i < 5; i++ {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			tag, rest, _ := strings.Cut(line, " ")
			switch {
			case strings.HasPrefix(strings.ToUpper(rest), "FETCH"):
				_, _ = c.Write([]byte(resp + tag + " OK done\r\n"))
			case strings.HasPrefix(strings.ToUpper(rest), "LOGOUT"):
				_, _ = c.Write([]byte("* BYE\r\n" + tag + " OK bye\r\n"))
				return
			default:
				_, _ = c.Write([]byte(tag + " OK\r\n"))
			}
		}
	}()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cl := imapclient.New(conn, nil)
	defer cl.Close()
	msgs, err := cl.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		Envelope:      true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: extended},
	}).Collect()
	if err != nil {
		t.Fatalf("client could not parse %q: %v", resp, err)
	}
	_ = cl.Logout().Wait()
	<-done
	if len(msgs) != 1 {
		t.Fatalf("client got %d messages", len(msgs))
	}
	return msgs[0]
}

func TestClientParsesOurOutput(t *testing.T) {
	for _, ext := range []bool{true, false} {
		m := fetchThroughClient(t, msgM5, ext)
		mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
		if !ok || len(mp.Children) != 2 {
			t.Fatalf("m5 body structure %#v", m.BodyStructure)
		}
		rfc, ok := mp.Children[1].(*imap.BodyStructureSinglePart)
		if !ok || rfc.MessageRFC822 == nil || rfc.MessageRFC822.Envelope.Subject != "Hello Alice" ||
			rfc.MessageRFC822.NumLines != 8 || rfc.Size != 212 {
			t.Errorf("m5 message/rfc822 part parsed as %#v", mp.Children[1])
		}
		if ext && (mp.Extended == nil || mp.Extended.Params["boundary"] != "fwd") {
			t.Errorf("m5 multipart extension %#v", mp.Extended)
		}
	}

	m := fetchThroughClient(t, msgM4, true)
	env := m.Envelope
	if len(env.To) != 2 || !env.To[0].IsGroupStart() || env.To[0].Mailbox != "undisclosed-recipients" || !env.To[1].IsGroupEnd() {
		t.Errorf("group parsed as %#v", env.To)
	}
	if len(env.Cc) != 2 || env.Cc[0].Name != "Quoted, Name" || env.Cc[1].Addr() != "plain@example.com" {
		t.Errorf("cc parsed as %#v", env.Cc)
	}
	if env.MessageID != "m4@example.de" || env.Date.IsZero() {
		t.Errorf("envelope %#v", env)
	}

	m = fetchThroughClient(t, msgM2, true)
	var types []string
	m.BodyStructure.Walk(func(path []int, part imap.BodyStructure) bool {
		types = append(types, part.MediaType())
		return true
	})
	if got := strings.Join(types, ","); got != "multipart/mixed,multipart/alternative,text/plain,text/html,application/pdf" {
		t.Errorf("m2 parts %s", got)
	}
	if d := m.BodyStructure.(*imap.BodyStructureMultiPart).Children[1].Disposition(); d == nil || d.Params["filename"] != "report.pdf" {
		t.Errorf("m2 attachment disposition %#v", d)
	}

	// Hostile and odd inputs must still give something the client parses.
	for _, odd := range []string{
		"",
		"Subject: Caf\xc3\xa9 \"q\" \\\nFrom: nodomain, g: ;\n\n",
		"Content-Type: multipart/mixed\n\n",
		"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nAAAA\n",
		"Content-Type: text/plain; name=\"" + strings.Repeat("x", 3000) + "\"\nContent-Language: en, de\n\nx\n",
	} {
		fetchThroughClient(t, odd, true)
		fetchThroughClient(t, odd, false)
	}
}
