package mime

import (
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
)

func cpuNow() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkCorpusDir parses and formats (ENVELOPE, BODYSTRUCTURE) the
// first 500 files of $MIME_BENCH_DIR in name order: the bench's FETCH
// 1:500 (ENVELOPE BODYSTRUCTURE) on a copy of its maildir's cur/.
func BenchmarkCorpusDir(b *testing.B) {
	dir := os.Getenv("MIME_BENCH_DIR")
	if dir == "" {
		b.Skip("MIME_BENCH_DIR not set")
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		b.Fatal(err)
	}
	sort.Strings(names)
	if len(names) > 500 {
		names = names[:500]
	}
	var out []byte
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		for _, n := range names {
			f, err := os.Open(n)
			if err != nil {
				b.Fatal(err)
			}
			st, _ := f.Stat()
			root, err := Parse(f, st.Size())
			if err != nil {
				b.Fatal(err)
			}
			out = root.Envelope.AppendIMAP(out[:0])
			out = root.AppendBodyStructure(out, true)
			f.Close()
		}
	}
	b.ReportMetric(float64(cpuNow()-c0)/1e6/float64(b.N), "cpu-ms/op")
}
