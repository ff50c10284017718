package starttls

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAvailable(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "couriertls")
	noexec := filepath.Join(dir, "noexec")
	cert := filepath.Join(dir, "cert.pem")
	os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(noexec, []byte("x"), 0o644)
	os.WriteFile(cert, []byte("x"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"program and certificate", map[string]string{"COURIERTLS": prog, "TLS_CERTFILE": cert}, true},
		{"program missing", map[string]string{"COURIERTLS": filepath.Join(dir, "none"), "TLS_CERTFILE": cert}, false},
		{"program not executable", map[string]string{"COURIERTLS": noexec, "TLS_CERTFILE": cert}, false},
		{"certificate missing", map[string]string{"COURIERTLS": prog, "TLS_CERTFILE": filepath.Join(dir, "none.pem")}, false},
		{"TLS_CERTFILE unset", map[string]string{"COURIERTLS": prog}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Available(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("Available = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOfferedRequiredExternal(t *testing.T) {
	for _, tc := range []struct {
		name              string
		service           string
		env               map[string]string
		avail             bool
		offered, required bool
		external          string
	}{
		{"imap offered", "imap", map[string]string{"IMAP_STARTTLS": "YES"}, true, true, false, ""},
		{"imap y", "imap", map[string]string{"IMAP_STARTTLS": "y"}, true, true, false, ""},
		{"imap NO", "imap", map[string]string{"IMAP_STARTTLS": "NO"}, true, false, false, ""},
		{"imap unavailable", "imap", map[string]string{"IMAP_STARTTLS": "YES"}, false, false, false, ""},
		{"imap on TLS", "imap", map[string]string{"IMAP_STARTTLS": "YES", "IMAP_TLS": "1", "IMAP_TLS_REQUIRED": "1", ExternalEnv: "alice"}, true, false, false, "alice"},
		{"imap required", "imap", map[string]string{"IMAP_STARTTLS": "YES", "IMAP_TLS_REQUIRED": "1"}, true, true, true, ""},
		{"identity without TLS ignored", "imap", map[string]string{ExternalEnv: "alice"}, true, false, false, ""},
		{"pop3 offered", "pop3", map[string]string{"POP3_STARTTLS": "YES", "IMAP_STARTTLS": "NO"}, true, true, false, ""},
		{"pop3 ignores IMAP_ settings", "pop3", map[string]string{"IMAP_STARTTLS": "YES", "IMAP_TLS": "1", ExternalEnv: "alice"}, true, false, false, ""},
		{"pop3 on TLS", "pop3", map[string]string{"POP3_TLS": "1", "POP3_TLS_REQUIRED": "1", ExternalEnv: "alice"}, true, false, false, "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := func(k string) string { return tc.env[k] }
			if got := Offered(tc.service, get, tc.avail); got != tc.offered {
				t.Errorf("Offered = %v, want %v", got, tc.offered)
			}
			if got := TLSRequired(tc.service, get); got != tc.required {
				t.Errorf("TLSRequired = %v, want %v", got, tc.required)
			}
			if got := ExternalID(tc.service, get); got != tc.external {
				t.Errorf("ExternalID = %q, want %q", got, tc.external)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	t.Setenv("IMAP_STARTTLS", "YES")
	t.Setenv(ExternalEnv, "forged")
	t.Setenv("KEEP", "1")
	s := &Session{Status: Status{OK: true, External: "alice"}}
	if err := s.ApplyEnv("imap"); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"IMAP_TLS": "1", "IMAP_STARTTLS": "NO", ExternalEnv: "alice", "KEEP": "1"} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
}
