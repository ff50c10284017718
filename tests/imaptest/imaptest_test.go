package imaptest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocourier/internal/msggen"
	"gocourier/tests/clients"
)

var (
	progs    *clients.Programs
	buildErr error
)

func TestMain(m *testing.M) {
	code := func() int {
		if os.Getenv("IMAPTEST") == "" || os.Geteuid() != 0 {
			return m.Run() // every test skips in need()
		}
		dir, err := os.MkdirTemp("", "imaptest-bin-")
		if err != nil {
			buildErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755) // imaplogin execs imapd as the mail user
		wd, _ := os.Getwd()
		progs, buildErr = clients.Build(filepath.Clean(filepath.Join(wd, "..", "..")), dir)
		return m.Run()
	}()
	os.Exit(code)
}

// need returns the imaptest binary and the built chain, or skips.
func need(t *testing.T) (string, *clients.Programs) {
	t.Helper()
	bin := os.Getenv("IMAPTEST")
	if bin == "" {
		t.Skip("IMAPTEST is not set: point it at an imaptest binary (see tests/imaptest/README.md) to run Dovecot's imaptest against the chain")
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("IMAPTEST=%s is not an executable file", bin)
	}
	if os.Geteuid() != 0 {
		t.Skip("the full chain needs root (imaplogin drops to the mail user)")
	}
	if buildErr != nil {
		t.Fatalf("build chain: %v", buildErr)
	}
	return bin, progs
}

// runImaptest runs imaptest with args against s and returns its output.
func runImaptest(t *testing.T, bin string, port int, limit time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := append([]string{"host=127.0.0.1", "port=" + strconv.Itoa(port), "user=" + clients.User, "pass=" + clients.Pass}, args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Dir = t.TempDir()
	env := os.Environ()
	// A binary built against an installed Dovecot finds libdovecot there.
	if os.Getenv("LD_LIBRARY_PATH") == "" {
		if _, err := os.Stat("/usr/lib/dovecot/libdovecot.so.0"); err == nil {
			env = append(env, "LD_LIBRARY_PATH=/usr/lib/dovecot")
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("imaptest timed out after %v: %w", limit, ctx.Err())
	}
	return string(out), err
}

// capabilities returns our post-login CAPABILITY list, upper-cased.
func capabilities(t *testing.T, s *clients.Server) map[string]bool {
	t.Helper()
	c := s.Dial(t)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatalf("CAPABILITY: %v", err)
	}
	out := map[string]bool{}
	for k := range caps {
		out[strings.ToUpper(string(k))] = true
	}
	c.Logout().Wait()
	return out
}

// scriptCaps reads the "capabilities:" header line of an imaptest script
// (the header ends at the first empty line).
func scriptCaps(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "capabilities") {
			return strings.Fields(strings.ToUpper(v)), nil
		}
	}
	return nil, sc.Err()
}

var (
	groupsRE = regexp.MustCompile(`(?m)^(\d+) test groups: (\d+) failed, (\d+) skipped`)
	cmdsRE   = regexp.MustCompile(`(?m)^(base protocol|extensions): (\d+)/(\d+) individual commands failed`)
)

// scriptResult interprets one script's imaptest output.
func scriptResult(out string) (pass bool, why string) {
	if strings.Contains(out, "Panic:") {
		return false, "imaptest crashed"
	}
	g := groupsRE.FindStringSubmatch(out)
	if g == nil {
		return false, "no summary line"
	}
	if g[2] != "0" {
		return false, g[2] + " of " + g[1] + " test groups failed"
	}
	for _, m := range cmdsRE.FindAllStringSubmatch(out, -1) {
		if m[2] != "0" {
			return false, m[1] + ": " + m[2] + "/" + m[3] + " commands failed"
		}
	}
	return true, ""
}

