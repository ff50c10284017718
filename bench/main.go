// Command bench compares our servers with the real Courier-IMAP 5.0.13 and
// with Dovecot on identical, seeded Maildirs (issue 8).
//
// Invariants:
//   - Every server listens on 127.0.0.1 only, on ports picked at run time,
//     and runs alone: servers are started one at a time and stopped (their
//     process groups and descendants killed) before the next starts, also
//     on SIGINT/SIGTERM; nothing is left running.
//   - Every run of every workload gets a fresh hard-linked copy of the same
//     seeded master Maildir (internal/msggen), so the servers read the same
//     bytes and a run never benefits from a previous run's caches.
//   - Every loop is bounded in time and count; every network wait has a
//     deadline.
//   - A server that is missing or fails is reported as "not available" with
//     the reason; the others still run.
//
// Usage: go run ./bench [-prefix DIR] [-runs N] [-smoke] [-out BENCHMARKS.md]
// [workload ...]; workloads: login memory mailbox pop3 pop3login idle tls stress storage.
package main

import (
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	prefix  string
	runs    int
	smoke   bool
	out     string
	charts  string
	work    string
	servers string
	merge   bool
	report  bool // only rewrite the report from bench/results.json
	only    []string
	repo    string
	logf    func(format string, args ...any)
	// user is the login name; it must differ between harness runs that
	// may overlap (the Courier account lives in the system userdb).
	user string
}

func main() {
	var o options
	flag.StringVar(&o.prefix, "prefix", os.Getenv("BENCH_PREFIX"), "install PREFIX of our build (empty: ours not available)")
	flag.IntVar(&o.runs, "runs", 0, "runs per workload and server (default 3, smoke 1)")
	flag.BoolVar(&o.smoke, "smoke", false, "tiny data, each workload once, seconds in total")
	flag.StringVar(&o.out, "out", "", "markdown report to write (default BENCHMARKS.md; smoke: none)")
	flag.StringVar(&o.charts, "charts", "", "directory for the SVG charts (default bench/charts)")
	flag.StringVar(&o.work, "work", "", "scratch directory (default /srv/bench when root, else a temp dir)")
	flag.StringVar(&o.servers, "servers", "", "comma-separated subset of ours,courier,dovecot (default all; smoke: ours)")
	flag.BoolVar(&o.merge, "merge", false, "keep the figures of workloads and servers not run now from the previous run's results (bench/results.json)")
	flag.BoolVar(&o.report, "report", false, "run nothing: rewrite the report and charts from bench/results.json")
	flag.Parse()
	o.only = flag.Args()
	o.logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "bench: %v, stopping servers\n", s)
		stopAll()
		os.Exit(2)
	}()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Print(res.text())
}

