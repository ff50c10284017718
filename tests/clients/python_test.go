package clients

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPythonImaplib runs testdata/imaplib_session.py: two concurrent
// python3 imaplib sessions on one INBOX exercising LIST, SELECT, FETCH,
// STORE, SEARCH, COPY, EXPUNGE, APPEND and IDLE, each session checking
// that it sees the other's changes (EXISTS, FETCH FLAGS, EXPUNGE, and
// unsolicited updates during IDLE).
func TestPythonImaplib(t *testing.T) {
	p := needChain(t)
	py := Require(t, "python3", "python3")
	const n = 40
	s := Start(t, p, Options{Seed: seedAccount(n)})
	script, err := filepath.Abs(filepath.Join("testdata", "imaplib_session.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), 2*time.Minute, t.TempDir(), []string{"PATH=/usr/bin:/bin"},
		py, script, fmt.Sprint(s.Port), User, Pass, fmt.Sprint(n))
	if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "ok") {
		t.Fatalf("imaplib session: %v\n%s\nserver log:\n%s", err, out, tail(s.Logs(), 30))
	}
	t.Log(strings.TrimSpace(out))
}
