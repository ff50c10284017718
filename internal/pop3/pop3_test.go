package pop3

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// memDrop is an in-memory Maildrop for protocol tests.
type memDrop struct {
	mu      sync.Mutex
	texts   [][]byte
	gone    map[int]bool
	deleted []int
	calls   int
	seen    []int
}

func (d *memDrop) MarkSeen(i int) { d.seen = append(d.seen, i) }

func newMemDrop(texts ...string) *memDrop {
	d := &memDrop{gone: map[int]bool{}}
	for _, t := range texts {
		d.texts = append(d.texts, []byte(t))
	}
	return d
}

func (d *memDrop) Messages() []MessageInfo {
	var out []MessageInfo
	for i, t := range d.texts {
		out = append(out, MessageInfo{Size: crlfSize(t), UIDL: fmt.Sprintf("UID%d-1795687645", i+1), UTF8: bytes.Contains(t, []byte("ü"))})
	}
	return out
}

func (d *memDrop) Open(i int) (io.ReadCloser, error) {
	if d.gone[i] {
		return nil, fmt.Errorf("open %d: %w", i, ErrGone)
	}
	return io.NopCloser(bytes.NewReader(d.texts[i])), nil
}

func (d *memDrop) Delete(idx []int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	d.deleted = append(d.deleted, idx...)
	return nil
}

const msg1 = "Subject: one\nFrom: a@b\n\nline1\n.dot line\n..two dots\nlast"
const msg2 = "Subject: two\r\n\r\nbody\r\n"

// socketPair returns the two ends of a loopback TCP connection (net.Pipe
// is unbuffered and would deadlock pipelined tests).
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return srv, cli
}

