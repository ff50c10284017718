//go:build memprof

// Diagnostic build only (go build -tags memprof ./imapd): with
// IMAPD_MEMPROFILE=/some/prefix in the environment, SIGUSR2 makes the
// session write, to <prefix>.<pid>.*, its runtime/metrics memory classes
// (.txt), a heap profile (.heap) and its goroutines (.goroutines), to see
// where an idle session's memory goes (bench/session). The metrics are
// read first: runtime/metrics does not stop the world or flush the span
// caches, so it sees the state the profile writer then disturbs.
// IMAPD_MEMPROFILERATE sets runtime.MemProfileRate (1 = every
// allocation). Never part of the normal binary.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
)

func init() {
	base := os.Getenv("IMAPD_MEMPROFILE")
	if base == "" {
		return
	}
	if n, err := strconv.Atoi(os.Getenv("IMAPD_MEMPROFILERATE")); err == nil && n > 0 {
		runtime.MemProfileRate = n
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	go func() {
		for range ch {
			p := fmt.Sprintf("%s.%d", base, os.Getpid())
			var samples []metrics.Sample
			for _, d := range metrics.All() {
				if strings.HasPrefix(d.Name, "/memory/classes/") || strings.HasPrefix(d.Name, "/gc/") || strings.HasPrefix(d.Name, "/sched/") {
					samples = append(samples, metrics.Sample{Name: d.Name})
				}
			}
			metrics.Read(samples)
			var b strings.Builder
			for _, s := range samples {
				switch s.Value.Kind() {
				case metrics.KindUint64:
					fmt.Fprintf(&b, "%s %d\n", s.Name, s.Value.Uint64())
				case metrics.KindFloat64:
					fmt.Fprintf(&b, "%s %g\n", s.Name, s.Value.Float64())
				}
			}
			os.WriteFile(p+".txt", []byte(b.String()), 0o644)
			if f, err := os.Create(p + ".heap"); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			if f, err := os.Create(p + ".goroutines"); err == nil {
				pprof.Lookup("goroutine").WriteTo(f, 1)
				f.Close()
			}
		}
	}()
}
