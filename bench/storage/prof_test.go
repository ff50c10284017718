//go:build storageprof

package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocourier/internal/imapmaildir"
	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

// TestProfileSelect is a diagnostic, built only with -tags storageprof
// (STORAGE_BENCH_PROFILE=N messages, run with -cpuprofile): it times our IMAP SELECT of an unchanged big
// folder in-process, split into the storage part (OpenFolder) and the
// whole command, to show where a reopen's time goes.
func TestProfileSelect(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STORAGE_BENCH_PROFILE"))
	if n <= 0 {
		t.Skip("diagnostic; set STORAGE_BENCH_PROFILE=<messages>")
	}
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := populate(root, n); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	opts := maildir.Options{UseLocks: true, Keywords: true, TrashName: "Trash", Hostname: "bench.host"}
	md, err := maildir.Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := md.OpenFolder(folder, false); err != nil {
		t.Fatal(err)
	}
	first := os.Getenv("STORAGE_BENCH_FIRST") != ""
	for i := 0; i < 5; i++ {
		if first {
			forget(root)
		}
		t0 := time.Now()
		md, _ := maildir.Open(root, opts)
		if _, err := md.OpenFolder(folder, false); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if first {
			forget(root)
			t1 = time.Now()
		}
		store := imapmaildir.New(md)
		sess := imapserver.NewSession(imapserver.Config{Log: io.Discard, User: "alice"}, store,
			strings.NewReader("a SELECT "+folder+"\r\nb LOGOUT\r\n"), io.Discard)
		sess.Run("* PREAUTH Ready.")
		t.Logf("storage open %v, whole SELECT session %v", t1.Sub(t0), time.Since(t1))
	}
}