// startSession runs a Session on one end of a pipe and returns the client end.
func startSession(t *testing.T, d Maildrop, idle time.Duration) (net.Conn, *bufio.Reader, chan Outcome) {
	t.Helper()
	srv, cli := socketPair(t)
	done := make(chan Outcome, 1)
	go func() {
		s := &Session{Conn: NewConn(srv, srv, false), Drop: d, IdleTimeout: idle}
		out, _ := s.Serve()
		srv.Close()
		done <- out
	}()
	t.Cleanup(func() { cli.Close() })
	return cli, bufio.NewReader(cli), done
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		t.Fatalf("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func readMulti(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	var out []string
	for {
		l := readLine(t, r)
		if l == "." {
			return out
		}
		out = append(out, l)
	}
}

func cmd(t *testing.T, c net.Conn, r *bufio.Reader, line string) string {
	t.Helper()
	if _, err := io.WriteString(c, line+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return readLine(t, r)
}

func TestTransactionCommands(t *testing.T) {
	d := newMemDrop(msg1, msg2)
	c, r, done := startSession(t, d, time.Minute)
	s1, s2 := crlfSize([]byte(msg1)), crlfSize([]byte(msg2))
	tests := []struct {
		name, send, want string
		multi            []string
	}{
		{"stat", "STAT", fmt.Sprintf("+OK 2 %d", s1+s2), nil},
		{"stat lower case", "stat", fmt.Sprintf("+OK 2 %d", s1+s2), nil},
		{"list one", "LIST 2", fmt.Sprintf("+OK 2 %d", s2), nil},
		{"list zero", "LIST 0", "-ERR Invalid message number.", nil},
		{"list too big", "LIST 3", "-ERR Invalid message number.", nil},
		{"list not number", "LIST x", "-ERR Invalid message number.", nil},
		{"list negative", "LIST -1", "-ERR Invalid message number.", nil},
		{"list huge", "LIST 99999999999999999999", "-ERR Invalid message number.", nil},
		{"list", "LIST", "+OK Listing follows", []string{fmt.Sprintf("1 %d", s1), fmt.Sprintf("2 %d", s2)}},
		{"uidl", "UIDL", "+OK Listing follows", []string{"1 UID1-1795687645", "2 UID2-1795687645"}},
		{"uidl one", "UIDL 1", "+OK 1 UID1-1795687645", nil},
		{"retr", "RETR 1", fmt.Sprintf("+OK %d octets follow.", s1),
			[]string{"Subject: one", "From: a@b", "", "line1", "..dot line", "...two dots", "last"}},
		{"retr crlf stored", "RETR 2", fmt.Sprintf("+OK %d octets follow.", s2), []string{"Subject: two", "", "body"}},
		{"retr no arg", "RETR", "-ERR Invalid command.", nil},
		{"top 0", "TOP 1 0", "+OK Top of message follows.", []string{"Subject: one", "From: a@b", ""}},
		{"top 2", "TOP 1 2", "+OK Top of message follows.", []string{"Subject: one", "From: a@b", "", "line1", "..dot line"}},
		{"top many", "TOP 2 100", "+OK Top of message follows.", []string{"Subject: two", "", "body"}},
		{"top without count", "TOP 1", "-ERR Invalid command.", nil},
		{"top bad count", "TOP 1 x", "-ERR Invalid line count.", nil},
		{"noop", "NOOP", "+OK", nil},
		{"unknown", "FOO", "-ERR Invalid command.", nil},
		{"last", "LAST", "-ERR Invalid command.", nil},
		{"user after login", "USER x", "-ERR Invalid command.", nil},
		{"apop", "APOP a b", "-ERR Invalid command.", nil},
		{"empty", "", "-ERR Empty command.", nil},
		{"dele", "DELE 1", "+OK Deleted.", nil},
		{"dele again", "DELE 1", "-ERR Invalid message number.", nil},
		{"retr deleted", "RETR 1", "-ERR Invalid message number.", nil},
		{"list deleted", "LIST 1", "-ERR Invalid message number.", nil},
		{"stat after dele", "STAT", fmt.Sprintf("+OK 1 %d", s2), nil},
		{"list after dele", "LIST", "+OK Listing follows", []string{fmt.Sprintf("2 %d", s2)}},
		{"rset", "RSET", "+OK Deletion marks removed.", nil},
		{"stat after rset", "STAT", fmt.Sprintf("+OK 2 %d", s1+s2), nil},
		{"dele 2", "DELE 2", "+OK Deleted.", nil},
		{"utf8", "UTF8", "+OK UTF8 enabled", nil},
	}
	for _, tc := range tests {
		got := cmd(t, c, r, tc.send)
		if got != tc.want {
			t.Errorf("%s: %q -> %q, want %q", tc.name, tc.send, got, tc.want)
		}
		if strings.HasPrefix(got, "+OK") && (tc.multi != nil || strings.HasPrefix(tc.want, "+OK Listing") || strings.HasPrefix(tc.want, "+OK Top")) {
			lines := readMulti(t, r)
			if strings.Join(lines, "|") != strings.Join(tc.multi, "|") {
				t.Errorf("%s: body %q, want %q", tc.name, lines, tc.multi)
			}
		}
	}
	if got := cmd(t, c, r, "QUIT"); got != "+OK Bye-bye." {
		t.Errorf("QUIT -> %q", got)
	}
	if out := <-done; out != Quit {
		t.Errorf("outcome %v", out)
	}
	if fmt.Sprint(d.seen) != "[0 1]" {
		t.Errorf("marked seen %v, want [0 1] (RETR only, not TOP)", d.seen)
	}
	if d.calls != 1 || len(d.deleted) != 1 || d.deleted[0] != 1 {
		t.Errorf("deleted %v in %d calls, want [1] in 1", d.deleted, d.calls)
	}
}

// TestRetrSizeMatchesBytes checks that the octet count announced equals
// what is sent before dot-stuffing, for awkward message shapes.
func TestRetrSizeMatchesBytes(t *testing.T) {
	cases := map[string]string{
		"lf":             "A: b\n\nx\n",
		"crlf":           "A: b\r\n\r\nx\r\n",
		"no final eol":   "A: b\n\nx",
		"empty":          "",
		"bare cr inside": "A: b\n\nx\ry\n",
		"only dots":      ".\n..\n.\n",
		"long line":      "A: b\n\n" + strings.Repeat("y", 200000) + "\n.",
		"cr at boundary": "A: b\n\n" + strings.Repeat("z", 64*1024-8) + "\r\nnext\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			n, err := writeMessage(w, strings.NewReader(text), -1)
			w.Flush()
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(out.Len()) {
				t.Errorf("returned %d, wrote %d", n, out.Len())
			}
			unstuffed := unstuff(out.Bytes())
			if int64(len(unstuffed)) != crlfSize([]byte(text)) {
				t.Errorf("size %d, crlfSize %d", len(unstuffed), crlfSize([]byte(text)))
			}
			if bytes.Contains(bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), nil), []byte("\n")) {
				t.Errorf("bare LF in output")
			}
			if got, want := string(bytes.ReplaceAll(unstuffed, []byte("\r\n"), []byte("\n"))), strings.ReplaceAll(text, "\r\n", "\n"); strings.TrimSuffix(got, "\n") != strings.TrimSuffix(want, "\n") {
				t.Errorf("content changed")
			}
		})
	}
}

