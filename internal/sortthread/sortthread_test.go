package sortthread

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// transcript08 is INBOX.Sent of transcript 08 (reference §4.8).
var transcript08 = []Message{
	{ID: 1, Arrival: ts("2026-11-26T10:00:03Z"), Size: 58, Subject: "bare LF message", From: "a@b"},
	{ID: 2, Arrival: ts("2026-11-26T10:00:01Z"), Size: 319, Date: "Mon, 3 Mar 2025 10:00:00 +0000", Subject: "Hello Alice",
		From: "Bob Example <bob@example.com>", To: "Alice Example <alice@example.com>", MessageID: "<m1@example.com>"},
	{ID: 3, Arrival: ts("2026-11-26T10:00:02Z"), Size: 1096, Date: "Tue, 4 Mar 2025 11:30:00 +0100", Subject: "Quarterly report",
		From: `"Carol C." <carol@example.org>`, To: "alice@example.com, bob@example.com", Cc: "Dave <dave@example.net>", MessageID: "<m2@example.org>"},
	{ID: 4, Arrival: ts("2025-03-05T13:15:30Z"), Size: 563, Date: "Wed, 5 Mar 2025 08:15:30 -0500", Subject: "=?UTF-8?B?w4lsw6hndmUgcsOpdW5pb24=?= [list]",
		From: "=?UTF-8?Q?Andr=C3=A9_M=C3=BCller?= <andre@example.de>", To: "undisclosed-recipients:;", Cc: `"Quoted, Name" <q@example.com>, plain@example.com`,
		MessageID: "<m4@example.de>", InReplyTo: "<m2@example.org>", References: "<m2@example.org>"},
	{ID: 5, Arrival: ts("2026-11-26T10:00:04Z"), Size: 582, Date: "Thu, 6 Mar 2025 09:00:00 +0000", Subject: "Fwd: Hello Alice",
		From: "Bob Example <bob@example.com>", To: "Alice Example <alice@example.com>", MessageID: "<m5@example.com>"},
	{ID: 6, Arrival: ts("2025-03-03T12:00:00Z"), Size: 313, Date: "Mon, 3 Mar 2025 12:00:00 +0000", Subject: "Re: Hello Alice",
		From: "Alice Example <alice@example.com>", To: "Bob Example <bob@example.com>", MessageID: "<m3@example.com>",
		InReplyTo: "<m1@example.com>", References: "<m1@example.com>"},
}

func ids(v []uint32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

func TestSortTranscript(t *testing.T) {
	tests := []struct {
		keys    []string
		want    string
		courier string // Courier 5.0.13's answer where it differs (reference §4.8)
	}{
		// Message 1 has no Date: RFC 5256 §2.2 uses its INTERNALDATE,
		// Courier sorts it as the epoch.
		{[]string{"DATE"}, "2 6 3 4 5 1", "1 2 6 3 4 5"},
		{[]string{"REVERSE", "ARRIVAL"}, "5 1 3 2 4 6", ""},
		// Ties keep mailbox order (RFC 5256 §3); Courier reverses them.
		{[]string{"SUBJECT"}, "1 2 5 6 3 4", "1 6 5 2 3 4"},
		{[]string{"FROM", "SIZE"}, "1 6 4 2 5 3", ""},
		{[]string{"CC", "TO"}, "1 2 5 6 3 4", "1 5 2 6 3 4"},
		{[]string{"reverse", "size"}, "3 5 4 2 6 1", ""},
		{[]string{"REVERSE", "SUBJECT", "DATE"}, "4 3 2 6 5 1", ""},
	}
	for _, tc := range tests {
		keys, err := ParseKeys(tc.keys)
		if err != nil {
			t.Fatalf("ParseKeys(%q): %v", tc.keys, err)
		}
		if got := ids(Sort(transcript08, keys)); got != tc.want {
			t.Errorf("SORT %v = %s, want %s", tc.keys, got, tc.want)
		}
	}
}

func TestParseKeysErrors(t *testing.T) {
	for _, bad := range [][]string{nil, {"DISPLAYFROM"}, {"REVERSE"}, {"REVERSE", "REVERSE", "DATE"}, {"DATE", "REVERSE"}} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
}

func TestThreadTranscript(t *testing.T) {
	tests := []struct{ alg, want, courier string }{
		// RFC 5256 §3: in ORDEREDSUBJECT the later messages are children
		// of the first one, (2 (6)(5)); Courier prints a chain (2 6 5).
		// Message 1 (no Date) sorts by INTERNALDATE, last; Courier first.
		{"ORDEREDSUBJECT", "(2 (6)(5))(3)(4)(1)", "(1)(2 6 5)(3)(4)"},
		{"REFERENCES", "(2 (6)(5))(3 4)(1)", "(1)(2 (6)(5))(3 4)"},
	}
	for _, tc := range tests {
		th, err := Run(tc.alg, transcript08)
		if err != nil {
			t.Fatal(err)
		}
		if got := Format(th); got != tc.want {
			t.Errorf("THREAD %s = %s, want %s", tc.alg, got, tc.want)
		}
	}
	if _, err := Run("REFS", transcript08); err == nil {
		t.Error("unknown algorithm accepted")
	}
}

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in, want string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE: [list] Re: hello (fwd)", "hello", true},
		{"[Fwd: Re: hello]", "hello", true},
		{"Fwd: [blob]", "[blob]", true},
		{"re:re:fwd: x", "x", true},
		{"Re [x]: y", "y", true},
		{"Hello   world\t(fwd) ", "Hello world", true},
		{"", "", false},
		{"Re: ", "", true},
		{"[a][b] c", "c", false},
		{"[list] Re: topic", "topic", true},
		{"Regarding: x", "Regarding: x", false},
		{"fw: x", "x", true},
		{"=?UTF-8?B?w4lsw6hndmUgcsOpdW5pb24=?= [list]", "Élègve réunion [list]", false},
		{"Re: =?iso-8859-1?q?caf=E9?=", "café", true},
		{"[fwd: [fwd: x] ]", "x", true},
		{"a\n b", "a b", false},
	}
	for _, tc := range tests {
		got, re := BaseSubjectReply(tc.in)
		if got != tc.want || re != tc.reply {
			t.Errorf("BaseSubject(%q) = %q,%v want %q,%v", tc.in, got, re, tc.want, tc.reply)
		}
	}
}

