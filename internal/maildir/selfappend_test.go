package maildir

import (
	"strings"
	"testing"
	"time"
)

func TestAppendSelf(t *testing.T) {
	date := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	cases := []struct {
		name string
		// before runs between the open and the AppendSelf (another
		// process's activity); ro opens read-only.
		before    func(t *testing.T, m *Maildir, dir string)
		kws       []string
		ro        bool
		modseq    bool // CONDSTORE enabled on the handle
		wantKnown bool
	}{
		{name: "plain", wantKnown: true},
		{name: "keywords", kws: []string{"$Label1"}, wantKnown: false},
		{name: "read-only", ro: true, wantKnown: false},
		{name: "mod-sequences kept", modseq: true, wantKnown: false},
		{
			name: "other process numbered a message first",
			before: func(t *testing.T, m *Maildir, dir string) {
				// a second handle, as another imapd would
				o, err := Open(m.Root(), m.Options())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := o.Append("INBOX", strings.NewReader("Subject: other\n\nx\n"), 0, nil, date); err != nil {
					t.Fatal(err)
				}
			},
			wantKnown: false,
		},
		{
			name: "delivery to new/ waits for the next scan",
			before: func(t *testing.T, m *Maildir, dir string) {
				deliver(t, dir, "1600000000.M1P1.host", "Subject: delivered\n\nx\n")
			},
			wantKnown: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMaildir(t, Options{UseLocks: true, Keywords: true})
			dir := m.Root()
			deliver(t, dir, "1500000000.M1P1.host", "Subject: first\n\nx\n")
			f, err := m.OpenFolder("INBOX", tc.ro)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if tc.modseq {
				if err := f.EnableModSeq(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.before != nil {
				tc.before(t, m, dir)
			}
			nextBefore := f.UIDNext()
			uidv, uid, known, err := f.AppendSelf(strings.NewReader("Subject: mine\r\n\r\nbody\r\n"), FlagSeen, tc.kws, date)
			if err != nil {
				t.Fatal(err)
			}
			if known != tc.wantKnown {
				t.Fatalf("known = %v, want %v", known, tc.wantKnown)
			}
			if known {
				if uid != nextBefore || f.UIDNext() != uid+1 || uidv != f.UIDValidity() {
					t.Errorf("uid %d uidnext %d (before %d) uidv %d/%d", uid, f.UIDNext(), nextBefore, uidv, f.UIDValidity())
				}
				x, ok := f.Message(uid)
				if !ok || x.Flags != FlagSeen || x.Recent || x.LFSize != 20 {
					t.Fatalf("appended message %+v ok=%v", x, ok)
				}
				// the in-memory entry must name the real file
				fh, _, err := f.OpenMessage(uid)
				if err != nil {
					t.Fatalf("open appended: %v", err)
				}
				fh.Close()
				if d, err := f.InternalDate(uid); err != nil || !d.Equal(date) {
					t.Errorf("internal date %v %v", d, err)
				}
			}
			// Whatever happened, a rescan reaches the state a fresh
			// open sees, and never shows our message twice or lower
			// UIDs after it as new.
			ch, err := f.Rescan()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ch.New {
				if known && n.UID <= uid {
					t.Errorf("rescan reports UID %d as new after known append %d", n.UID, uid)
				}
			}
			if len(ch.Vanished) > 0 {
				t.Errorf("vanished %v", ch.Vanished)
			}
			if tc.modseq && f.ModSeq(uid) == 0 {
				t.Errorf("appended UID %d has no MODSEQ after the rescan", uid)
			}
			if tc.ro {
				return
			}
			g, err := m.OpenFolder("INBOX", true)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			got, want := f.Messages(), g.Messages()
			if len(got) != len(want) {
				t.Fatalf("after rescan %d messages, fresh open %d", len(got), len(want))
			}
			for i := range got {
				if got[i].UID != want[i].UID || got[i].Name != want[i].Name || got[i].Flags != want[i].Flags {
					t.Errorf("message %d: %+v vs fresh %+v", i, got[i], want[i])
				}
			}
		})
	}
}