func unstuff(b []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\r\n")) {
		if len(l) > 0 && l[0] == '.' {
			l = l[1:]
		}
		out = append(out, l...)
	}
	return out
}

func TestNoQuitDeletesNothing(t *testing.T) {
	d := newMemDrop(msg1, msg2)
	c, r, done := startSession(t, d, time.Minute)
	if got := cmd(t, c, r, "DELE 1"); got != "+OK Deleted." {
		t.Fatal(got)
	}
	c.Close()
	if out := <-done; out != Disconnected {
		t.Errorf("outcome %v", out)
	}
	if d.calls != 0 {
		t.Errorf("Delete called %d times", d.calls)
	}
}

// lockedDrop is a memDrop holding a session lock, recording the order of
// UPDATE and the lock's release.
type lockedDrop struct {
	*memDrop
	events []string
}

func (d *lockedDrop) Delete(idx []int) error {
	d.mu.Lock()
	d.events = append(d.events, "delete")
	d.mu.Unlock()
	return d.memDrop.Delete(idx)
}

func (d *lockedDrop) Release() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, "release")
	return nil
}

// TestQuitReleasesBeforeAnswer: a client that reads "+OK Bye-bye." and
// logs in again at once must find the maildrop free, so the lock is let go
// after UPDATE and before the answer is written (a benchmark loop of
// QUIT-then-login got [IN-USE] when pop3d released the lock only on exit).
func TestQuitReleasesBeforeAnswer(t *testing.T) {
	d := &lockedDrop{memDrop: newMemDrop(msg1, msg2)}
	c, r, done := startSession(t, d, time.Minute)
	if got := cmd(t, c, r, "DELE 2"); got != "+OK Deleted." {
		t.Fatal(got)
	}
	if got := cmd(t, c, r, "QUIT"); got != "+OK Bye-bye." {
		t.Fatal(got)
	}
	d.mu.Lock()
	events := strings.Join(d.events, ",")
	d.mu.Unlock()
	if events != "delete,release" {
		t.Errorf("at the QUIT answer: events %q, want delete,release", events)
	}
	if out := <-done; out != Quit {
		t.Errorf("outcome %v", out)
	}
}

func TestIdleTimeout(t *testing.T) {
	d := newMemDrop(msg1)
	c, r, done := startSession(t, d, 100*time.Millisecond)
	cmd(t, c, r, "DELE 1")
	if got := readLine(t, r); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("timeout line %q", got)
	}
	if out := <-done; out != TimedOut {
		t.Errorf("outcome %v", out)
	}
	if d.calls != 0 {
		t.Error("timeout deleted messages")
	}
}

func TestGoneMessage(t *testing.T) {
	d := newMemDrop(msg1, msg2)
	d.gone[0] = true
	c, r, _ := startSession(t, d, time.Minute)
	if got := cmd(t, c, r, "RETR 1"); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("RETR gone: %q", got)
	}
	if got := cmd(t, c, r, "RETR 2"); !strings.HasPrefix(got, "+OK") {
		t.Errorf("RETR 2 after gone: %q", got)
	}
	readMulti(t, r)
	if got := cmd(t, c, r, "NOOP"); got != "+OK" {
		t.Errorf("NOOP %q", got)
	}
}