func msg(id uint32, day int, mid, refs, subj string) Message {
	return Message{ID: id, Date: fmt.Sprintf("%d Jan 2024 10:00:00 +0000", day), MessageID: mid, References: refs, Subject: subj}
}

func TestReferencesCases(t *testing.T) {
	tests := []struct {
		name string
		msgs []Message
		want string
	}{
		{"missing parent keeps dummy with two children", []Message{
			msg(1, 1, "<a>", "<x>", "s1"),
			msg(2, 2, "<b>", "<x>", "s2"),
		}, "((1)(2))"},
		{"missing parent with one child is promoted", []Message{
			msg(1, 1, "<a>", "<x>", "s1"),
		}, "(1)"},
		{"chain", []Message{
			msg(1, 1, "<a>", "", "t"),
			msg(2, 2, "<b>", "<a>", "Re: t"),
			msg(3, 3, "<c>", "<a> <b>", "Re: t"),
		}, "(1 2 3)"},
		{"truncated references fixed by real parent", []Message{
			msg(3, 3, "<c>", "<b>", "Re: t"),
			msg(1, 1, "<a>", "", "t"),
			msg(2, 2, "<b>", "<a>", "Re: t"),
		}, "(1 2 3)"},
		{"loop is not created", []Message{
			msg(1, 1, "<a>", "<b>", "x"),
			msg(2, 2, "<b>", "<a>", "y"),
		}, "(2 1)"},
		{"self reference", []Message{msg(1, 1, "<a>", "<a>", "x")}, "(1)"},
		{"duplicate message-id", []Message{
			msg(1, 1, "<a>", "", "x"),
			msg(2, 2, "<a>", "", "y"),
		}, "(1)(2)"},
		{"subject merge both non-reply makes dummy", []Message{
			msg(1, 1, "<a>", "", "same"),
			msg(2, 2, "<b>", "", "same"),
		}, "((1)(2))"},
		{"subject merge reply under original", []Message{
			msg(1, 2, "<a>", "", "Re: same"),
			msg(2, 1, "<b>", "", "same"),
		}, "(2 1)"},
		{"empty subjects never merge", []Message{
			msg(1, 1, "<a>", "", ""),
			msg(2, 2, "<b>", "", "Re:"),
		}, "(1)(2)"},
		{"in-reply-to used without references", []Message{
			{ID: 1, Date: "1 Jan 2024 00:00 +0000", MessageID: "<a>", Subject: "p"},
			{ID: 2, Date: "2 Jan 2024 00:00 +0000", MessageID: "<b>", InReplyTo: "<a> <zzz>", Subject: "q"},
		}, "(1 2)"},
		{"siblings sorted by date", []Message{
			msg(1, 1, "<a>", "", "p"),
			msg(2, 5, "<b>", "<a>", "q"),
			msg(3, 3, "<c>", "<a>", "r"),
		}, "(1 (3)(2))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(References(tc.msgs)); got != tc.want {
				t.Errorf("got %s want %s", got, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	// RFC 5256 §4 example structure.
	th := []*Thread{
		{ID: 2},
		{ID: 3, Children: []*Thread{{ID: 6, Children: []*Thread{
			{ID: 4, Children: []*Thread{{ID: 23}}},
			{ID: 44, Children: []*Thread{{ID: 7, Children: []*Thread{{ID: 96}}}}},
		}}}},
		{Children: []*Thread{{ID: 5}, {ID: 8}}},
	}
	if got, want := Format(th), "(2)(3 6 (4 23)(44 7 96))((5)(8))"; got != want {
		t.Errorf("Format = %s, want %s", got, want)
	}
}

// genMessages builds n messages in threads of varying shape.
func genMessages(n int, seed int64) []Message {
	rng := rand.New(rand.NewSource(seed))
	msgs := make([]Message, n)
	base := ts("2020-01-01T00:00:00Z")
	for i := range msgs {
		m := &msgs[i]
		m.ID = uint32(i + 1)
		m.Arrival = base.Add(time.Duration(i) * time.Minute)
		m.Date = base.Add(time.Duration(rng.Intn(n)) * time.Minute).Format(time.RFC1123Z)
		m.MessageID = fmt.Sprintf("<m%d@gen>", i)
		thread := rng.Intn(n/5 + 1)
		m.Subject = fmt.Sprintf("topic %d", thread)
		if i > 0 && rng.Intn(3) > 0 {
			p := rng.Intn(i)
			m.References = msgs[p].References + " " + msgs[p].MessageID
			m.Subject = "Re: " + msgs[p].Subject
		}
		if rng.Intn(20) == 0 {
			m.References += fmt.Sprintf(" <missing%d@gen>", rng.Intn(50))
		}
		m.From = fmt.Sprintf("user%d@example.com", rng.Intn(100))
		m.Size = int64(rng.Intn(100000))
	}
	return msgs
}

// countIDs counts message nodes and checks no ID appears twice.
func countIDs(t *testing.T, ths []*Thread, seen map[uint32]bool) {
	for _, th := range ths {
		if th.ID != 0 {
			if seen[th.ID] {
				t.Fatalf("message %d appears twice", th.ID)
			}
			seen[th.ID] = true
		} else if len(th.Children) < 2 {
			// Dummies survive only with several children.
			t.Fatalf("dummy with %d children", len(th.Children))
		}
		countIDs(t, th.Children, seen)
	}
}

func TestThreadGenerated(t *testing.T) {
	msgs := genMessages(20000, 1)
	for _, alg := range []string{"REFERENCES", "ORDEREDSUBJECT"} {
		start := time.Now()
		th, err := Run(alg, msgs)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		seen := map[uint32]bool{}
		countIDs(t, th, seen)
		if len(seen) != len(msgs) {
			t.Errorf("%s: %d of %d messages in the result", alg, len(seen), len(msgs))
		}
		t.Logf("THREAD %s over %d messages: %v, %d threads, %d bytes of output", alg, len(msgs), elapsed, len(th), len(Format(th)))
	}
	start := time.Now()
	out := Sort(msgs, []Key{{Kind: Subject}, {Kind: Date, Reverse: true}})
	t.Logf("SORT (SUBJECT REVERSE DATE) over %d messages: %v", len(msgs), time.Since(start))
	if len(out) != len(msgs) {
		t.Errorf("SORT lost messages")
	}
}

func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: x", "[Fwd: y]", "[a] Re [b]: z (fwd)", "=?utf-8?q?x?="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			// Raw 8-bit text is read as ISO-8859-1 first; idempotence
			// holds for the decoded form.
			s = BaseSubject(s)
		}
		b, _ := BaseSubjectReply(s)
		// The base subject is a fixed point of the extraction.
		if b2 := BaseSubject(b); b2 != b && !strings.Contains(b, "=?") {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, b, b2)
		}
	})
}

