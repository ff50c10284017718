package rawimap

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// TestCmdInlinesLiterals: Cmd returns every line up to the tagged reply,
// a literal inlined after a newline, and Contains/RunSteps see them.
func TestCmdInlinesLiterals(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	go func() {
		defer srv.Close()
		r := bufio.NewReader(srv)
		line, _ := r.ReadString('\n')
		if line != "a1 FETCH 1 BODY[]\r\n" {
			srv.Write([]byte("a1 BAD unexpected " + strings.TrimSpace(line) + "\r\n"))
			return
		}
		srv.Write([]byte("* 1 FETCH (BODY[] {5}\r\nhello)\r\n* OK still here\r\na1 OK FETCH completed.\r\n"))
		r.ReadString('\n')
		srv.Write([]byte("a2 OK NOOP completed.\r\n"))
	}()
	c := New(t, cli)
	got := c.Cmd("a1 FETCH 1 BODY[]")
	want := []string{"* 1 FETCH (BODY[] {5}\nhello)", "* OK still here", "a1 OK FETCH completed."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !Contains(got, "hello") || Contains(got, "goodbye") {
		t.Error("Contains")
	}
	RunSteps(t, c, []Step{{"noop", "a2 NOOP", []string{"a2 OK"}, []string{"BAD"}}})
}
