package imaptest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// scanHeads feeds stream to a lineScanner in chunks of size chunk and
// returns the heads of the logical lines.
func scanHeads(stream string, chunk int) []string {
	var sc lineScanner
	var heads []string
	for p := []byte(stream); len(p) > 0; {
		n := min(chunk, len(p))
		sc.feed(p[:n], func(h []byte) { heads = append(heads, string(h)) })
		p = p[n:]
	}
	return heads
}

func TestLineScanner(t *testing.T) {
	tests := []struct {
		name, stream string
		want         []string
	}{
		{"plain lines", "a1 NOOP\r\na2 SELECT INBOX\r\n", []string{"a1 NOOP", "a2 SELECT INBOX"}},
		{"bare LF", "a1 NOOP\na2 NOOP\n", []string{"a1 NOOP", "a2 NOOP"}},
		{"literal hides a fake response", "* 1 FETCH (BODY[] {14}\r\na9 OK faked\r\n)\r\na1 OK done\r\n",
			[]string{"* 1 FETCH (BODY[] {14}", "a1 OK done"}},
		{"non-synchronizing literal", "a1 APPEND INBOX {5+}\r\nb2 OK\r\na2 NOOP\r\n", []string{"a1 APPEND INBOX {5+}", "a2 NOOP"}},
		{"binary literal", "a1 APPEND INBOX ~{3}\r\n\x00\n\x00\r\na2 NOOP\r\n", []string{"a1 APPEND INBOX ~{3}", "a2 NOOP"}},
		{"two literals in one command", "a1 LOGIN {1}\r\nu {2}\r\npw\r\na2 NOOP\r\n", []string{"a1 LOGIN {1}", "a2 NOOP"}},
		{"empty literal", "a1 APPEND INBOX {0}\r\n\r\na2 NOOP\r\n", []string{"a1 APPEND INBOX {0}", "a2 NOOP"}},
		{"not a literal: no digits", "a1 SEARCH SUBJECT {}\r\na2 NOOP\r\n", []string{"a1 SEARCH SUBJECT {}", "a2 NOOP"}},
		{"not a literal: not at the end", "a1 SEARCH {3} x\r\na2 NOOP\r\n", []string{"a1 SEARCH {3} x", "a2 NOOP"}},
		{"unfinished line", "a1 NOOP\r\na2 NO", []string{"a1 NOOP"}},
		{"long head is cut", "a1 " + strings.Repeat("x", 500) + "\r\na2 NOOP\r\n", []string{"a1 " + strings.Repeat("x", headMax-3), "a2 NOOP"}},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
			got := scanHeads(tc.stream, chunk)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s (chunks of %d): %q, want %q", tc.name, chunk, got, tc.want)
			}
		}
	}
}

func TestCommandOf(t *testing.T) {
	for _, tc := range []struct{ head, tag, name string }{
		{"a1 fetch 1:* flags", "a1", "FETCH"},
		{"a2 uid store 1 +flags (\\Seen)", "a2", "UID STORE"},
		{"a3 UID", "a3", "UID"},
		{"a4", "a4", ""},
		{"", "", ""},
		{"  ", "", ""},
	} {
		tag, name := commandOf([]byte(tc.head))
		if tag != tc.tag || name != tc.name {
			t.Errorf("%q: %q %q, want %q %q", tc.head, tag, name, tc.tag, tc.name)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*20*time.Millisecond) // 20 ms .. 2 s
	}
	c := summarize("X", ds, time.Second)
	if c.Count != 100 || c.Max != 2*time.Second || c.Over != 50 || c.P50 != 1020*time.Millisecond || c.P99 != 2*time.Second {
		t.Errorf("summarize: %+v", c)
	}
	if c := summarize("E", nil, time.Second); c.Count != 0 || c.Max != 0 {
		t.Errorf("empty: %+v", c)
	}
}