// TestScripts runs every imaptest script (src/tests/*) once. Scripts that
// need a capability the server does not advertise are skipped.
func TestScripts(t *testing.T) {
	bin, p := need(t)
	dir := os.Getenv("IMAPTEST_TESTS")
	if dir == "" {
		dir = filepath.Join(filepath.Dir(bin), "tests")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("imaptest scripts: %v (set IMAPTEST_TESTS)", err)
	}
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("IMAPTEST_ONLY"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	s := clients.Start(t, p, clients.Options{})
	caps := capabilities(t, s)
	var passed, failed, na []string
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".mbox") || strings.HasPrefix(name, ".") || (len(only) > 0 && !only[name]) {
			continue
		}
		path := filepath.Join(dir, name)
		t.Run(name, func(t *testing.T) {
			req, err := scriptCaps(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range req {
				if !caps[c] {
					na = append(na, name)
					t.Skipf("needs %s, which we do not advertise", c)
				}
			}
			out, err := runImaptest(t, bin, s.Port, 90*time.Second, "box=INBOX.imaptest", "test="+path)
			ok, why := scriptResult(out)
			if !ok || err != nil {
				failed = append(failed, name)
				t.Errorf("%s: %s (%v)\n%s", name, why, err, clip(out, 6000))
				return
			}
			passed = append(passed, name)
		})
	}
	sort.Strings(failed)
	t.Logf("imaptest scripts: %d passed, %d failed %v, %d not applicable %v", len(passed), len(failed), failed, len(na), na)
}