func TestLongLine(t *testing.T) {
	d := newMemDrop(msg1)
	c, r, _ := startSession(t, d, time.Minute)
	go io.WriteString(c, "NOOP"+strings.Repeat(" ", 20000)+"\r\n")
	if got := readLine(t, r); got != "-ERR Command line too long." {
		t.Errorf("long line: %q", got)
	}
	if got := cmd(t, c, r, "NOOP"); got != "+OK" {
		t.Errorf("after long line: %q", got)
	}
}

func TestPipelining(t *testing.T) {
	d := newMemDrop(msg1, msg2)
	c, r, _ := startSession(t, d, time.Minute)
	go io.WriteString(c, "STAT\r\nRETR 1\r\nRETR 2\r\nNOOP\r\n")
	if l := readLine(t, r); !strings.HasPrefix(l, "+OK 2 ") {
		t.Fatal(l)
	}
	for i := 0; i < 2; i++ {
		if l := readLine(t, r); !strings.HasPrefix(l, "+OK") {
			t.Fatal(l)
		}
		readMulti(t, r)
	}
	if l := readLine(t, r); l != "+OK" {
		t.Fatal(l)
	}
}

// --- AUTHORIZATION state ---

func startLogin(t *testing.T, capa Capabilities, good map[string]string, temp bool) (net.Conn, *bufio.Reader, chan *Credentials, *[]string) {
	t.Helper()
	srv, cli := socketPair(t)
	done := make(chan *Credentials, 1)
	var failed []string
	go func() {
		l := &Login{Conn: NewConn(srv, srv, true), Capa: capa, FailDelay: 10 * time.Millisecond,
			Check: func(cr Credentials) error {
				if temp {
					return errors.New("authd down")
				}
				if p, ok := good[cr.User]; ok && p == cr.Pass {
					return nil
				}
				return errors.New("fail")
			},
			IsTemporary: func(err error) bool { return err.Error() == "authd down" },
			Failed:      func(cr Credentials, _ error) { failed = append(failed, cr.Method+":"+cr.User) },
		}
		cr, _ := l.Serve()
		l.Conn.Flush()
		srv.Close()
		done <- cr
	}()
	t.Cleanup(func() { cli.Close() })
	r := bufio.NewReader(cli)
	if g := readLine(t, r); !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("greeting %q", g)
	}
	return cli, r, done, &failed
}

func TestLoginCommands(t *testing.T) {
	c, r, done, failed := startLogin(t, Capabilities{LoginDelay: 10}, map[string]string{"carol": "pass word"}, false)
	tests := []struct{ send, want string }{
		{"STAT", "-ERR Invalid command."},
		{"PASS x", "-ERR USER/PASS required."},
		{"USER", "-ERR Invalid command."},
		{"AUTH", "-ERR Invalid command."},
		{"AUTH CRAM-FOO", "-ERR Unsupported authentication mechanism."},
		{"STLS", "-ERR TLS support not available."},
		{"USER carol extra", "+OK Password required."},
		{"PASS wrong", "-ERR [AUTH] Login failed."},
		{"PASS pass word", "-ERR USER/PASS required."},
		{"AUTH PLAIN !!!", "-ERR Invalid base64 data."},
		{"AUTH PLAIN AGNhcm9sAHdyb25n", "-ERR [AUTH] Login failed."}, // carol/wrong
		{"UTF8", "+OK UTF8 enabled"},
		{"USER carol", "+OK Password required."},
	}
	for _, tc := range tests {
		if got := cmd(t, c, r, tc.send); got != tc.want {
			t.Errorf("%q -> %q, want %q", tc.send, got, tc.want)
		}
	}
	if got := cmd(t, c, r, "CAPA"); !strings.HasPrefix(got, "+OK") {
		t.Fatal(got)
	}
	capa := strings.Join(readMulti(t, r), "|")
	for _, want := range []string{"TOP", "USER", "UIDL", "PIPELINING", "RESP-CODES", "LOGIN-DELAY 10", "UTF8 USER"} {
		if !strings.Contains("|"+capa+"|", "|"+want+"|") {
			t.Errorf("CAPA lacks %q: %s", want, capa)
		}
	}
	if strings.Contains(capa, "SASL") {
		t.Errorf("CAPA has SASL with empty list: %s", capa)
	}
	io.WriteString(c, "PASS pass word\r\n")
	cr := <-done
	if cr == nil || cr.User != "carol" || cr.Pass != "pass word" || cr.Method != "USER" {
		t.Errorf("credentials %+v", cr)
	}
	if strings.Join(*failed, ",") != "USER:carol,PLAIN:carol" {
		t.Errorf("failed log %v", *failed)
	}
}

