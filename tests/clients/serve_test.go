package clients

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestServe is a developer tool, skipped unless IMAPCLIENTS_SERVE=<secs>:
// it runs the chain with an empty test account for that long and prints
// the address and credentials (and writes "addr maildir dir" to the file
// IMAPCLIENTS_SERVE_INFO, if set), so external conformance tools (imaptest,
// Thunderbird, ...) can be pointed at it by hand:
//
//	IMAPCLIENTS_SERVE=600 go test -run TestServe -v ./tests/clients/
func TestServe(t *testing.T) {
	v := os.Getenv("IMAPCLIENTS_SERVE")
	if v == "" {
		t.Skip("set IMAPCLIENTS_SERVE=<seconds> to run a server by hand")
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs <= 0 || secs > 7200 {
		t.Fatalf("IMAPCLIENTS_SERVE=%q: want 1..7200 seconds", v)
	}
	p := needChain(t)
	s := Start(t, p, Options{})
	t.Logf("serving on %s user=%s pass=%s maildir=%s log=%s/log", s.Addr, User, Pass, s.Maildir, s.Dir)
	if f := os.Getenv("IMAPCLIENTS_SERVE_INFO"); f != "" {
		os.WriteFile(f, []byte(s.Addr+" "+s.Maildir+" "+s.Dir+"\n"), 0o644)
	}
	// SIGINT/SIGTERM end the wait so the cleanups stop the servers.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(secs) * time.Second):
	}
}
