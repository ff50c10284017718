package authproto

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func parse(s string) (*Request, error) {
	return ReadRequest(bufio.NewReader(strings.NewReader(s)))
}

// Request bytes from transcript 40 (Courier 0.71.4).
func TestReadRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Request
		err  bool
	}{
		{"pre", "PRE . imap alice\n", Request{Cmd: CmdPre, Module: ".", Service: "imap", User: "alice"}, false},
		{"pre meta nul", "TCPREMOTEIP=127.0.0.1\nPRE . imap alice\n\x00",
			Request{Meta: []Meta{{"TCPREMOTEIP", "127.0.0.1"}}, Cmd: CmdPre, Module: ".", Service: "imap", User: "alice"}, false},
		{"pre module", "PRE authuserdb pop3 bob\n", Request{Cmd: CmdPre, Module: "authuserdb", Service: "pop3", User: "bob"}, false},
		{"auth login", "AUTH 22\nimap\nlogin\nalice\npass\n",
			Request{Cmd: CmdAuth, Service: "imap", AuthType: "login", AuthData: "alice\npass\n"}, false},
		{"auth meta ipv6", "TCPREMOTEIP=::ffff:127.0.0.1\nAUTH 22\npop3\nlogin\ncarol\npass\n\x00",
			Request{Meta: []Meta{{"TCPREMOTEIP", "::ffff:127.0.0.1"}}, Cmd: CmdAuth, Service: "pop3", AuthType: "login", AuthData: "carol\npass\n"}, false},
		{"auth cram", "AUTH 80\nimap\ncram-md5\nPDEyMzRAdm0+\nYWxpY2UgMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=\n",
			Request{Cmd: CmdAuth, Service: "imap", AuthType: "cram-md5", AuthData: "PDEyMzRAdm0+\nYWxpY2UgMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=\n"}, false},
		{"passwd", "PASSWD imap\tnosuchuser\told\tnew\n",
			Request{Cmd: CmdPasswd, Service: "imap", User: "nosuchuser", OldPass: "old", NewPass: "new"}, false},
		{"enumerate", "ENUMERATE\n", Request{Cmd: CmdEnumerate}, false},
		{"unknown command", "BOGUS command\n", Request{}, true},
		{"pre no args", "PRE\n", Request{}, true},
		{"pre two args", "PRE . imap\n", Request{}, true},
		{"auth short data", "AUTH 27\nimap\nlogin\nalice\n", Request{}, true},
		{"auth huge n", "AUTH 8192\n", Request{}, true},
		{"auth negative n", "AUTH -1\n", Request{}, true},
		{"auth no type", "AUTH 5\nimap\n", Request{}, true},
		{"passwd 3 fields", "PASSWD imap\tu\told\n", Request{}, true},
		{"line too long", "PRE . imap " + strings.Repeat("a", 9000) + "\n", Request{}, true},
		{"unterminated", "PRE . imap alice", Request{}, true},
		{"empty", "", Request{}, true},
		{"too many meta", strings.Repeat("A=1\n", 40) + "ENUMERATE\n", Request{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Cmd != tc.want.Cmd || got.Module != tc.want.Module || got.Service != tc.want.Service ||
				got.User != tc.want.User || got.AuthType != tc.want.AuthType || got.AuthData != tc.want.AuthData ||
				got.OldPass != tc.want.OldPass || got.NewPass != tc.want.NewPass || len(got.Meta) != len(tc.want.Meta) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			for i := range got.Meta {
				if got.Meta[i] != tc.want.Meta[i] {
					t.Fatalf("meta %d: %+v", i, got.Meta[i])
				}
			}
		})
	}
}