func FuzzThread(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Build up to 16 messages whose ids, references and subjects are
		// chosen by the fuzzer.
		var msgs []Message
		for i := 0; i+3 < len(data) && len(msgs) < 16; i += 4 {
			msgs = append(msgs, Message{
				ID:         uint32(len(msgs) + 1),
				MessageID:  fmt.Sprintf("<%d>", data[i]%8),
				References: fmt.Sprintf("<%d> <%d>", data[i+1]%8, data[i+2]%8),
				Subject:    []string{"a", "Re: a", "b", "", "[x] Re: b"}[data[i+3]%5],
				Date:       fmt.Sprintf("%d Jan 2024 00:00 +0000", data[i+3]%28+1),
			})
		}
		for _, alg := range []string{"REFERENCES", "ORDEREDSUBJECT"} {
			th, _ := Run(alg, msgs)
			seen := map[uint32]bool{}
			countIDs(t, th, seen)
			if len(seen) != len(msgs) {
				t.Fatalf("%s: %d of %d messages: %s", alg, len(seen), len(msgs), Format(th))
			}
		}
	})
}

func TestThreadLongChain(t *testing.T) {
	const n = 20000
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{ID: uint32(i + 1), MessageID: fmt.Sprintf("<c%d>", i), Subject: "Re: chain",
			Date: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC1123Z)}
		if i > 0 {
			msgs[i].InReplyTo = fmt.Sprintf("<c%d>", i-1)
		}
	}
	start := time.Now()
	th := References(msgs)
	out := Format(th)
	t.Logf("REFERENCES over a %d-message chain: %v", n, time.Since(start))
	if len(th) != 1 || !strings.HasPrefix(out, "(1 2 3 ") || !strings.HasSuffix(out, " 20000)") {
		t.Errorf("chain threaded as %.40s...", out)
	}
}