func TestLoginSASL(t *testing.T) {
	good := map[string]string{"carol": "pass"}
	tests := []struct {
		name   string
		lines  []string // client lines; server replies "+ ..." between them
		prompt []string
	}{
		{"plain initial", []string{"AUTH PLAIN AGNhcm9sAHBhc3M="}, nil},
		{"plain authzid", []string{"AUTH PLAIN Y2Fyb2wAY2Fyb2wAcGFzcw=="}, nil},
		{"plain continuation", []string{"AUTH PLAIN", "AGNhcm9sAHBhc3M="}, []string{"+ "}},
		{"login", []string{"AUTH LOGIN", "Y2Fyb2w=", "cGFzcw=="}, []string{"+ VXNlcm5hbWU6", "+ UGFzc3dvcmQ6"}},
		{"login initial", []string{"AUTH login Y2Fyb2w=", "cGFzcw=="}, []string{"+ UGFzc3dvcmQ6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, r, done, _ := startLogin(t, Capabilities{SASL: []string{"PLAIN", "LOGIN"}}, good, false)
			for i, l := range tc.lines {
				io.WriteString(c, l+"\r\n")
				if i < len(tc.prompt) {
					if got := readLine(t, r); got != tc.prompt[i] {
						t.Fatalf("prompt %q, want %q", got, tc.prompt[i])
					}
				}
			}
			cr := <-done
			if cr == nil || cr.User != "carol" || cr.Pass != "pass" {
				t.Errorf("credentials %+v", cr)
			}
		})
	}
}

func TestLoginCancelAndTemp(t *testing.T) {
	c, r, _, _ := startLogin(t, Capabilities{SASL: []string{"PLAIN"}}, nil, true)
	cmd(t, c, r, "AUTH")
	if got := strings.Join(readMulti(t, r), ","); got != "PLAIN" {
		t.Errorf("AUTH list %q", got)
	}
	if got := cmd(t, c, r, "AUTH PLAIN"); got != "+ " {
		t.Fatal(got)
	}
	if got := cmd(t, c, r, "*"); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("cancel %q", got)
	}
	cmd(t, c, r, "USER x")
	if got := cmd(t, c, r, "PASS y"); got != "-ERR [SYS/TEMP] Temporary problem, please try again later" {
		t.Errorf("temp %q", got)
	}
	if got := cmd(t, c, r, "QUIT"); !strings.HasPrefix(got, "+OK") {
		t.Errorf("quit %q", got)
	}
}

// TestLoginExactRead checks that the login stage leaves pipelined input
// after PASS unread, for the session process that is exec'd next.
func TestLoginExactRead(t *testing.T) {
	srv, cli := socketPair(t)
	defer cli.Close()
	go func() {
		r := bufio.NewReader(cli)
		r.ReadString('\n')
		io.WriteString(cli, "USER carol\r\nPASS pass\r\nSTAT\r\n")
	}()
	l := &Login{Conn: NewConn(srv, srv, true), Check: func(Credentials) error { return nil }}
	if cr, _ := l.Serve(); cr == nil {
		t.Fatal("no login")
	}
	go l.Conn.Flush()
	buf := make([]byte, 16)
	n, _ := srv.Read(buf)
	if string(buf[:n]) != "STAT\r\n" {
		t.Errorf("left %q", buf[:n])
	}
}

