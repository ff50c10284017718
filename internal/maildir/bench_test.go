package maildir

// Benchmarks on generated folders (run explicitly, e.g.
//   go test -run '^$' -bench . -benchtime 5x ./internal/maildir
// ); MAILDIR_BENCH_N sets the folder size (default 100000).

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("MAILDIR_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// genFolder fills root/cur with n small messages with varied flags.
func genFolder(b *testing.B, root string, n int) {
	b.Helper()
	body := []byte("Subject: bench\n\nhello\n")
	flags := []string{"", "S", "FS", "RS", "T"}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%d.M%dP%dV000000000000FE00I%016X.bench,S=%d:2,%s", 1700000000+i/10, i%1000000, 1000+i%97, i, len(body), flags[i%len(flags)])
		if err := os.WriteFile(filepath.Join(root, "cur", name), body, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMaildir(b *testing.B, withDB bool) *Maildir {
	b.Helper()
	root := filepath.Join(b.TempDir(), "Maildir")
	Make(root)
	m, _ := Open(root, Options{UseLocks: true, Keywords: true, Hostname: "bench"})
	genFolder(b, root, benchN())
	if withDB {
		if _, err := m.OpenFolder("INBOX", false); err != nil {
			b.Fatal(err)
		}
		// A real reopen comes seconds later; let the stamps leave the
		// racy window so that the next open can write the snapshot.
		time.Sleep(2100 * time.Millisecond)
		f, err := m.OpenFolder("INBOX", false)
		if err != nil {
			b.Fatal(err)
		}
		f.SaveDeferred()
	}
	return m
}

// BenchmarkOpenFirst: SELECT of a folder without courierimapuiddb
// (assign every UID, write the uiddb).
func BenchmarkOpenFirst(b *testing.B) {
	m := benchMaildir(b, false)
	db := filepath.Join(m.Root(), uiddbFile)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.Remove(db)
		b.StartTimer()
		if _, err := m.OpenFolder("INBOX", false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReopen: SELECT by a new session, nothing changed.
func BenchmarkReopen(b *testing.B) {
	m := benchMaildir(b, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.OpenFolder("INBOX", false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRescanIdle: NOOP in a selected folder, nothing changed.
func BenchmarkRescanIdle(b *testing.B) {
	m := benchMaildir(b, true)
	f, _ := m.OpenFolder("INBOX", false)
	time.Sleep(2100 * time.Millisecond) // leave the racy window
	f.Rescan()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Rescan(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend: APPEND into the big folder (UID assignment included).
func BenchmarkAppend(b *testing.B) {
	m := benchMaildir(b, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Append("INBOX", strings.NewReader("Subject: x\r\n\r\nbody\r\n"), FlagSeen, nil, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExpunge: EXPUNGE of one message in the big folder.
func BenchmarkExpunge(b *testing.B) {
	m := benchMaildir(b, true)
	f, _ := m.OpenFolder("INBOX", false)
	msgs := f.Messages()
	b.ResetTimer()
	for i := 0; i < b.N && i < len(msgs); i++ {
		if _, err := f.Expunge([]uint32{msgs[i].UID}); err != nil {
			b.Fatal(err)
		}
	}
}