// Encoding must produce the exact bytes libcourierauth sends (transcript 40).
func TestEncode(t *testing.T) {
	r := NewLogin("imap", "alice", "pass")
	if got := string(r.Encode()); got != "AUTH 22\nimap\nlogin\nalice\npass\n\x00" {
		t.Errorf("login: %q", got)
	}
	r = NewPre("imap", "alice")
	r.Meta = []Meta{{"TCPREMOTEIP", "127.0.0.1"}}
	if got := string(r.Encode()); got != "TCPREMOTEIP=127.0.0.1\nPRE . imap alice\n\x00" {
		t.Errorf("pre: %q", got)
	}
	r = NewCram("imap", AuthCramMD5, "PDEyMzRAdm0+", "YWxpY2UgMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=")
	if got := string(r.Encode()); !strings.HasPrefix(got, "AUTH 80\nimap\ncram-md5\n") {
		t.Errorf("cram: %q", got)
	}
}

func TestValidate(t *testing.T) {
	bad := []*Request{
		NewLogin("imap", "al\nice", "x"),                 // a newline would shift the password line
		NewPre("imap", "a b"),                            // space splits PRE fields
		NewPre("imap", ""),                               // empty user
		NewLogin("imap", strings.Repeat("a", 9000), "x"), // too big (transcript 11-C)
		{Cmd: CmdPasswd, Service: "imap", User: "u", OldPass: "a\tb", NewPass: "c"},
		{Cmd: "NOPE"},
	}
	for i, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("case %d: Validate accepted %+v", i, r)
		}
	}
	if err := NewLogin("imap", "alice", "p a s s").Validate(); err != nil {
		t.Errorf("valid login rejected: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	reqs := []*Request{NewLogin("imap", "alice", "pässword with space"), NewPre("pop3", "bob@example.com"),
		NewCram("imap", AuthCramSHA256, "Y2hhbA==", "cmVzcA=="), {Cmd: CmdEnumerate},
		{Cmd: CmdPasswd, Service: "imap", User: "u", OldPass: "o", NewPass: "n w"}}
	for _, r := range reqs {
		r.Meta = []Meta{{"TCPREMOTEIP", "::ffff:10.0.0.1"}}
		got, err := parse(string(r.Encode()))
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if got.Cmd != r.Cmd || got.AuthData != r.AuthData || got.User != r.User || got.NewPass != r.NewPass || got.MetaValue("TCPREMOTEIP") != "::ffff:10.0.0.1" {
			t.Errorf("round trip: %+v -> %+v", r, got)
		}
	}
}

func TestLoginData(t *testing.T) {
	r, _ := parse("AUTH 22\nimap\nlogin\nalice\npass\n")
	u, p, ok := r.LoginData()
	if !ok || u != "alice" || p != "pass" {
		t.Errorf("got %q %q %v", u, p, ok)
	}
	r.AuthData = "alice\npass\nextra\n"
	if _, _, ok := r.LoginData(); ok {
		t.Error("three lines accepted")
	}
}

