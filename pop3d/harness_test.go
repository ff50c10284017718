package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listenPop3d is a tiny stand-in for couriertcpd+pop3login: it listens on
// 127.0.0.1:0 and execs pop3d for each connection with the socket on fds
// 0/1 and AUTHENTICATED already set (a PREAUTH-like mode: the client's
// greeting is pop3d's "+OK logged in.", and no USER/PASS is sent).
// At most max connections are served.
func listenPop3d(t testing.TB, home string, max int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; i < max; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f, err := c.(*net.TCPConn).File()
			c.Close()
			if err != nil {
				return
			}
			cmd := exec.Command(pop3dBin, "Maildir")
			cmd.Dir = home
			cmd.Env = []string{"AUTHENTICATED=carol"}
			if v := os.Getenv("BENCH_GOMAXPROCS"); v != "" {
				cmd.Env = append(cmd.Env, "GOMAXPROCS="+v)
			}
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, io.Discard
			if err := cmd.Start(); err == nil {
				go cmd.Wait()
			}
			f.Close()
		}
	}()
	return ln.Addr().String()
}

const poplibScript = `
import json, poplib, sys
host, port = sys.argv[1], int(sys.argv[2])
p = poplib.POP3(host, port, timeout=20)
out = {"welcome": p.getwelcome().decode()}
out["capa"] = sorted(p.capa().keys())
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["uidl1"] = p.uidl(1).decode()
r = p.retr(1)
out["retr"] = [l.decode() for l in r[1]]
out["retr_octets"] = r[2]
out["top"] = [l.decode() for l in p.top(2, 0)[1]]
try:
    p.retr(9)
except poplib.error_proto as e:
    out["retr9"] = str(e)
out["dele"] = p.dele(1).decode()
try:
    p.dele(1)
except poplib.error_proto as e:
    out["dele_again"] = str(e)
out["rset"] = p.rset().decode()
out["dele2"] = p.dele(2).decode()
out["quit"] = p.quit().decode()
print(json.dumps(out))
`

func TestPoplib(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 missing")
		}
		t.Skip("python3 missing")
	}
	home, md := makeHome(t, m1, m2)
	addr := listenPop3d(t, home, 2)
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("python3", "-c", poplibScript, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	var res struct {
		Welcome, Uidl1, Retr9, Dele, DeleAgain, Rset, Dele2, Quit string
		Capa                                                      []string
		Stat                                                      []int
		List, Uidl, Retr, Top                                     []string
		RetrOctets                                                int `json:"retr_octets"`
	}
	json.Unmarshal(out, &res)
	var raw map[string]any
	json.Unmarshal(out, &raw)
	res.DeleAgain, _ = raw["dele_again"].(string)
	s1, s2 := len(m1)+strings.Count(m1, "\n"), len(m2)+strings.Count(m2, "\n")
	checks := []struct {
		name      string
		got, want any
	}{
		{"welcome", res.Welcome, "+OK logged in."},
		{"stat", fmt.Sprint(res.Stat), fmt.Sprint([]int{2, s1 + s2})},
		{"list", strings.Join(res.List, ","), fmt.Sprintf("1 %d,2 %d", s1, s2)},
		{"uidl count", len(res.Uidl), 2},
		{"uidl1", strings.HasPrefix(res.Uidl1, "+OK 1 UID1-"), true},
		{"retr", strings.Join(res.Retr, "\n"), "From: a@example.com\nSubject: one\n\nhello\n.leading dot"},
		{"top", strings.Join(res.Top, "\n"), "From: b@example.com\nSubject: two\n"},
		{"retr9", strings.HasPrefix(res.Retr9, "b'-ERR"), true},
		{"dele", res.Dele, "+OK Deleted."},
		{"dele again", strings.HasPrefix(res.DeleAgain, "b'-ERR"), true},
		{"quit", res.Quit, "+OK Bye-bye."},
		{"capa has UIDL", strings.Contains(strings.Join(res.Capa, ","), "UIDL"), true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v want %v\n%s", c.name, c.got, c.want, out)
		}
	}
	// RSET then DELE 2: only message 2 is gone.
	time.Sleep(100 * time.Millisecond)
	left, _ := filepath.Glob(filepath.Join(md, "cur", "*"))
	if len(left) != 1 {
		t.Errorf("left %v", left)
	}
}

// writeMessages puts n messages of about size bytes into new/ in Courier's
// naming, without fsync (test data only).
func writeMessages(t testing.TB, md string, n, size int) {
	t.Helper()
	body := strings.Repeat("The quick brown fox jumps over the lazy dog. 0123456789\n", size/56+1)[:size]
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("From: a@example.com\nTo: b@example.com\nSubject: message %d\nMessage-ID: <%d@example.com>\n\n%s\n", i, i, body)
		name := fmt.Sprintf("%d.M%dP1V1I%d.bench,S=%d", 1700000000+i, i, i, len(text))
		if err := os.WriteFile(filepath.Join(md, "new", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// retrAll fetches every message one command at a time (an ordinary,
// non-pipelining client) and returns the count.
func retrAll(t testing.TB, addr string) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64*1024)
	w := bufio.NewWriter(c)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	line()
	fmt.Fprintf(w, "STAT\r\n")
	w.Flush()
	var n, sz int
	fmt.Sscanf(line(), "+OK %d %d", &n, &sz)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "RETR %d\r\n", i)
		w.Flush()
		if l := line(); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("RETR %d: %q", i, l)
		}
		for line() != ".\r\n" {
		}
	}
	fmt.Fprintf(w, "QUIT\r\n")
	w.Flush()
	line()
	return n
}

// BenchmarkRetr5000 measures RETR of 5,000 ~4 KB messages over loopback
// TCP with a one-command-at-a-time client; it reports msgs/s.
func BenchmarkRetr5000(b *testing.B) {
	home, md := makeHome(b)
	writeMessages(b, md, 5000, 4000)
	addr := listenPop3d(b, home, b.N+1)
	retrAll(b, addr) // builds courierpop3dsizelist outside the timing
	b.ResetTimer()
	start := time.Now()
	total := 0
	for i := 0; i < b.N; i++ {
		total += retrAll(b, addr)
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
}

const poplibBench = `
import poplib, sys, time
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=60)
n = p.stat()[0]
t = time.time()
for i in range(1, n + 1):
    p.retr(i)
el = time.time() - t
p.quit()
print(n, el)
`

// BenchmarkRetr5000Poplib is BenchmarkRetr5000 with Python's poplib as
// the client (one RETR at a time, as mail clients do).
func BenchmarkRetr5000Poplib(b *testing.B) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 missing")
	}
	home, md := makeHome(b)
	writeMessages(b, md, 5000, 4000)
	addr := listenPop3d(b, home, b.N+1)
	retrAll(b, addr)
	host, port, _ := net.SplitHostPort(addr)
	b.ResetTimer()
	var msgs, secs float64
	for i := 0; i < b.N; i++ {
		out, err := exec.Command("python3", "-c", poplibBench, host, port).CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		var n, el float64
		fmt.Sscan(string(out), &n, &el)
		msgs += n
		secs += el
	}
	b.ReportMetric(msgs/secs, "msgs/s")
}
