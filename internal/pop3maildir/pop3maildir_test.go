package pop3maildir

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocourier/internal/maildir"
	"gocourier/internal/pop3"
)

func setup(t *testing.T, msgs ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Make(root); err != nil {
		t.Fatal(err)
	}
	// Each delivery's name starts with a later second: a name's
	// microseconds are not zero-padded (as in Courier's names), so two
	// deliveries in one second may sort out of order (M99.. after M100..).
	clock := time.Now().Add(-time.Hour).Truncate(time.Second)
	m, err := maildir.Open(root, maildir.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range msgs {
		if _, err := m.Deliver(root, strings.NewReader(s), false); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDrop(t *testing.T) {
	root := setup(t, "Subject: a\n\nx\n", "Subject: b\n\ny\n")
	d, err := Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ms := d.Messages()
	if len(ms) != 2 || ms[0].Size != int64(len("Subject: a\n\nx\n")+3) || !strings.HasPrefix(ms[0].UIDL, "UID1-") {
		t.Fatalf("messages %+v", ms)
	}
	if _, err := Open(root, maildir.Options{}); !errors.Is(err, ErrInUse) {
		t.Errorf("second open: %v, want ErrInUse", err)
	}
	rc, err := d.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "Subject: a\n\nx\n" {
		t.Errorf("text %q", b)
	}
	files, _ := filepath.Glob(filepath.Join(root, "cur", "*"))
	// Remove message 2 behind the drop's back.
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "Subject: b") {
			os.Remove(f)
		}
	}
	if _, err := d.Open(1); !errors.Is(err, pop3.ErrGone) {
		t.Errorf("open removed: %v, want ErrGone", err)
	}
	if err := d.Delete([]int{0, 1}); err != nil {
		t.Errorf("delete: %v", err)
	}
	d.Close()
	left, _ := filepath.Glob(filepath.Join(root, "cur", "*"))
	if len(left) != 0 {
		t.Errorf("left %v", left)
	}
	if _, err := Open(root, maildir.Options{}); err != nil {
		t.Errorf("reopen after close: %v", err)
	}
}
