//go:build memprof

// Diagnostic build only (go build -tags memprof): on SIGUSR2 the session
// writes a heap profile and its runtime.MemStats to
// $IMAPD_MEMPROFILE.<pid>.{heap,txt}, to see where an idle session's
// memory goes (bench/session). Never part of the normal binary.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

func init() {
	runtime.MemProfileRate = 1
	base := os.Getenv("IMAPD_MEMPROFILE")
	if base == "" {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	go func() {
		for range ch {
			p := fmt.Sprintf("%s.%d", base, os.Getpid())
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			os.WriteFile(p+".txt", []byte(fmt.Sprintf("%+v\n", m)), 0o644)
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