func TestReplyRoundTrip(t *testing.T) {
	u := &UserInfo{UID: 5000, GID: 5000, Home: "/srv/mail/alice", Address: "alice", Maildir: "/srv/mail/alice/Maildir",
		Passwd: "$1$c7FWLqMy$apkP790wgA.OQ3a6lDcb..", Passwd2: "pass"}
	want := "UID=5000\nGID=5000\nHOME=/srv/mail/alice\nADDRESS=alice\nMAILDIR=/srv/mail/alice/Maildir\nPASSWD=$1$c7FWLqMy$apkP790wgA.OQ3a6lDcb..\nPASSWD2=pass\n.\n"
	if got := string(EncodeReply(u)); got != want {
		t.Fatalf("EncodeReply:\n%q\nwant\n%q", got, want)
	}
	back, err := ParseReply([]byte(want))
	if err != nil || *back != *u {
		t.Fatalf("ParseReply: %+v %v", back, err)
	}
	full := &UserInfo{Username: "vmail", UID: -1, GID: 8, Home: "/h", Address: "a@b", Name: "A B", Maildir: "M", Quota: "100S", Passwd: "x", Passwd2: "y", Options: "disableimap=1"}
	enc := string(EncodeReply(full))
	if enc != "USERNAME=vmail\nGID=8\nHOME=/h\nADDRESS=a@b\nNAME=A B\nMAILDIR=M\nQUOTA=100S\nPASSWD=x\nPASSWD2=y\nOPTIONS=disableimap=1\n.\n" {
		t.Fatalf("order: %q", enc)
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"fail", "FAIL\n", ErrFail},
		{"empty", "", ErrTemporary},
		{"truncated", "UID=1\nGID=1\nHOME=/x\n", ErrTemporary},
		{"no gid", "UID=1\nHOME=/\n.\n", ErrTemporary},
		{"bad uid", "UID=x\nGID=1\n.\n", ErrTemporary},
		{"trailing junk", "UID=1\nGID=1\n.\nX", ErrTemporary},
		{"unknown keys ignored", "UID=1\nGID=2\nFOO=bar\nnoequals\n.\n", nil},
		{"huge", strings.Repeat("X", MaxReply+1), ErrTemporary},
		{"dot only", ".\n", ErrTemporary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseReply([]byte(tc.in))
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
}

func TestOption(t *testing.T) {
	u := &UserInfo{Options: "disableimap=1,group=a,group=b,bare,sharedgroup="}
	if u.Option("disableimap") != "1" || u.Option("disablepop3") != "" {
		t.Error("Option")
	}
	if v, ok := u.LookupOption("bare"); !ok || v != "" {
		t.Error("bare option")
	}
	if g := u.OptionValues("group"); len(g) != 2 || g[1] != "b" {
		t.Errorf("groups %v", g)
	}
}

func TestParseEnumerate(t *testing.T) {
	in := "# authuserdb\n\nbench55\t5000\t5000\t/srv/mail/bench55\t/srv/mail/bench55/Maildir\t\nx\tbad\t1\t\t\t\n.\n"
	var got []EnumEntry
	if err := ParseEnumerate([]byte(in), func(m string, e EnumEntry) {
		if m != "authuserdb" {
			t.Errorf("module %q", m)
		}
		got = append(got, e)
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "bench55" || got[0].Maildir != "/srv/mail/bench55/Maildir" {
		t.Fatalf("%+v", got)
	}
	if err := ParseEnumerate([]byte("# authuserdb\n\nx\t1\t1\t/h\t/m\t\n"), func(string, EnumEntry) {}); !errors.Is(err, ErrTemporary) {
		t.Errorf("truncated list: %v", err)
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{"PRE . imap alice\n", "TCPREMOTEIP=1\nAUTH 22\nimap\nlogin\nalice\npass\n\x00",
		"PASSWD a\tb\tc\td\n", "ENUMERATE\n", "AUTH 3\na\nb", "X=\n=\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadRequest(bufio.NewReader(strings.NewReader(string(data))))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && err != io.EOF {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		// Whatever parsed and validates must survive a round trip.
		if r.Validate() == nil && r.Cmd != CmdAuth {
			back, err := ReadRequest(bufio.NewReader(strings.NewReader(string(r.Encode()))))
			if err != nil || back.Cmd != r.Cmd || back.User != r.User {
				t.Fatalf("round trip of %+v: %+v %v", r, back, err)
			}
		}
	})
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte("UID=5000\nGID=5000\nHOME=/srv/mail/alice\nADDRESS=alice\n.\n"))
	f.Add([]byte("FAIL\n"))
	f.Add([]byte("USERNAME=x\nGID=1\n.\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseReply(data)
		if err == nil {
			back, err := ParseReply(EncodeReply(u))
			if err != nil {
				t.Fatalf("re-encode of %+v: %v", u, err)
			}
			if u.Username == "" && back.UID != u.UID {
				t.Fatalf("uid changed")
			}
		}
	})
}

func TestEnabled(t *testing.T) {
	u := &UserInfo{Options: "disableimap=1, disablepop3=0,group=a,disableshared=,sharedgroup=x"}
	for name, want := range map[string]bool{
		"disableimap": true, "disablepop3": false, "disableshared": false,
		"group": true, "missing": false, "": false,
	} {
		if got := u.Enabled(name); got != want {
			t.Errorf("Enabled(%q) = %v, want %v", name, got, want)
		}
	}
}
