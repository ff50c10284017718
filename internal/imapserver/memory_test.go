package imapserver_test

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"gocourier/internal/imapserver"
)

// TestLargeMessageMemory appends and fetches a large message and checks
// that the server streams it: total allocations stay far below its size.
func TestLargeMessageMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large message")
	}
	const size = 5 << 20
	root := newMaildir(t)
	c := newT(t, startSession(t, root, imapserver.Config{}))
	c.line()
	c.cmd("a SELECT INBOX")
	line := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\r\n"), 1024) // 66 KiB
	hdr := "Subject: big\r\n\r\n"
	n := len(hdr)
	chunks := (size - n) / len(line)
	total := n + chunks*len(line)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	c.send(fmt.Sprintf("b APPEND INBOX {%d+}\r\n%s", total, hdr))
	for i := 0; i < chunks; i++ {
		if _, err := c.c.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	c.send("\r\n")
	got := c.until("b")
	if !strings.HasPrefix(got[len(got)-1], "b OK [APPENDUID") {
		t.Fatalf("append: %q", got)
	}
	c.send("c FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n")
	l, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("* 1 FETCH (RFC822.SIZE %d BODY[] {%d}\r\n", total, total)
	if l != want {
		t.Fatalf("got %q want %q", l, want)
	}
	if _, err := io.CopyN(io.Discard, c.r, int64(total)); err != nil {
		t.Fatal(err)
	}
	c.until("c")
	runtime.ReadMemStats(&ms1)
	alloc := ms1.TotalAlloc - ms0.TotalAlloc
	t.Logf("append+fetch of %d MiB allocated %d KiB in total", total>>20, alloc>>10)
	if alloc > size/4 {
		t.Errorf("allocated %d bytes for a %d-byte message: not streaming", alloc, total)
	}
}