// writeMbox writes n generated messages (unique Message-IDs, as
// imaptest's state checker keys messages by them) as an mbox.
func writeMbox(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	g := msggen.New(4, msggen.Options{MinSize: 400, MaxSize: 6000})
	for i := 0; i < n; i++ {
		m := g.Next()
		var b strings.Builder
		if _, err := m.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "From user@domain  %s\n", m.Date.UTC().Format("Mon Jan _2 15:04:05 2006"))
		for _, l := range strings.SplitAfter(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, ">"), "From ") {
				w.WriteByte('>')
			}
			w.WriteString(l)
		}
		if !strings.HasSuffix(b.String(), "\n") {
			w.WriteByte('\n')
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestStress runs imaptest's stress mode with state checking on one
// shared mailbox, with and without random LOGOUTs, and requires no error
// of any kind, no crash and a clean exit. imaptest talks to the server
// through the latency relay (relay.go), and no command may take longer
// than IMAPTEST_MAXLAT (default 1s) from its first line to its tagged
// response; IMAPTEST_RELAY=0 connects imaptest directly (to measure the
// relay's own cost) and checks no latency. IMAPTEST_SERVER=host:port
// runs the same against another server (Dovecot, Courier) with the
// harness's account, for comparison.
func TestStress(t *testing.T) {
	bin, p := need(t)
	maxLat := time.Second
	if v := os.Getenv("IMAPTEST_MAXLAT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("IMAPTEST_MAXLAT=%q: want a duration such as 1s", v)
		}
		maxLat = d
	}
	useRelay := os.Getenv("IMAPTEST_RELAY") != "0"
	secs := envInt("IMAPTEST_SECS", 20)
	nclients := envInt("IMAPTEST_CLIENTS", 20)
	checkpoint := envInt("IMAPTEST_CHECKPOINT", 9)
	mbox := filepath.Join(t.TempDir(), "stress.mbox")
	writeMbox(t, mbox, 300)
	for _, v := range []struct{ name, logout string }{{"logout=0", "logout=0"}, {"default logout", ""}} {
		t.Run(v.name, func(t *testing.T) {
			target, port, logs := "", 0, func() string { return "" }
			if other := os.Getenv("IMAPTEST_SERVER"); other != "" {
				// Another server (Dovecot, Courier) for comparison,
				// with the same account and a Maildir the caller
				// emptied.
				target = other
				if _, ps, err := net.SplitHostPort(other); err == nil {
					port, _ = strconv.Atoi(ps)
				}
			} else {
				s := clients.Start(t, p, clients.Options{})
				target, port, logs = s.Addr, s.Port, s.Logs
			}
			args := []string{"mbox=" + mbox, "box=INBOX", "users=1", "clients=" + strconv.Itoa(nclients),
				"checkpoint=" + strconv.Itoa(checkpoint), "secs=" + strconv.Itoa(secs)}
			if v.logout != "" {
				args = append(args, v.logout)
			}
			var rec *Recorder
			var relay *Relay
			if useRelay {
				rec = NewRecorder(maxLat)
				var err error
				if relay, err = StartRelay(target, rec); err != nil {
					t.Fatal(err)
				}
				defer relay.Close()
				port = relay.Port()
			}
			start := time.Now()
			out, err := runImaptest(t, bin, port, time.Duration(secs)*time.Second+3*time.Minute, args...)
			t.Logf("imaptest %s: %v\n%s", strings.Join(args[1:], " "), time.Since(start).Round(time.Second), tail(out, 12))
			var report string
			if relay != nil {
				relay.Close()
				report = rec.Report(30)
				t.Log(report)
			}
			if dir := os.Getenv("IMAPTEST_LOGDIR"); dir != "" {
				// the whole output, for the per-second figures and stall
				// warnings that the tail above leaves out
				base := filepath.Join(dir, "stress-"+strings.ReplaceAll(v.name, " ", "-"))
				os.WriteFile(base+".log", []byte(out), 0o644)
				if report != "" {
					os.WriteFile(base+".latency", []byte(report), 0o644)
				}
			}
			if rec != nil {
				if slow := rec.Slow(); len(slow) > 0 {
					t.Errorf("%d commands took longer than %v (slowest %v, %s); see the table above", len(slow), maxLat, slow[0].Took, slow[0].Command)
				}
			}
			if strings.Contains(out, "Panic:") {
				if strings.Contains(out, "plan_size == 0") {
					t.Fatalf("imaptest crashed in checkpoint mode: stock imaptest needs the one-line fix in tests/imaptest/README.md\n%s", tail(out, 20))
				}
				t.Fatalf("imaptest crashed:\n%s", tail(out, 40))
			}
			var errs []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "Error:") || strings.HasPrefix(l, "Fatal:") {
					errs = append(errs, l)
				}
			}
			if len(errs) > 0 || err != nil {
				t.Errorf("%d errors (exit: %v); first ones:\n%s\nserver log:\n%s", len(errs), err,
					clip(strings.Join(errs[:min(len(errs), 20)], "\n"), 8000), tail(logs(), 20))
			}
		})
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n[...]"
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// TestScriptResult checks the reading of imaptest's summary (it runs
// without IMAPTEST).
func TestScriptResult(t *testing.T) {
	tests := []struct {
		name, out string
		pass      bool
	}{
		{"pass", "1 test groups: 0 failed, 0 skipped due to missing capabilities\nbase protocol: 0/24 individual commands failed\nextensions: 0/0 individual commands failed\n", true},
		{"group failed", "*** Test copy command 16/24 (line 28)\n1 test groups: 1 failed, 0 skipped due to missing capabilities\nbase protocol: 4/24 individual commands failed\n", false},
		{"command failed only", "1 test groups: 0 failed, 0 skipped due to missing capabilities\nbase protocol: 0/2 individual commands failed\nextensions: 1/2 individual commands failed\n", false},
		{"crash", "Panic: file client-state.c: line 222 (client_update_plan): assertion failed\n1 test groups: 0 failed, 0 skipped\n", false},
		{"no summary", "Error: connect(127.0.0.1) failed: Connection refused\n", false},
	}
	for _, tc := range tests {
		if pass, why := scriptResult(tc.out); pass != tc.pass {
			t.Errorf("%s: pass=%v (%s), want %v", tc.name, pass, why, tc.pass)
		}
	}
}

// TestScriptCaps reads a script's capabilities header.
func TestScriptCaps(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       string
	}{
		{"caps", "capabilities: SORT esort\nmessages: all\n\nok sort (from) us-ascii all\n", "SORT ESORT"},
		{"none", "messages: all\n\nok search all\n", ""},
		{"after header", "state: auth\n\ncapabilities: X\n", ""},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := scriptCaps(p)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %v %v, want %q", tc.name, got, err, tc.want)
		}
	}
}
