package main

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// results collects the samples of every server and metric.
type results struct {
	p         params
	servers   []*server
	samples   map[string]map[string][]float64 // server -> metric key -> samples
	errs      map[string]map[string]string    // server -> workload -> error
	machine   string
	date      string
	savedDate string // date of the merged previous results
	phases    *phaseTimes
}

func newResults(p params, srvs []*server) *results {
	return &results{p: p, servers: srvs, samples: map[string]map[string][]float64{}, errs: map[string]map[string]string{}}
}

func (r *results) add(srv string, vals map[string]float64) {
	if r.samples[srv] == nil {
		r.samples[srv] = map[string][]float64{}
	}
	for k, v := range vals {
		r.samples[srv][k] = append(r.samples[srv][k], v)
	}
}

func (r *results) fail(srv, wl string, err error) {
	if r.errs[srv] == nil {
		r.errs[srv] = map[string]string{}
	}
	r.errs[srv][wl] = err.Error()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is (max-min)/median in percent.
func spread(xs []float64) float64 {
	m := median(xs)
	if len(xs) < 2 || m == 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / m * 100
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// value returns the median of srv's metric and whether it was measured.
func (r *results) value(srv, key string) (float64, bool) {
	xs := r.samples[srv][key]
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

func fmtNum(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// cell formats one figure with its spread and its ratio to the reference
// servers' figures (value / reference, whatever the direction).
func (r *results) cell(srv, key string) string {
	v, ok := r.value(srv, key)
	if !ok {
		return "—"
	}
	s := fmtNum(v)
	if len(r.samples[srv][key]) > 1 {
		s += fmt.Sprintf(" ±%.0f%%", spread(r.samples[srv][key])/2)
	}
	var rat []string
	for _, ref := range []string{"courier", "dovecot"} {
		if ref == srv {
			continue
		}
		if rv, ok := r.value(ref, key); ok && rv != 0 {
			rat = append(rat, "×"+fmtRatio(v/rv)+" "+strings.ToUpper(ref[:1]))
		}
	}
	if len(rat) > 0 {
		s += " (" + strings.Join(rat, ", ") + ")"
	}
	return s
}

func groups() []string {
	var gs []string
	for _, m := range metrics {
		if !slices.Contains(gs, m.group) {
			gs = append(gs, m.group)
		}
	}
	return gs
}

func (r *results) measured(m metric) bool {
	for _, s := range r.servers {
		if _, ok := r.value(s.name, m.key); ok {
			return true
		}
	}
	return false
}

// text is the terminal summary.
func (r *results) text() string {
	var b strings.Builder
	for _, s := range r.servers {
		if s.unavailable != "" {
			fmt.Fprintf(&b, "%s: not available: %s\n", s.name, s.unavailable)
		}
		for _, wl := range sortedKeys(r.errs[s.name]) {
			fmt.Fprintf(&b, "%s: %s failed: %s\n", s.name, wl, r.errs[s.name][wl])
		}
	}
	for _, m := range metrics {
		if !r.measured(m) {
			continue
		}
		fmt.Fprintf(&b, "%-10s %-52s %-9s", m.group, m.label, m.unit)
		for _, s := range r.servers {
			if s.unavailable == "" {
				fmt.Fprintf(&b, " | %s: %s", s.name, r.cell(s.name, m.key))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// write produces the markdown report and one SVG chart per group.
func (r *results) write(mdPath, chartDir string) error {
	if err := os.MkdirAll(chartDir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`go run ./bench`); do not edit by hand.\n\n")
	fmt.Fprintf(&b, "Date: %s. Runs per figure: %d (median shown; ± is half the min–max spread in %% of the median).\n", r.date, r.p.runs)
	if r.savedDate != "" {
		b.WriteString("Merged report (-merge): servers or workloads that the last run did not measure keep their figures from earlier runs (bench/results.json).\n")
	}
	b.WriteString("Ratios: ×r C / ×r D = this figure divided by Courier's / Dovecot's (for rates higher is better, for times and memory lower is better).\n\n")
	b.WriteString("## Machine\n\n" + r.machine + "\n\n## Servers\n\n")
	for _, s := range r.servers {
		if s.unavailable != "" {
			fmt.Fprintf(&b, "* **%s**: not available: %s\n", s.name, s.unavailable)
		} else {
			fmt.Fprintf(&b, "* **%s**: %s\n", s.name, s.version)
		}
	}
	b.WriteString("\nAll servers: 127.0.0.1, one at a time, same seeded Maildir (hard-linked fresh copy per run), " +
		"same user; Courier and ours with Debian's imapd/pop3d settings except -maxprocs=400 -maxperip=400 and IMAP_ENHANCEDIDLE=1; " +
		"Dovecot with Debian's defaults, passwd-file, TLS only on the tls workload's implicit-TLS port (ssl = required).\n\n")
	fmt.Fprintf(&b, "Data: seed %d; login/memory/IDLE mailbox %d messages; big mailbox %d messages (1 KB..%d MB, multipart, attachments, "+
		"RFC 2047 headers, threads); POP3 maildrop %d messages; APPEND %d messages; %d idle sessions; login loops %v each.\n\n",
		r.p.seed, r.p.smallMsgs, r.p.bigMsgs, r.p.bigMaxSize>>20, r.p.popMsgs, r.p.appendMsgs, r.p.sessions, r.p.loginDur)
	fmt.Fprintf(&b, "TLS: one RSA-3072 self-signed certificate for all three servers (Courier's couriertls and ours: key+cert PEM in TLS_CERTFILE; "+
		"Dovecot: ssl_cert/ssl_key), full handshakes (the client keeps no session cache); bulk FETCH on a %d-message set (1 KB..%d KB). "+
		"Stress: %d clients on one shared INBOX for %v (random SELECT, FETCH, UID STORE, APPEND, own STORE \\Deleted + EXPUNGE, NOOP, SEARCH).\n\n",
		r.p.tlsMsgs, r.p.tlsMaxSize>>10, r.p.stressN, r.p.stressDur)
	fmt.Fprintf(&b, "Storage (issue 3, `bench/storage`): per server one folder of %d small messages (300–1100 bytes, all in cur/), "+
		"Courier's and our imapd run directly in PREAUTH mode on one socket (no login stage), time from command to tagged reply; "+
		"APPEND of %d messages (Courier: %d timed, the rate is computed on those), then UID STORE \\Deleted + EXPUNGE of those %d.\n\n",
		r.p.storageMsgs, r.p.storageBatch, r.p.storageSample, r.p.storageBatch)
	fmt.Fprintf(&b, "Bounds: APPEND stops after %v and RETR after %v (the rate is computed on what was done); every command has a %v deadline.\n\n",
		r.p.appendLimit, r.p.retrLimit, ioTimeout)
	b.WriteString(reportNotes)
	for _, g := range groups() {
		var ms []metric
		for _, m := range metrics {
			if m.group == g && r.measured(m) {
				ms = append(ms, m)
			}
		}
		fmt.Fprintf(&b, "## %s\n\n", g)
		var errs []string
		for _, s := range r.servers {
			for wl, e := range r.errs[s.name] {
				if wl == g {
					errs = append(errs, fmt.Sprintf("* %s failed: %s", s.name, e))
				}
			}
		}
		if len(ms) == 0 {
			b.WriteString("Not measured.\n\n")
			if len(errs) > 0 {
				b.WriteString(strings.Join(errs, "\n") + "\n\n")
			}
			continue
		}
		b.WriteString("| figure | unit |")
		var live []*server
		for _, s := range r.servers {
			if s.unavailable == "" {
				live = append(live, s)
				fmt.Fprintf(&b, " %s |", s.name)
			}
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(live)) + "\n")
		for _, m := range ms {
			fmt.Fprintf(&b, "| %s | %s |", m.label, m.unit)
			for _, s := range live {
				fmt.Fprintf(&b, " %s |", r.cell(s.name, m.key))
			}
			b.WriteString("\n")
		}
		if len(errs) > 0 {
			b.WriteString("\n" + strings.Join(errs, "\n") + "\n")
		}
		if g == "storage" && slices.ContainsFunc(live, func(s *server) bool { return s.name == "dovecot" }) {
			b.WriteString("\n* " + storageDovecotNote + "\n")
		}
		svg := r.svg(g, ms, live)
		name := g + ".svg"
		if err := os.WriteFile(filepath.Join(chartDir, name), []byte(svg), 0o644); err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(mdPath), filepath.Join(chartDir, name))
		if err != nil {
			rel = filepath.Join(chartDir, name)
		}
		fmt.Fprintf(&b, "\n![%s](%s)\n\n", g, rel)
	}
	if t := r.phases.table(); t != "" {
		b.WriteString("## Run time\n\nWall-clock time of this run of the harness by phase (a workload's time sums its runs on that server: " +
			"fresh copy of the data, server start, the workload, server stop).\n\n" + t + "\n")
	}
	return os.WriteFile(mdPath, []byte(b.String()), 0o644)
}

var colors = map[string]string{"courier": "#4e79a7", "dovecot": "#f28e2b", "ours": "#59a14f"}

// svg draws one horizontal bar per server and figure; each figure's bars
// are scaled to that figure's largest value (units differ per figure).
func (r *results) svg(group string, ms []metric, live []*server) string {
	const width, left, barH, gap = 760, 300, 16, 14
	h := 40 + len(ms)*(len(live)*barH+gap+18) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(group))
	lx := width - 80*len(live)
	for i, s := range live {
		fmt.Fprintf(&b, `<rect x="%d" y="10" width="12" height="12" fill="%s"/><text x="%d" y="21">%s</text>`+"\n", lx+i*80, colors[s.name], lx+i*80+16, s.name)
	}
	y := 40
	for _, m := range ms {
		dir := "lower is better"
		if m.higherBetter {
			dir = "higher is better"
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s (%s, %s)</text>`+"\n", y+12, html.EscapeString(m.label), html.EscapeString(m.unit), dir)
		y += 18
		maxv := 0.0
		for _, s := range live {
			if v, ok := r.value(s.name, m.key); ok {
				maxv = max(maxv, v)
			}
		}
		for _, s := range live {
			v, ok := r.value(s.name, m.key)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+12, s.name)
			if ok && maxv > 0 {
				w := int(v / maxv * float64(width-left-120))
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", left, y, max(w, 1), barH-3, colors[s.name])
				fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+max(w, 1)+6, y+12, fmtNum(v))
			} else {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">n/a</text>`+"\n", left, y+12)
			}
			y += barH
		}
		y += gap
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// machineInfo describes the host from /proc (CPU model, cores, memory).
func machineInfo() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	osname := ""
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				osname = strings.Trim(v, `"`)
			}
		}
	}
	lines := []string{
		"* CPU: " + model,
		fmt.Sprintf("* CPUs (nproc): %d", runtime.NumCPU()),
		"* Memory: " + mem,
		"* OS: " + osname + ", kernel " + kernel,
		"* Load average when the report was written: " + loadavg() + " (the machine was shared with other work: treat small differences as noise)",
		"* Harness: " + runtime.Version(),
	}
	return strings.Join(lines, "\n")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// saved is the JSON form of results (bench/results.json), so that a later
// run of some workloads can be merged with the figures of the others.
type saved struct {
	Servers []savedServer                   `json:"servers"`
	Samples map[string]map[string][]float64 `json:"samples"`
	Errors  map[string]map[string]string    `json:"errors"`
	Date    string                          `json:"date"`
	// Phases is the run-time table of the run that wrote the file, in
	// seconds, its total under "total"
	Phases []savedPhase `json:"phases,omitempty"`
}

type savedPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

type savedServer struct {
	Name, Version, Unavailable string
}

func (r *results) save(path string) error {
	s := saved{Samples: r.samples, Errors: r.errs, Date: r.date}
	if r.phases != nil {
		for _, n := range r.phases.names {
			s.Phases = append(s.Phases, savedPhase{n, r.phases.dur[n].Seconds()})
		}
		s.Phases = append(s.Phases, savedPhase{"total", r.phases.total.Seconds()})
	}
	for _, sv := range r.servers {
		s.Servers = append(s.Servers, savedServer{sv.name, sv.version, sv.unavailable})
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// mergeFrom adds the previous run's figures for everything this run did
// not measure: other workloads, and servers that were not run now.
func (r *results) mergeFrom(path string, ran []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	var old saved
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("merge %s: %w", path, err)
	}
	now := map[string]bool{}
	for _, sv := range r.servers {
		if sv.unavailable == "" {
			now[sv.name] = true
		}
	}
	ranMetric := map[string]bool{}
	for _, m := range metrics {
		if slices.Contains(ran, m.group) {
			ranMetric[m.key] = true
		}
	}
	for srv, ms := range old.Samples {
		for k, xs := range ms {
			if now[srv] && ranMetric[k] {
				continue
			}
			if r.samples[srv] == nil {
				r.samples[srv] = map[string][]float64{}
			}
			r.samples[srv][k] = xs
		}
	}
	for srv, es := range old.Errors {
		for wl, e := range es {
			if now[srv] && slices.Contains(ran, wl) {
				continue
			}
			if r.errs[srv] == nil {
				r.errs[srv] = map[string]string{}
			}
			r.errs[srv][wl] = e
		}
	}
	for _, os := range old.Servers {
		found := false
		for _, sv := range r.servers {
			if sv.name == os.Name {
				found = true
				if sv.unavailable != "" && os.Unavailable == "" {
					sv.unavailable, sv.version = "", os.Version
				}
			}
		}
		if !found {
			r.servers = append(r.servers, &server{name: os.Name, version: os.Version, unavailable: os.Unavailable})
		}
	}
	r.savedDate = old.Date
	if r.phases == nil && len(old.Phases) > 0 {
		// -report: show the saved run's table
		r.phases = newPhaseTimes()
		for _, ph := range old.Phases {
			d := time.Duration(ph.Seconds * float64(time.Second))
			if ph.Name == "total" {
				r.phases.total = d
			} else {
				r.phases.add(ph.Name, d)
			}
		}
	}
	slices.SortStableFunc(r.servers, func(a, b *server) int { return order(a.name) - order(b.name) })
	return nil
}

func order(name string) int {
	return slices.Index([]string{"courier", "dovecot", "ours"}, name)
}

func fmtRatio(x float64) string {
	if x >= 0.1 {
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.2g", x)
}

// reportNotes explains figures that look surprising; each was checked by
// hand on the real servers (see bench/README.md).
const reportNotes = `Notes:

* Courier's pop3d sends a RETR answer in several small writes; with Nagle's
  algorithm on the server and delayed ACKs on the client, most messages
  above a few KB cost about 40 ms each on loopback, hence its low RETR rate
  (the same happens with any client that does not pipeline).
* Courier rewrites courierimapuiddb (one line per message) on every APPEND,
  so APPEND into a 20,000-message folder is slow; its pop3d reads every
  message at login to count CRLF sizes, then caches them
  (courierpop3dsizelist), so its first UIDL/login is slower than later ones.
* IDLE: Courier with IMAP_ENHANCEDIDLE=1 is notified through FAM (gamin),
  Dovecot through inotify with its own delay; without enhanced IDLE Courier
  polls every 60 s.
* TLS: the login figure is dominated by the RSA-3072 signature of each full
  handshake and by the process chain (couriertcpd, couriertls, imaplogin,
  imapd for Courier and ours; Dovecot's imap-login does TLS itself).
* Stress: a run passes only with no error (every tagged reply OK, UIDs
  ascending in FETCH, final EXISTS = files in cur/+new/, no duplicate UID);
  otherwise the first errors are printed under the table.
* A figure missing for one server means that workload failed there; the
  reason is printed under the table.

`