// TestRelay runs the relay against a scripted server: responses are
// matched by tag, a literal in a response is skipped, IDLE is timed from
// DONE, and a slow command is reported as slow.
func TestRelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		c.Write([]byte("* OK ready\r\n"))
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			tag, name := commandOf([]byte(l))
			switch name {
			case "SLOW":
				time.Sleep(300 * time.Millisecond)
				c.Write([]byte(tag + " OK slow\r\n"))
			case "FETCH":
				c.Write([]byte("* 1 FETCH (BODY[] {12}\r\nf1 OK fake\r\n)\r\n" + tag + " OK fetched\r\n"))
			case "IDLE":
				c.Write([]byte("+ idling\r\n"))
				if l, err = br.ReadString('\n'); err != nil || strings.TrimSpace(l) != "DONE" {
					return
				}
				c.Write([]byte(tag + " OK idle done\r\n"))
			case "LOGOUT":
				c.Write([]byte("* BYE\r\n" + tag + " OK bye\r\n"))
				return
			default:
				c.Write([]byte(tag + " OK\r\n"))
			}
		}
	}()
	rec := NewRecorder(200 * time.Millisecond)
	r, err := StartRelay(ln.Addr().String(), rec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	expect := func(prefix string) {
		t.Helper()
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(l, prefix) {
				return
			}
		}
	}
	expect("* OK")
	c.Write([]byte("f1 FETCH 1 BODY[]\r\n"))
	expect("f1 OK fetched")
	c.Write([]byte("s1 SLOW\r\n"))
	expect("s1 OK")
	// Pipelined behind a slow command: QUICK is timed from the SLOW's
	// answer, and its time from sending is kept apart.
	c.Write([]byte("s2 SLOW\r\nq1 QUICK\r\n"))
	expect("q1 OK")
	c.Write([]byte("i1 IDLE\r\n"))
	expect("+ idling")
	time.Sleep(400 * time.Millisecond) // idle time is the client's: not counted
	c.Write([]byte("DONE\r\n"))
	expect("i1 OK")
	c.Write([]byte("n1 NOOP\r\nl1 LOGOUT\r\n"))
	expect("l1 OK")
	c.Close()
	r.Close()

	got := map[string]CommandStats{}
	for _, s := range rec.Stats() {
		got[s.Command] = s
	}
	for _, name := range []string{"FETCH", "QUICK", "IDLE", "NOOP", "LOGOUT"} {
		if got[name].Count != 1 {
			t.Errorf("%s: count %d, want 1 (stats %+v)", name, got[name].Count, rec.Stats())
		}
	}
	if got["ALL"].Count != 7 {
		t.Errorf("ALL: %d commands, want 7", got["ALL"].Count)
	}
	if s := got["SLOW"]; s.Count != 2 || s.Max < 300*time.Millisecond || s.Over != 2 {
		t.Errorf("SLOW: %+v, want 2, >= 300ms and over", s)
	}
	if s := got["QUICK"]; s.Max > 200*time.Millisecond || s.Over != 0 || s.MaxFromSent < 300*time.Millisecond {
		t.Errorf("QUICK: %+v, want under 200ms from the SLOW's answer, over 300ms from sending", s)
	}
	if s := got["ALL"]; s.MaxFromSent < got["QUICK"].MaxFromSent {
		t.Errorf("ALL: from sending %v, below QUICK's %v", s.MaxFromSent, got["QUICK"].MaxFromSent)
	}
	if s := got["IDLE"]; s.Max > 200*time.Millisecond {
		t.Errorf("IDLE timed %v: the idle period was counted", s.Max)
	}
	if slow := rec.Slow(); len(slow) != 2 || slow[0].Command != "SLOW" || slow[1].Command != "SLOW" {
		t.Errorf("slow list: %+v", slow)
	}
	if !strings.Contains(rec.Report(5), "slow:") {
		t.Errorf("report lacks the slow command:\n%s", rec.Report(5))
	}
}

// FuzzLineScanner: any stream, cut anywhere, gives the same lines, and the
// scanner's memory stays bounded.
func FuzzLineScanner(f *testing.F) {
	f.Add("a1 NOOP\r\n* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\na1 OK\r\n", 3)
	f.Add("a1 APPEND x {2+}\r\n\r\n\r\n", 1)
	f.Fuzz(func(t *testing.T, stream string, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1
		}
		whole := scanHeads(stream, len(stream)+1)
		cut := scanHeads(stream, chunk)
		if strings.Join(whole, "\x00") != strings.Join(cut, "\x00") {
			t.Fatalf("chunks of %d: %q, whole: %q", chunk, cut, whole)
		}
		for _, h := range whole {
			if len(h) > headMax {
				t.Fatalf("head of %d bytes", len(h))
			}
		}
	})
}
