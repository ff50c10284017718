package imapserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocourier/internal/imapserver"
	"gocourier/internal/rawimap"
)

func bigSize() int {
	size := 32 << 20
	if v, err := strconv.Atoi(os.Getenv("IMAP_TEST_BIGMSG_MB")); err == nil && v > 0 {
		size = v << 20
	}
	return size
}

// peakHeap samples the heap until stop is closed.
func peakHeap(stop chan struct{}) chan uint64 {
	peakc := make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak {
				peak = ms.HeapAlloc
			}
			select {
			case <-stop:
				peakc <- peak
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return peakc
}

func baseline() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

const memSlack = 12 << 20 // allowed heap growth, whatever the message size

// TestLargeFetchMemory fetches a large message (32 MiB by default,
// IMAP_TEST_BIGMSG_MB to change) and checks that the heap stays bounded.
func TestLargeFetchMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large message")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	size := bigSize()
	root := newMaildir(t)
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq", 1) + "\n"
	f, err := os.Create(filepath.Join(root, "tmp", "big"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("Subject: big\n\n")
	chunk := strings.Repeat(line, 1024)
	lines := 0
	for written := 0; written < size; written += len(chunk) {
		f.WriteString(chunk)
		lines += 1024
	}
	st, _ := f.Stat()
	f.Close()
	os.Rename(filepath.Join(root, "tmp", "big"), filepath.Join(root, "new", "big"))
	crlf := st.Size() + int64(lines) + 2
	c := rawimap.New(t, startSession(t, root, imapserver.Config{}))
	c.C.SetDeadline(time.Now().Add(2 * time.Minute))
	c.Line()
	c.Cmd("a SELECT INBOX")
	base := baseline()
	stop := make(chan struct{})
	peakc := peakHeap(stop)
	c.Send("c FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n")
	l, err := c.R.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("* 1 FETCH (RFC822.SIZE %d BODY[] {%d}\r\n", crlf, crlf); l != want {
		t.Fatalf("got %q want %q", l, want)
	}
	if _, err := io.CopyN(io.Discard, c.R, crlf); err != nil {
		t.Fatal(err)
	}
	c.Until("c")
	close(stop)
	peak := <-peakc
	t.Logf("FETCH of a %d MiB message: peak heap %d KiB over a %d KiB baseline", crlf>>20, (peak-base)>>10, base>>10)
	if peak > base+memSlack {
		t.Errorf("peak heap %d over baseline %d: not streaming", peak, base)
	}
}

// countingStore accepts APPEND and counts the streamed bytes; everything
// else is unimplemented (nil interface).
type countingStore struct {
	imapserver.Store
	n int64
}

func (s *countingStore) Exists(string) bool { return true }

func (s *countingStore) Append(name string, flags []string, date time.Time, r io.Reader) (uint32, uint32, error) {
	n, err := io.Copy(io.Discard, r)
	s.n = n
	return 1, 1, err
}

// TestLargeAppendMemory checks that an APPEND literal is streamed to the
// store, never buffered by the protocol layer.
func TestLargeAppendMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large message")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	size := bigSize()
	store := &countingStore{}
	srv, cli := net.Pipe()
	defer cli.Close()
	go func() {
		imapserver.NewSession(imapserver.Config{Getenv: getenv}, store, srv, srv).Run("* PREAUTH Ready.")
		srv.Close()
	}()
	c := rawimap.New(t, cli)
	c.C.SetDeadline(time.Now().Add(2 * time.Minute))
	c.Line()
	base := baseline()
	stop := make(chan struct{})
	peakc := peakHeap(stop)
	c.Send(fmt.Sprintf("b APPEND INBOX {%d}\r\n", size))
	if l := c.Line(); l != "+ OK" {
		t.Fatalf("got %q", l)
	}
	buf := bytes.Repeat([]byte("x"), 64<<10)
	for sent := 0; sent < size; sent += len(buf) {
		if _, err := c.C.Write(buf[:min(len(buf), size-sent)]); err != nil {
			t.Fatal(err)
		}
	}
	c.Send("\r\n")
	got := c.Until("b")
	close(stop)
	peak := <-peakc
	if !strings.HasPrefix(got[len(got)-1], "b OK [APPENDUID 1 1]") || store.n != int64(size) {
		t.Fatalf("append: %q, store got %d bytes", got, store.n)
	}
	t.Logf("APPEND of a %d MiB literal: peak heap %d KiB over a %d KiB baseline", size>>20, (peak-base)>>10, base>>10)
	if peak > base+memSlack {
		t.Errorf("peak heap %d over baseline %d: not streaming", peak, base)
	}
}
