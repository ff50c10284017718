package imapserver_test

import (
	"strings"
	"testing"
	"time"

	"gocourier/internal/imapserver"
	"gocourier/internal/rawimap"
	"gocourier/internal/testenv"
)

// TestSessionLogoutStartTLS: the session's LOGOUT log line ends in
// ", starttls=1" on TLS (IMAP_TLS=1), and has no such field otherwise.
func TestSessionLogoutStartTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  string
		want bool
	}{{"on TLS", "1", true}, {"plain", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var log testenv.SyncBuffer
			env := map[string]string{"IMAP_TLS": tc.tls}
			cli := startSession(t, newMaildir(t), imapserver.Config{User: "alice", Log: &log,
				Getenv: func(k string) string {
					if v, ok := env[k]; ok {
						return v
					}
					return testEnv[k]
				}})
			c := rawimap.New(t, cli)
			c.Line()
			c.Cmd("a LOGOUT")
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(log.String(), "INFO: LOGOUT") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			line := log.String()
			if !strings.Contains(line, "INFO: LOGOUT, user=alice") {
				t.Fatalf("no LOGOUT line: %q", line)
			}
			if got := strings.HasSuffix(strings.TrimSpace(line), ", starttls=1"); got != tc.want {
				t.Errorf("log %q: starttls=1 %v, want %v", line, got, tc.want)
			}
		})
	}
}
