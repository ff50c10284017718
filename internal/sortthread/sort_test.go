package sortthread

import "testing"

// TestFirstMailbox: the SORT key of FROM/TO/CC is the addr-mailbox of
// the first ENVELOPE address (RFC 5256 §3); a leading group contributes
// its start marker, whose mailbox is the group name.
func TestFirstMailbox(t *testing.T) {
	tests := []struct{ name, field, want string }{
		{"empty", "", ""},
		{"plain", "user2@domain2.org (foo bar)", "user2"},
		{"named", `"A B" <ab@x.org>, c@y.org`, "ab"},
		{"group first", "user2: blah@domain1.org;", "user2"},
		{"empty group", "undisclosed-recipients:;", "undisclosed-recipients"},
		{"comments in addr-spec", "<u (c)@ (c) d.org>", "u"},
		{"garbage", ",,;<>", ""},
	}
	for _, tc := range tests {
		if got := firstMailbox(tc.field); got != tc.want {
			t.Errorf("%s: firstMailbox(%q) = %q, want %q", tc.name, tc.field, got, tc.want)
		}
	}
}
