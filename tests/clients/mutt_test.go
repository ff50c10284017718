package clients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedSubjects delivers one unread message per subject into new/ (as an
// MDA would) and creates the Maildir++ folder Archive.
func seedSubjects(subjects ...string) func(string) error {
	return func(md string) error {
		for i, s := range subjects {
			name := filepath.Join(md, "new", fmt.Sprintf("17000000%02d.M%dP1.clients", i, i))
			if err := os.WriteFile(name, []byte(testMessage(msgIDFor(s), s)), 0o600); err != nil {
				return err
			}
		}
		arch := filepath.Join(md, ".Archive")
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(arch, sub), 0o700); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(arch, "maildirfolder"), nil, 0o600)
	}
}

func msgIDFor(subject string) string {
	return "<" + strings.ReplaceAll(subject, " ", "-") + "@clients.test>"
}

// TestMutt drives mutt (curses, under script(1) for a terminal) in
// batch: open INBOX over IMAP, limit to one message, display it, pipe it
// to a file (checked: mutt got header and body), save it
// to INBOX.Archive, sync and quit. The go-imap client then checks the
// server: the message left INBOX (copied, \Deleted, expunged), arrived
// once in Archive with \Seen (mutt syncs flags before UID COPY), and the
// other two messages are untouched and still unread.
func TestMutt(t *testing.T) {
	p := needChain(t)
	mutt := Require(t, "mutt", "mutt")
	script := Require(t, "script", "bsdutils")
	subjects := []string{"first one", "target message", "third one"}
	s := Start(t, p, Options{Seed: seedSubjects(subjects...)})

	work := t.TempDir()
	// mutt redraws nothing while pushed keys are pending, so the message
	// as mutt read it is captured with <pipe-message>.
	read := filepath.Join(work, "read.txt")
	keys := `<limit>~s target<enter><display-message><exit><pipe-message>cat > ` + read +
		`<enter><save-message>=INBOX.Archive<enter><sync-mailbox><quit>`
	out, err := runMutt(t, mutt, script, s, work, keys)
	screen := strings.ReplaceAll(out, "\r", "\n")
	if err != nil {
		t.Fatalf("mutt: %v\n%s\nserver log:\n%s", err, screen, tail(s.Logs(), 30))
	}
	if b, _ := os.ReadFile(read); !strings.Contains(string(b), "Body of target message.") ||
		!strings.Contains(string(b), "Subject: target message") {
		t.Errorf("mutt did not read the message; piped %q\nscreen:\n%q", b, tail(screen, 20))
	}

	c := s.Dial(t)
	inbox := snapshot(t, c, "INBOX")
	arch := snapshot(t, c, "INBOX.Archive")
	var left []string
	for _, m := range inbox.Msgs {
		left = append(left, m.MsgID)
		if slices.Contains(m.Flags, `\Seen`) || slices.Contains(m.Flags, `\Deleted`) {
			t.Errorf("untouched message %s has flags %v", m.MsgID, m.Flags)
		}
	}
	if want := []string{msgIDFor(subjects[0]), msgIDFor(subjects[2])}; !slices.Equal(left, want) {
		t.Errorf("INBOX holds %v, want %v\nmutt screen:\n%s", left, want, tail(screen, 20))
	}
	if len(arch.Msgs) != 1 || arch.Msgs[0].MsgID != msgIDFor(subjects[1]) {
		t.Fatalf("Archive holds %+v, want only %s", arch.Msgs, msgIDFor(subjects[1]))
	}
	if !slices.Contains(arch.Msgs[0].Flags, `\Seen`) {
		t.Errorf("moved message lost \\Seen: %v", arch.Msgs[0].Flags)
	}
	// On disk: exactly one file each in INBOX's cur+new for the two left,
	// one in Archive (no leftovers of the \Deleted original).
	if f, _ := MaildirFiles(s.Maildir); len(f) != 2 {
		t.Errorf("INBOX maildir has %d files, want 2: %v", len(f), f)
	}
	if f, _ := MaildirFiles(filepath.Join(s.Maildir, ".Archive")); len(f) != 1 {
		t.Errorf("Archive maildir has %d files, want 1: %v", len(f), f)
	}
}

// runMutt runs mutt on INBOX of s with keys pushed, under script(1)
// (mutt needs a terminal), and returns what it drew.
func runMutt(t *testing.T, mutt, script string, s *Server, work, keys string) (string, error) {
	t.Helper()
	rc := filepath.Join(work, "muttrc")
	mustWrite(t, rc, fmt.Sprintf(`set imap_user=%s
set imap_pass=%s
set folder=imap://127.0.0.1:%d/
set spoolfile=+INBOX
set ssl_starttls=no
set ssl_force_tls=no
set header_cache=""
set message_cachedir=""
set confirmappend=no
set confirmcreate=no
set delete=yes
set move=no
set wait_key=no
set mark_old=no
set beep=no
set sort=date
`, User, Pass, s.Port), 0o600)
	cmdline := fmt.Sprintf(`stty rows 50 cols 132; exec %s -n -F %s -f =INBOX -e 'push "%s"'`, mutt, rc, keys)
	return Run(context.Background(), 90*time.Second, work,
		[]string{"HOME=" + work, "TERM=vt100", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		script, "-qec", cmdline, "/dev/null")
}

// TestMuttFlagDelete: mutt flags two messages (tag-pattern, tag-prefix
// flag), deletes a third (delete-pattern) and syncs; the server then has
// \Flagged on exactly those two and the third expunged (gone from disk).
func TestMuttFlagDelete(t *testing.T) {
	p := needChain(t)
	mutt := Require(t, "mutt", "mutt")
	script := Require(t, "script", "bsdutils")
	s := Start(t, p, Options{Seed: seedSubjects("first one", "second one", "victim", "bystander")})
	keys := `<tag-pattern>~s one<enter><tag-prefix><flag-message><delete-pattern>~s victim<enter><sync-mailbox><quit>`
	out, err := runMutt(t, mutt, script, s, t.TempDir(), keys)
	if err != nil {
		t.Fatalf("mutt: %v\n%s\nserver log:\n%s", err, strings.ReplaceAll(out, "\r", "\n"), tail(s.Logs(), 30))
	}
	in := snapshot(t, s.Dial(t), "INBOX")
	got := map[string][]string{}
	for _, m := range in.Msgs {
		got[m.MsgID] = m.Flags
	}
	for subj, flagged := range map[string]bool{"first one": true, "second one": true, "bystander": false} {
		fl, ok := got[msgIDFor(subj)]
		if !ok {
			t.Errorf("%q is gone", subj)
			continue
		}
		if slices.Contains(fl, `\Flagged`) != flagged || slices.Contains(fl, `\Deleted`) {
			t.Errorf("%q has flags %v, want flagged=%v", subj, fl, flagged)
		}
	}
	if _, ok := got[msgIDFor("victim")]; ok || len(in.Msgs) != 3 {
		t.Errorf("victim not expunged: %+v", in.Msgs)
	}
	if f, _ := MaildirFiles(s.Maildir); len(f) != 3 {
		t.Errorf("maildir has %d files, want 3: %v", len(f), f)
	}
}