func FuzzCommand(f *testing.F) {
	for _, s := range []string{"STAT\r\n", "LIST 1\r\n", "TOP 1 2\r\nRETR 1\r\n", "DELE 1\r\nRSET\r\n", "UIDL 99999999999\r\n",
		"AUTH PLAIN\r\nAGNhcm9sAHBhc3M=\r\n", "USER a\r\nPASS b c\r\n", strings.Repeat("x", 9000) + "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		d := newMemDrop(msg1, msg2)
		s := &Session{Conn: NewConn(strings.NewReader(in), &out, false), Drop: d}
		s.Serve()
		s.Conn.Flush()
		checkReplies(t, out.Bytes())
		out.Reset()
		l := &Login{Conn: NewConn(strings.NewReader(in), &out, true), Check: func(Credentials) error { return errors.New("no") }}
		l.Serve()
		l.Conn.Flush()
		checkReplies(t, out.Bytes())
	})
}

// checkReplies verifies that every output line ends in CRLF and has no
// bare CR or LF.
func checkReplies(t *testing.T, b []byte) {
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("output does not end in CRLF: %q", b)
	}
	if bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("bare LF in output")
	}
}

func TestLoginCRAM(t *testing.T) {
	srv, cli := socketPair(t)
	defer cli.Close()
	var gotMech, gotCh, gotResp string
	done := make(chan *Credentials, 1)
	go func() {
		l := &Login{Conn: NewConn(srv, srv, true), Check: func(Credentials) error { return errors.New("no") },
			Random: rand.Reader,
			CRAM: func(mech, ch, resp string) error {
				gotMech, gotCh, gotResp = mech, ch, resp
				return nil
			}}
		cr, _ := l.Serve()
		done <- cr
	}()
	r := bufio.NewReader(cli)
	readLine(t, r)
	ch := cmd(t, cli, r, "AUTH CRAM-MD5")
	if !strings.HasPrefix(ch, "+ ") {
		t.Fatal(ch)
	}
	resp := "Y2Fyb2wgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // "carol 0123..."
	io.WriteString(cli, resp+"\r\n")
	cr := <-done
	if cr == nil || cr.User != "carol" || gotMech != "CRAM-MD5" || gotCh != ch[2:] || gotResp != resp {
		t.Errorf("cr %+v mech %q ch %q resp %q", cr, gotMech, gotCh, gotResp)
	}
}

func TestUTF8Wrapper(t *testing.T) {
	text := "Subject: Grüße\n\nhi\n"
	for _, utf8 := range []bool{false, true} {
		d := newMemDrop(text)
		srv, cli := socketPair(t)
		go func() {
			s := &Session{Conn: NewConn(srv, srv, false), Drop: d, UTF8: utf8}
			s.Serve()
			srv.Close()
		}()
		r := bufio.NewReader(cli)
		head := cmd(t, cli, r, "RETR 1")
		body := readMulti(t, r)
		var size int
		fmt.Sscanf(head, "+OK %d octets", &size)
		got := strings.Join(body, "\r\n") + "\r\n"
		if size != len(got) {
			t.Errorf("utf8=%v: announced %d, sent %d", utf8, size, len(got))
		}
		wrapped := strings.HasPrefix(got, "MIME-Version: 1.0\r\nContent-Type: message/global\r\n")
		if wrapped == utf8 {
			t.Errorf("utf8=%v: wrapped=%v: %q", utf8, wrapped, got)
		}
		cli.Close()
	}
}

func TestLoginTimeout(t *testing.T) {
	srv, cli := socketPair(t)
	defer cli.Close()
	done := make(chan Outcome, 1)
	go func() {
		l := &Login{Conn: NewConn(srv, srv, true), Timeout: 100 * time.Millisecond, Check: func(Credentials) error { return nil }}
		_, out := l.Serve()
		done <- out
	}()
	r := bufio.NewReader(cli)
	readLine(t, r)
	if got := readLine(t, r); got != "-ERR Disconnected for inactivity." {
		t.Errorf("got %q", got)
	}
	select {
	case out := <-done:
		if out != TimedOut {
			t.Errorf("outcome %v", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout")
	}
}
