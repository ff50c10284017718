package stdioconn

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests re-run their own binary as a worker with STDIOCONN_CHILD set to
// the case it should play, and fd 0 set up by the parent.
func TestMain(m *testing.M) {
	switch os.Getenv("STDIOCONN_CHILD") {
	case "":
		os.Exit(m.Run())
	case "pipe":
		childPipe()
	case "deadline":
		childDeadline()
	case "nodelay":
		childNoDelay()
	}
	os.Stdout.WriteString("unknown child case\n")
	os.Exit(2)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", a...)
	os.Exit(1)
}

// childPipe: fd 0 is a pipe with no data yet. Socket must say no, and the
// first read must then block until data arrives, not fail.
func childPipe() {
	if Socket() != nil {
		fail("socket?")
	}
	b := make([]byte, 64)
	n, err := os.Stdin.Read(b)
	if err != nil {
		fail("read error: %v", err)
	}
	os.Stdout.WriteString("got " + string(b[:n]))
	os.Exit(0)
}

// childDeadline: fd 0 is one end of a Unix socketpair whose peer sends
// nothing. A read deadline must end the read; a write through the file
// must reach the peer; closing the file must leave fd 0 open.
func childDeadline() {
	s := Socket()
	if s == nil {
		fail("fd 0 not taken for a socket")
	}
	start := time.Now()
	s.SetReadDeadline(start.Add(200 * time.Millisecond))
	_, err := s.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		fail("read: %v, want a deadline error", err)
	}
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		fail("read error %v does not report Timeout()", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		fail("deadline fired after %v", d)
	}
	s.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write([]byte("timed out\n")); err != nil {
		fail("write: %v", err)
	}
	s.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(0, &st); err != nil {
		fail("fd 0 after Close: %v", err)
	}
	os.Stdout.WriteString("ok\n")
	os.Exit(0)
}

// childNoDelay: fd 0 is a TCP connection; Socket must set TCP_NODELAY.
func childNoDelay() {
	if v, err := syscall.GetsockoptInt(0, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); err != nil || v != 0 {
		fail("before: TCP_NODELAY %d, %v; want 0", v, err)
	}
	if Socket() == nil {
		fail("fd 0 not taken for a socket")
	}
	if v, err := syscall.GetsockoptInt(0, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); err != nil || v == 0 {
		fail("after: TCP_NODELAY %d, %v", v, err)
	}
	os.Stdout.WriteString("ok\n")
	os.Exit(0)
}

func child(t *testing.T, role string, stdin *os.File) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "STDIOCONN_CHILD="+role)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	return cmd, &out
}

func TestPipeStaysBlocking(t *testing.T) {
	cmd, out := child(t, "pipe", nil)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the child is reading an empty pipe now
	in.Write([]byte("hello\n"))
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v (%s)", err, out.String())
	}
	if out.String() != "got hello\n" {
		t.Fatalf("child said %q", out.String())
	}
}

func TestSocketReadDeadline(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine := os.NewFile(uintptr(fds[0]), "parent end")
	theirs := os.NewFile(uintptr(fds[1]), "child end")
	defer mine.Close()
	cmd, out := child(t, "deadline", theirs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	// Sending nothing, the parent waits for what the child writes after
	// its deadline fired.
	mine.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(mine).ReadString('\n')
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v (%s)", err, out.String())
	}
	if line != "timed out\n" || err != nil {
		t.Fatalf("peer read %q, %v", line, err)
	}
	if out.String() != "ok\n" {
		t.Fatalf("child said %q", out.String())
	}
}

func TestSocketTCPNoDelay(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback TCP:", err)
	}
	defer l.Close()
	cli, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// Go sets TCP_NODELAY on its own connections; the worker's socket
	// comes from couriertcpd without it.
	if err := srv.(*net.TCPConn).SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	f, err := srv.(*net.TCPConn).File()
	srv.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd, out := child(t, "nodelay", f)
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v (%s)", err, out.String())
	}
	if out.String() != "ok\n" {
		t.Fatalf("child said %q", out.String())
	}
}
