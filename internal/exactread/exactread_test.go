package exactread

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// socketPair returns both ends of a connected Unix stream socket pair as
// pollable files (non-blocking, as stdioconn and the hand-off give them).
func socketPair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestSocketStopsAtLineEnd: a buffered reader over the socket gets the
// first line, and everything the client sent after it is still in the
// socket for the next process.
func TestSocketStopsAtLineEnd(t *testing.T) {
	server, client := socketPair(t)
	r := New(server)
	if _, ok := r.(*peekReader); !ok {
		t.Fatalf("socket read with %T, want the peeking reader", r)
	}
	const login = "a LOGIN user {4}\r\n"
	const literal = "pa\nss\r\n"
	const pipelined = "b SELECT INBOX\r\nc FETCH 1 BODY[]\r\n"
	if _, err := client.WriteString(login + literal + pipelined); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(r, 4096)
	var got strings.Builder
	for _, want := range []string{"a LOGIN user {4}\r\n", "pa\n", "ss\r\n"} {
		line, err := br.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("line %q %v, want %q", line, err, want)
		}
		got.WriteString(line)
	}
	if br.Buffered() != 0 {
		t.Fatalf("%d bytes buffered past the line", br.Buffered())
	}
	rest := make([]byte, 100)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := server.Read(rest)
	if err != nil || string(rest[:n]) != pipelined {
		t.Fatalf("left in the socket %q %v, want %q", rest[:n], err, pipelined)
	}
}

// TestSocketPartialLine: a line that arrives in pieces is returned as it
// arrives, never more than was sent.
func TestSocketPartialLine(t *testing.T) {
	server, client := socketPair(t)
	r := New(server)
	client.WriteString("a NO")
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "a NO" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		client.WriteString("OP\r\nb")
	}()
	n, err = r.Read(buf)
	if err != nil || string(buf[:n]) != "OP\r\n" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	n, err = r.Read(buf)
	if err != nil || string(buf[:n]) != "b" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
}

// TestSocketEOFAndDeadline: a closed peer is io.EOF, and a read deadline
// set on the file ends a wait.
func TestSocketEOFAndDeadline(t *testing.T) {
	server, client := socketPair(t)
	r := New(server)
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing sent: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("deadline took %v", d)
	}
	server.SetReadDeadline(time.Time{})
	client.Close()
	if _, err := r.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("read after close: %v, want EOF", err)
	}
}

// TestNotASocket: a pipe (a stage run by hand) and a plain reader are
// read one byte at a time.
func TestNotASocket(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, src := range []io.Reader{pr, strings.NewReader("x")} {
		if _, ok := New(src).(oneByteReader); !ok {
			t.Errorf("%T read with %T, want one byte at a time", src, New(src))
		}
	}
	pw.WriteString("ab\r\n")
	buf := make([]byte, 16)
	n, err := New(pr).Read(buf)
	if err != nil || n != 1 || buf[0] != 'a' {
		t.Fatalf("pipe read %q %v", buf[:n], err)
	}
}
