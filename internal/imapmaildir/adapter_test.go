package imapmaildir

import (
	"errors"
	"strings"
	"testing"

	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

func TestFlagsRoundTrip(t *testing.T) {
	tests := []struct {
		in    []string
		flags maildir.Flags
		kws   []string
		out   string
	}{
		{[]string{`\Seen`, `\Deleted`}, maildir.FlagSeen | maildir.FlagDeleted, nil, `\Seen \Deleted`},
		{[]string{`\seen`, "$Work", `\Draft`, `\Flagged`, `\Answered`}, maildir.FlagSeen | maildir.FlagDraft | maildir.FlagFlagged | maildir.FlagAnswered, []string{"$Work"}, `\Draft \Flagged \Answered \Seen $Work`},
		{[]string{`\Recent`}, 0, nil, ""},
	}
	for _, tc := range tests {
		f, kws := SplitFlags(tc.in)
		if f != tc.flags || strings.Join(kws, ",") != strings.Join(tc.kws, ",") {
			t.Errorf("SplitFlags(%v) = %v %v", tc.in, f, kws)
		}
		if got := strings.Join(JoinFlags(f, kws), " "); got != tc.out {
			t.Errorf("JoinFlags = %q want %q", got, tc.out)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	for in, want := range map[string]string{"bob": "user=bob", "-bob": "-user=bob", "owner": "owner", "anyone": "anyone", "-administrators": "-administrators"} {
		got, err := fromIMAPID(in)
		if err != nil || got != want {
			t.Errorf("fromIMAPID(%q) = %q, %v", in, got, err)
		}
		if back := toIMAPID(got); back != in {
			t.Errorf("toIMAPID(%q) = %q", got, back)
		}
	}
	for _, bad := range []string{"user=bob", "group=x", "-", ""} {
		if _, err := fromIMAPID(bad); !errors.Is(err, imapserver.ErrBadIdentifier) {
			t.Errorf("fromIMAPID(%q) accepted", bad)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	err := mapErr(maildir.ErrNoSuchFolder)
	if !errors.Is(err, imapserver.ErrNoSuchMailbox) || !errors.Is(err, maildir.ErrNoSuchFolder) {
		t.Errorf("mapErr lost an error: %v", err)
	}
}