// run executes the benchmark and writes the report; it is main without
// the process-level concerns, so the smoke test can call it.
func run(o options) (*results, error) {
	defer stopAll()
	pt := newPhaseTimes()
	p := fullParams()
	if o.smoke {
		p = smokeParams()
	}
	if o.runs > 0 {
		p.runs = o.runs
	}
	if o.repo == "" {
		wd, _ := os.Getwd()
		o.repo = findRepo(wd)
	}
	if o.logf == nil {
		o.logf = func(string, ...any) {}
	}
	if o.report {
		return rewriteReport(o, p)
	}
	if o.user == "" {
		o.user = "cbench"
		if o.smoke {
			o.user = fmt.Sprintf("cbsmoke%d", os.Getpid())
		} else if o.work != "" && filepath.Clean(o.work) != "/srv/bench" {
			// Courier's account lives in the system userdb, shared by
			// every harness run on the machine: runs in other scratch
			// directories must not repoint each other's account
			h := fnv.New32a()
			h.Write([]byte(filepath.Clean(o.work)))
			o.user = fmt.Sprintf("cb%08x", h.Sum32())
		}
	}
	e := &benchEnv{user: o.user, pass: "bench-pass", repo: o.repo, root: os.Getuid() == 0}
	if e.root {
		e.uid, e.gid = 5100, 5100
		if err := ensureUser(e); err != nil {
			return nil, err
		}
	} else {
		e.uid, e.gid = os.Getuid(), os.Getgid()
		if u, err := user.Current(); err == nil {
			e.user = u.Username
		}
	}
	e.work = o.work
	if e.work == "" {
		if e.root && !o.smoke {
			e.work = "/srv/bench"
		} else {
			d, err := os.MkdirTemp("", "gocourier-bench-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(d)
			e.work = d
		}
	}
	e.home = filepath.Join(e.work, "home")
	e.maildir = filepath.Join(e.home, "Maildir")
	for i := 1; i <= popClients; i++ {
		u := e.user + "p" + strconv.Itoa(i)
		h := filepath.Join(e.work, "pophomes", u)
		e.popUsers = append(e.popUsers, account{user: u, home: h, maildir: filepath.Join(h, "Maildir")})
	}
	if err := os.MkdirAll(filepath.Join(e.work, "logs"), 0o755); err != nil {
		return nil, err
	}
	if e.root {
		_ = os.Chmod(e.work, 0o755)
	}
	want := map[string]bool{"ours": true, "courier": true, "dovecot": true}
	if o.smoke && o.servers == "" {
		want = map[string]bool{"ours": true}
	}
	if o.servers != "" {
		want = map[string]bool{}
		for _, s := range strings.Split(o.servers, ",") {
			want[strings.TrimSpace(s)] = true
		}
	}
	var srvs []*server
	tSetup := time.Now()
	for _, name := range []string{"courier", "dovecot", "ours"} {
		if !want[name] {
			continue
		}
		var s *server
		switch name {
		case "courier":
			s = courierServer(e)
		case "dovecot":
			s = dovecotServer(e)
		case "ours":
			prefix := o.prefix
			if prefix != "" && !filepath.IsAbs(prefix) {
				prefix = filepath.Join(o.repo, prefix)
			}
			s = oursServer(e, prefix)
		}
		if s.unavailable == "" && s.setup != nil {
			if err := s.setup(e); err != nil {
				s.unavailable = "setup: " + err.Error()
			}
		}
		if s.unavailable != "" {
			o.logf("%s: not available: %s", s.name, s.unavailable)
		}
		srvs = append(srvs, s)
	}
	pt.since("server setup", tSetup)
	defer func() {
		for _, s := range srvs {
			if s.teardown != nil {
				s.teardown()
			}
		}
	}()
	res := newResults(p, srvs)
	res.phases = pt
	var sel []workload
	for _, w := range workloads {
		if len(o.only) == 0 || contains(o.only, w.name) {
			sel = append(sel, w)
		}
	}
	for _, name := range o.only {
		found := false
		for _, w := range workloads {
			found = found || w.name == name
		}
		if !found {
			return nil, fmt.Errorf("unknown workload %q", name)
		}
	}
	for _, w := range sel {
		if w.all != nil {
			t := time.Now()
			per, err := w.all(e, p, srvs, o.logf)
			pt.since(w.name+" (all servers)", t)
			if err != nil {
				o.logf("%s: %v", w.name, err)
				for _, s := range srvs {
					if _, measured := storageImpl[s.name]; measured && s.unavailable == "" {
						res.fail(s.name, w.name, err)
					}
				}
				continue
			}
			for _, s := range srvs {
				for i, vals := range per[s.name] {
					o.logf("%s/%s run %d: %s", s.name, w.name, i+1, fmtVals(vals))
					res.add(s.name, vals)
				}
			}
			continue
		}
		d := w.dataset(p)
		t := time.Now()
		master, err := masterMaildir(e, p, d)
		if err != nil {
			return nil, fmt.Errorf("data set %s: %w", d.name, err)
		}
		if el := time.Since(t); el > 50*time.Millisecond { // built now, not reused
			o.logf("data set %s (%d messages) built in %v", d.name, d.n, el.Round(100*time.Millisecond))
			pt.add("data "+d.name, el)
		}
		// runs are interleaved (run 1 of every server, then run 2...)
		// so that a change in the load of the shared machine hits every
		// server alike; a server stops at its first failed run
		failed := map[string]bool{}
		for i := 0; i < p.runs; i++ {
			for _, s := range srvs {
				if s.unavailable != "" || failed[s.name] {
					continue
				}
				vals, err := runOne(e, p, s, w, master, d.name, pt)
				if err != nil {
					// keep what was measured before the failure
					o.logf("%s/%s run %d: %v (partial: %s)", s.name, w.name, i+1, err, fmtVals(vals))
					res.add(s.name, vals)
					res.fail(s.name, w.name, err)
					failed[s.name] = true
					continue
				}
				o.logf("%s/%s run %d: %s", s.name, w.name, i+1, fmtVals(vals))
				res.add(s.name, vals)
			}
		}
	}
	res.machine = machineInfo()
	res.date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	pt.finish()
	o.logf("%s", pt.text())
	out := o.out
	if out == "" && !o.smoke {
		out = filepath.Join(o.repo, "BENCHMARKS.md")
	}
	charts := o.charts
	if charts == "" {
		charts = filepath.Join(o.repo, "bench", "charts")
	}
	if out != "" {
		saved := filepath.Join(filepath.Dir(charts), "results.json")
		if o.merge {
			var names []string
			for _, w := range sel {
				names = append(names, w.name)
			}
			if err := res.mergeFrom(saved, names); err != nil {
				return res, err
			}
		}
		if err := res.save(saved); err != nil {
			return res, err
		}
		if err := res.write(out, charts); err != nil {
			return res, err
		}
	}
	return res, nil
}

// runOne runs workload w once on server s, on a fresh copy of master; pt
// gets the time of the copy, of the server's start and stop, and of the
// workload itself.
func runOne(e *benchEnv, p params, s *server, w workload, master, set string, pt *phaseTimes) (map[string]float64, error) {
	t := time.Now()
	if err := prepareMaildir(e, master); err != nil {
		return nil, err
	}
	t = pt.since("copy data ("+set+")", t)
	ip, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	e.tlsPort = 0
	if needsTLS[w.name] {
		if e.tlsPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	r, err := s.start(e, ip, pp)
	t = pt.since("start "+s.name, t)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	vals, err := w.run(&wctx{e: e, p: p, r: r, srv: s})
	t = pt.since(w.name+" "+s.name, t)
	r.stop()
	pt.since("stop "+s.name, t)
	return vals, err
}

// ensureUser creates the system account of the benchmark user when it is
// missing: Courier's FAM client (gamin) names its socket after the user,
// and fails for a uid without a passwd entry.
func ensureUser(e *benchEnv) error {
	if _, err := user.LookupId(strconv.Itoa(e.uid)); err == nil {
		return nil
	}
	_, err := runCmd(nil, "useradd", "-u", strconv.Itoa(e.uid), "-U", "-M", "-d", "/srv/bench", "-s", "/usr/sbin/nologin", "cbench")
	return err
}

func findRepo(dir string) string {
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			return d
		}
	}
	return dir
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fmtVals(v map[string]float64) string {
	var parts []string
	for _, k := range sortedKeys(v) {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, v[k]))
	}
	return strings.Join(parts, " ")
}

// rewriteReport regenerates BENCHMARKS.md and the charts from the saved
// results without running anything.
func rewriteReport(o options, p params) (*results, error) {
	out := o.out
	if out == "" {
		out = filepath.Join(o.repo, "BENCHMARKS.md")
	}
	charts := o.charts
	if charts == "" {
		charts = filepath.Join(o.repo, "bench", "charts")
	}
	res := newResults(p, nil)
	if err := res.mergeFrom(filepath.Join(filepath.Dir(charts), "results.json"), nil); err != nil {
		return nil, err
	}
	res.machine = machineInfo()
	res.date = res.savedDate + " (report rewritten " + time.Now().UTC().Format("2006-01-02 15:04 UTC") + ")"
	return res, res.write(out, charts)
}
