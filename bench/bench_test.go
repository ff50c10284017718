package main

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs every workload once on tiny data against every server
// that can run here: ours when BENCH_PREFIX names an installed tree, the
// reference servers when they are installed and we are root. With CI=true
// the reference servers must be present (CI installs them with
// scripts/courier-ref.sh install and scripts/dovecot-ref.sh install).
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke benchmark skipped in -short mode")
	}
	ci := os.Getenv("CI") == "true"
	wd, _ := os.Getwd()
	repo := findRepo(wd)
	e := &benchEnv{repo: repo, root: os.Getuid() == 0}
	var names []string
	if os.Getenv("BENCH_PREFIX") != "" {
		names = append(names, "ours")
	}
	for _, s := range []*server{courierServer(e), dovecotServer(e)} {
		if s.unavailable != "" {
			if ci {
				t.Fatalf("%s: %s (CI=true requires the reference servers)", s.name, s.unavailable)
			}
			t.Logf("%s skipped: %s", s.name, s.unavailable)
			continue
		}
		names = append(names, s.name)
	}
	if len(names) == 0 {
		t.Skip("no server to benchmark: set BENCH_PREFIX to an installed tree, or install the reference servers as root")
	}
	dir := t.TempDir()
	// the mail user and dovecot's auth user must reach the scratch tree
	_ = os.Chmod(dir, 0o755)
	_ = os.Chmod(filepath.Dir(dir), 0o755)
	out := filepath.Join(dir, "BENCHMARKS.md")
	start := time.Now()
	res, err := run(options{smoke: true, servers: strings.Join(names, ","), work: filepath.Join(dir, "work"),
		out: out, charts: filepath.Join(dir, "charts"), repo: repo, prefix: os.Getenv("BENCH_PREFIX"), logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Minute {
		t.Errorf("smoke mode took %v; it must stay within seconds", el)
	}
	for _, s := range res.servers {
		if s.unavailable != "" {
			t.Errorf("%s not available: %s", s.name, s.unavailable)
			continue
		}
		for wl, msg := range res.errs[s.name] {
			t.Errorf("%s/%s: %s", s.name, wl, msg)
		}
		for _, m := range metrics {
			if m.group == "storage" && s.name == "dovecot" {
				continue // bench/storage drives Courier and ours only
			}
			if v, ok := res.value(s.name, m.key); !ok || v <= 0 {
				t.Errorf("%s: %s not measured (%v)", s.name, m.key, v)
			}
		}
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Machine", "## login", "## mailbox", "## storage", "nproc", "## Run time", "**total**"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, g := range groups() {
		checkSVG(t, filepath.Join(dir, "charts", g+".svg"))
	}
	// nothing may be left running: no process has the scratch directory
	// on its command line, as its working directory or as its program
	// (the storage workload's imapds run with their folder as cwd)
	for _, p := range leftOver(dir) {
		t.Errorf("process %s still running after the benchmark", p)
	}
}

// leftOver lists the processes that refer to dir by command line, working
// directory or executable.
func leftOver(dir string) []string {
	var out []string
	for _, p := range listProcs() {
		proc := "/proc/" + strconv.Itoa(p.pid)
		cmd, _ := os.ReadFile(proc + "/cmdline")
		cwd, _ := os.Readlink(proc + "/cwd")
		exe, _ := os.Readlink(proc + "/exe")
		under := func(path string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }
		if strings.Contains(string(cmd), dir) || under(cwd) || under(exe) {
			out = append(out, fmt.Sprintf("%d (%s)", p.pid, p.comm))
		}
	}
	return out
}

// The left-over check must see a process that sits in the directory.
func TestLeftOverFindsProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sleep", "30")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if got := leftOver(dir); len(got) != 1 {
		t.Errorf("leftOver = %v, want the sleep process", got)
	}
	if got := leftOver(dir + "-other"); len(got) != 0 {
		t.Errorf("leftOver of another directory = %v", got)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Errorf("%s: not well-formed XML: %v", path, err)
			}
			return
		}
	}
}

func TestMedianSpread(t *testing.T) {
	cases := []struct {
		name      string
		xs        []float64
		med, sprd float64
	}{
		{"empty", nil, 0, 0},
		{"one", []float64{5}, 5, 0},
		{"odd", []float64{3, 1, 2}, 2, 100},
		{"even", []float64{4, 1, 3, 2}, 2.5, 120},
		{"zero-median", []float64{0, 0, 1}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if m := median(tc.xs); m != tc.med {
				t.Errorf("median = %v, want %v", m, tc.med)
			}
			if s := spread(tc.xs); s != tc.sprd {
				t.Errorf("spread = %v, want %v", s, tc.sprd)
			}
		})
	}
}

