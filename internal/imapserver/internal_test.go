package imapserver

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"gocourier/internal/imapwire"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"*", "INBOX.a.b", true},
		{"%", "INBOX", true},
		{"%", "INBOX.a", false},
		{"INBOX.%", "INBOX.a", true},
		{"INBOX.%", "INBOX.a.b", false},
		{"INBOX.*", "INBOX.a.b", true},
		{"INBOX.*b", "INBOX.a.b", true},
		{"INBOX.%.b", "INBOX.a.b", true},
		{"INBOX", "INBOX.a", false},
		{"", "INBOX", false},
		{"*%*%*%*%*%*", "INBOX.a.b.c.d.e.f.g.h", true},
	}
	for _, tc := range tests {
		if got := matchPattern(tc.pat, tc.name); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v", tc.pat, tc.name, got)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want time.Time
	}{
		{"05-Mar-2025 14:15:30 +0100", true, time.Date(2025, 3, 5, 13, 15, 30, 0, time.UTC)},
		{" 5-Mar-2025 14:15:30 -0500", true, time.Date(2025, 3, 5, 19, 15, 30, 0, time.UTC)},
		{"31-Feb-2025 99:00:00 +0000", false, time.Time{}},
		{"05-Mar-2025", false, time.Time{}},
	}
	for _, tc := range tests {
		got, ok := parseDateTime(tc.in)
		if ok != tc.ok || (ok && !got.Equal(tc.want)) {
			t.Errorf("parseDateTime(%q) = %v, %v", tc.in, got, ok)
		}
	}
}

func TestFlagArg(t *testing.T) {
	for in, want := range map[string]bool{`\Seen`: true, `\seen`: true, `\Recent`: false, `\Bogus`: false, "$Work": true, `bad"kw`: false, "": false} {
		if _, ok := flagArg(in); ok != want {
			t.Errorf("flagArg(%q) = %v", in, ok)
		}
	}
	if f, _ := flagArg(`\seen`); f != `\Seen` {
		t.Errorf("canonical case: %q", f)
	}
}

func TestFormatFlagsOrder(t *testing.T) {
	got := formatFlags([]string{"Junk", `\Deleted`, `\Seen`, `\Flagged`}, true)
	if got != `(\Flagged \Seen \Deleted \Recent Junk)` {
		t.Errorf("got %s", got)
	}
}

func TestCapabilities(t *testing.T) {
	env := map[string]string{"IMAP_CAPABILITY": "IMAP4rev1 IDLE SORT THREAD=REFERENCES", "IMAP_DISABLETHREADSORT": "1", "IMAP_ACL": "1"}
	got := Capabilities(func(k string) string { return env[k] }, true)
	want := "IMAP4rev1 IDLE ACL ACL2=UNION ENABLE UTF8=ACCEPT LITERAL+ SASL-IR UNSELECT MOVE SPECIAL-USE ESEARCH CONDSTORE QRESYNC"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	env["IMAP_CONDSTORE"] = "0"
	if got := Capabilities(func(k string) string { return env[k] }, true); strings.Contains(got, "CONDSTORE") || strings.Contains(got, "QRESYNC") {
		t.Errorf("IMAP_CONDSTORE=0 still offers them: %q", got)
	}
	env = map[string]string{"IMAP_TLS": "1", "IMAP_CAPABILITY_TLS": "IMAP4rev1 AUTH=PLAIN", "IMAP_CAPABILITY": "IMAP4rev1"}
	if got := Capabilities(func(k string) string { return env[k] }, false); got != "IMAP4rev1 AUTH=PLAIN ENABLE UTF8=ACCEPT LITERAL+ SASL-IR" {
		t.Errorf("TLS caps %q", got)
	}
}

func TestBadText(t *testing.T) {
	if got := badText(errors.New("syntax error: expected ' '")); got != "Error in IMAP command received by server: expected ' '" {
		t.Errorf("got %q", got)
	}
	if got := badText(nil); got != textError {
		t.Errorf("got %q", got)
	}
}

// The pre-auth stage (internal/imappreauth) answers these with NO, not BAD.
func TestIsSessionCommand(t *testing.T) {
	for name, want := range map[string]bool{
		"SELECT": true, "FETCH": true, "IDLE": true, "NOOP": true,
		"LOGIN": false, "AUTHENTICATE": false, "STARTTLS": false, "FOOBAR": false, "select": false, "": false,
	} {
		if got := IsSessionCommand(name); got != want {
			t.Errorf("IsSessionCommand(%q) = %v, want %v", name, got, want)
		}
	}
}

// ReadLine takes lines longer than the 4 KiB read buffer in fragments
// and refuses those over its bound.
func TestConnReadLine(t *testing.T) {
	long := strings.Repeat("x", 10000)
	c := NewConn(strings.NewReader("DONE\r\n"+long+"\r\n"+long+"\r\n"), io.Discard, imapwire.DefaultLimits)
	if l, err := c.ReadLine(16384); l != "DONE" || err != nil {
		t.Fatalf("%q %v", l, err)
	}
	if l, err := c.ReadLine(16384); l != long || err != nil {
		t.Fatalf("long line: %d bytes, %v", len(l), err)
	}
	if _, err := c.ReadLine(5000); err == nil {
		t.Fatal("line over the bound accepted")
	}
}