func TestLiteralLen(t *testing.T) {
	cases := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"* 1 FETCH (BODY[] {12}", 12, true},
		{"* 1 FETCH (BODY[] {12+}", 12, true},
		{"* 1 FETCH (FLAGS ())", 0, false},
		{"* OK {x}", 0, false},
		{"}", 0, false},
		{"* {-1}", 0, false},
	}
	for _, tc := range cases {
		n, ok := literalLen(tc.line)
		if n != tc.n || ok != tc.ok {
			t.Errorf("literalLen(%q) = %d,%v want %d,%v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}

func TestReadTagged(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		untagged int
		err      bool
	}{
		{"ok", "* 2 EXISTS\r\n* 0 RECENT\r\nb1 OK done\r\n", 2, false},
		{"literal-with-fake-tag", "* 1 FETCH (BODY[] {13}\r\nb1 OK fake\r\n)\r\nb1 OK real\r\n", 1, false},
		{"no", "b1 NO nope\r\n", 0, true},
		{"eof", "* 1 EXISTS\r\n", 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic := &imapConn{r: bufio.NewReader(strings.NewReader(tc.in))}
			_, err := ic.readTagged("b1")
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if tc.name == "no" && !errors.Is(err, errNo) {
				t.Fatalf("NO not reported as errNo: %v", err)
			}
			if ic.untagged != tc.untagged {
				t.Fatalf("untagged = %d, want %d", ic.untagged, tc.untagged)
			}
		})
	}
}

func TestReportWithoutServers(t *testing.T) {
	dir := t.TempDir()
	srvs := []*server{{name: "courier", version: "c"}, {name: "dovecot", version: "d"}, {name: "ours", unavailable: "not built"}}
	r := newResults(smokeParams(), srvs)
	r.add("courier", map[string]float64{"login1": 100, "select1": 10})
	r.add("courier", map[string]float64{"login1": 120, "select1": 12})
	r.add("dovecot", map[string]float64{"login1": 50})
	r.fail("dovecot", "mailbox", errors.New("boom"))
	r.machine = machineInfo()
	if err := r.write(filepath.Join(dir, "B.md"), filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "B.md"))
	s := string(b)
	for _, want := range []string{"ours**: not available: not built", "110.0 ±9% (×2.20 D)", "50.00 (×0.45 C)", "dovecot failed: boom"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	checkSVG(t, filepath.Join(dir, "c", "login.svg"))
}

// FuzzReadTagged feeds arbitrary server output to the response reader: it
// must end with a result or an error, never hang or panic.
func FuzzReadTagged(f *testing.F) {
	f.Add("* 1 FETCH (BODY[] {5}\r\nabcde)\r\nb1 OK x\r\n")
	f.Add("* OK {99999999999}\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		ic := &imapConn{r: bufio.NewReader(strings.NewReader(in))}
		_, _ = ic.readTagged("b1")
	})
}

func TestMergeKeepsOtherWorkloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	old := newResults(smokeParams(), []*server{{name: "courier", version: "c1"}, {name: "ours", version: "o1"}})
	old.add("courier", map[string]float64{"login1": 100, "poplogins1": 7})
	old.add("ours", map[string]float64{"login1": 50, "poplogins1": 3})
	old.fail("ours", "pop3login", errors.New("old failure"))
	if err := old.save(path); err != nil {
		t.Fatal(err)
	}
	cur := newResults(smokeParams(), []*server{{name: "ours", version: "o2"}})
	cur.add("ours", map[string]float64{"poplogins1": 9})
	if err := cur.mergeFrom(path, []string{"pop3login"}); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		srv, key string
		want     float64
	}{
		{"ours", "poplogins1", 9},  // re-run: new value only
		{"ours", "login1", 50},     // not re-run: kept
		{"courier", "login1", 100}, // server not run now: kept
		{"courier", "poplogins1", 7},
	}
	for _, c := range checks {
		if v, ok := cur.value(c.srv, c.key); !ok || v != c.want {
			t.Errorf("%s/%s = %v,%v want %v", c.srv, c.key, v, ok, c.want)
		}
	}
	if len(cur.samples["ours"]["poplogins1"]) != 1 {
		t.Errorf("old samples of a re-run workload kept: %v", cur.samples["ours"]["poplogins1"])
	}
	if _, ok := cur.errs["ours"]["pop3login"]; ok {
		t.Error("old failure of a re-run workload kept")
	}
	if len(cur.servers) != 2 || cur.servers[0].name != "courier" {
		t.Errorf("servers after merge: %v", len(cur.servers))
	}
}
