// Command storage benchmarks our maildir storage side by side with the
// real Courier-IMAP 5.0.13 on the same data (issue 3):
//
//	go run ./bench/storage [-n 100000] [-runs 3] [-work DIR] [-out bench/storage/RESULTS.md]
//
// For each implementation a folder of n messages (identical files) is
// built, then these operations are timed, each in a new session:
//
//	first open   SELECT of the folder with no courierimapuiddb (and no cache)
//	reopen       SELECT again, nothing changed
//	reopen+10    SELECT after 10 deliveries into new/
//	append 1000  1,000 APPENDs (synchronising literals) to the folder
//	expunge 1000 UID STORE +FLAGS.SILENT (\Deleted) of 1,000 messages, EXPUNGE
//
// Courier's imapd and our imapd (built with CGO_ENABLED=0) are both run
// by hand in PREAUTH mode on one socket (fd 0 and 1, as couriertcpd
// gives it) and driven through IMAP
// identically; only the command-to-tagged-reply time is measured (process
// start and the SELECT before a STORE are not). Our storage API is also
// timed directly (maildir.Open + OpenFolder, Append, SetFlags + Expunge).
// Each figure is the median of -runs runs. The page cache is warm for both
// (the files were just written); nothing is dropped.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocourier/internal/maildir"
)

// Ops are the measured operations, in report order.
var Ops = []string{"first open", "reopen", "reopen+10", "append 1000", "expunge 1000"}

// Config is one benchmark run's parameters.
type Config struct {
	N          int    // messages in the folder
	Batch      int    // appends / expunges per op (1000)
	Runs       int    // repetitions (median)
	Work       string // scratch directory
	CourierBin string // Courier's imapd ("" = skip)
	OursBin    string // our imapd ("" = skip)
	// CourierAppendSample > 0: time only that many of Courier's APPENDs
	// and scale to Batch (see imapRun).
	CourierAppendSample int
	// Settle is the pause after filling the folders and between runs
	// (2.5 s: our cache ignores directories modified < 2 s ago).
	Settle time.Duration
	Log    io.Writer
}

// Results maps implementation -> operation -> per-run durations.
type Results map[string]map[string][]time.Duration

const folder = "INBOX.Big"

// populate writes n messages into root's .Big folder as cur/ files, 70 %
// \Seen, sizes 300..1100 bytes, names in Courier's delivery form.
func populate(root string, n int) error {
	if err := maildir.Make(root); err != nil {
		return err
	}
	dir := filepath.Join(root, ".Big")
	for _, d := range []string{"", "cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		body := message(i)
		flags := ""
		if i%10 < 7 {
			flags = "S"
		}
		name := fmt.Sprintf("%d.M%dP%d.bench,S=%d:2,%s", 1700000000+i, i%1000000, 1000+i%30000, len(body), flags)
		if err := os.WriteFile(filepath.Join(dir, "cur", name), body, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func message(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender %d <s%d@example.org>\nTo: alice@example.org\nSubject: message %d\nDate: Tue, 14 Nov 2023 10:00:00 +0000\nMessage-ID: <%d@example.org>\n\n", i%97, i%97, i, i)
	for j := 0; j < 3+i%12; j++ {
		b.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n")
	}
	return []byte(b.String())
}

func deliver10(root string, seq int) error {
	dir := filepath.Join(root, ".Big")
	for i := 0; i < 10; i++ {
		body := message(seq*10 + i)
		name := fmt.Sprintf("%d.M%dP1.delivered,S=%d", 1800000000+seq*10+i, i, len(body))
		tmp := filepath.Join(dir, "tmp", name)
		if err := os.WriteFile(tmp, body, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
			return err
		}
	}
	return nil
}

// forget removes the uiddb and our snapshot cache: the next SELECT is a
// "first open".
func forget(root string) {
	dir := filepath.Join(root, ".Big")
	os.Remove(filepath.Join(dir, "courierimapuiddb"))
	os.Remove(filepath.Join(dir, "gocourierimapcache"))
}

// session is an imapd run by hand over pipes.
type session struct {
	cmd *exec.Cmd
	in  *os.File
	w   *bufio.Writer
	r   *bufio.Reader
	n   int
}

func env() []string {
	return []string{"PATH=/usr/bin:/bin", "AUTHENTICATED=alice", "TCPREMOTEIP=127.0.0.1", "TCPREMOTEPORT=1",
		"IMAP_USELOCKS=1", "IMAP_KEYWORDS=1", "IMAP_ACL=1", "IMAP_TRASHFOLDERNAME=Trash", "HOSTNAME=bench.host",
		"IMAP_CAPABILITY=IMAP4rev1 UIDPLUS CHILDREN NAMESPACE QUOTA IDLE ACL ACL2=UNION"}
}

func start(bin, root string) (*session, error) {
	cmd := exec.Command(bin, filepath.Base(root))
	cmd.Dir = filepath.Dir(root)
	cmd.Env = env()
	// One socket on fd 0 and 1, as couriertcpd gives the server.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	in, child := os.NewFile(uintptr(fds[0]), "client"), os.NewFile(uintptr(fds[1]), "server")
	cmd.Stdin, cmd.Stdout = child, child
	defer child.Close()
	out := in
	cmd.Stderr = &stderrTail{}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &session{cmd: cmd, in: in, w: bufio.NewWriterSize(in, 64<<10), r: bufio.NewReaderSize(out, 64<<10)}
	l, err := s.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "* PREAUTH") {
		err = fmt.Errorf("%v (stderr: %s)", err, cmd.Stderr)
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s: greeting %q: %v", bin, l, err)
	}
	return s, nil
}

// do sends one command and reads up to its tagged reply, which must be OK.
func (s *session) do(line string) ([]string, error) {
	s.n++
	tag := fmt.Sprintf("t%d", s.n)
	fmt.Fprintf(s.w, "%s %s\r\n", tag, line)
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	return s.wait(tag)
}

func (s *session) wait(tag string) ([]string, error) {
	var lines []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			return lines, fmt.Errorf("%s: %w (stderr: %s)", tag, err, s.cmd.Stderr)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				return lines, fmt.Errorf("%s", strings.TrimSpace(l))
			}
			return lines, nil
		}
		lines = append(lines, l)
	}
}

// appendMsg does one APPEND with a synchronising literal.
func (s *session) appendMsg(body []byte) error {
	s.n++
	tag := fmt.Sprintf("t%d", s.n)
	fmt.Fprintf(s.w, "%s APPEND %s {%d}\r\n", tag, folder, len(body))
	s.w.Flush()
	l, err := s.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "+") {
		return fmt.Errorf("append: no continuation: %q %v", l, err)
	}
	s.w.Write(body)
	s.w.WriteString("\r\n")
	s.w.Flush()
	_, err = s.wait(tag)
	return err
}

func (s *session) close() {
	s.do("LOGOUT")
	s.in.Close()
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

func crlf(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), "\n", "\r\n")) }

// stderrTail keeps the last 2 KiB a server wrote to stderr (for errors).
type stderrTail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2048 {
		t.buf = t.buf[len(t.buf)-2048:]
	}
	return len(p), nil
}

func (t *stderrTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// imapRun measures one implementation through IMAP, one run. When
// sample is between 1 and batch, only sample APPENDs are timed and the
// figure is scaled to batch (used for Courier, whose APPEND to a 100,000
// message folder takes about a second each: every APPEND costs the same,
// a rewrite of the whole uiddb, so the scaling is linear).
func imapRun(bin, root string, run, batch, sample int) (map[string]time.Duration, error) {
	res := map[string]time.Duration{}
	sel := func(op string) error {
		s, err := start(bin, root)
		if err != nil {
			return err
		}
		defer s.close()
		t0 := time.Now()
		if _, err := s.do("SELECT " + folder); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		res[op] = time.Since(t0)
		return nil
	}
	forget(root)
	if err := sel("first open"); err != nil {
		return nil, err
	}
	if err := sel("reopen"); err != nil {
		return nil, err
	}
	if err := deliver10(root, run); err != nil {
		return nil, err
	}
	if err := sel("reopen+10"); err != nil {
		return nil, err
	}
	// APPEND batch messages.
	s, err := start(bin, root)
	if err != nil {
		return nil, err
	}
	na := batch
	if sample > 0 && sample < batch {
		na = sample
	}
	msgs := make([][]byte, na)
	for i := range msgs {
		msgs[i] = crlf(message(5000000 + i))
	}
	t0 := time.Now()
	for _, m := range msgs {
		if err := s.appendMsg(m); err != nil {
			s.close()
			return nil, err
		}
	}
	res["append 1000"] = time.Since(t0) * time.Duration(batch) / time.Duration(na)
	s.close()
	// Expunge the batch just appended (the highest UIDs).
	s, err = start(bin, root)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if _, err := s.do("SELECT " + folder); err != nil {
		return nil, err
	}
	lines, err := s.do("UID SEARCH ALL")
	if err != nil {
		return nil, err
	}
	var uids []string
	for _, l := range lines {
		if strings.HasPrefix(l, "* SEARCH") {
			uids = strings.Fields(l)[2:]
		}
	}
	if len(uids) < batch {
		return nil, fmt.Errorf("only %d messages", len(uids))
	}
	set := strings.Join(uids[len(uids)-batch:], ",")
	t0 = time.Now()
	if _, err := s.do("UID STORE " + set + ` +FLAGS.SILENT (\Deleted)`); err != nil {
		return nil, err
	}
	if _, err := s.do("EXPUNGE"); err != nil {
		return nil, err
	}
	res["expunge 1000"] = time.Since(t0)
	return res, nil
}

// apiRun measures our storage API directly, one run.
func apiRun(root string, run, batch int) (map[string]time.Duration, error) {
	res := map[string]time.Duration{}
	opts := maildir.Options{UseLocks: true, Keywords: true, TrashName: "Trash", Hostname: "bench.host"}
	open := func(op string) (*maildir.Folder, *maildir.Maildir, error) {
		t0 := time.Now()
		m, err := maildir.Open(root, opts)
		if err != nil {
			return nil, nil, err
		}
		f, err := m.OpenFolder(folder, false)
		if err != nil {
			return nil, nil, err
		}
		res[op] = time.Since(t0)
		// A session writes the snapshot cache after its SELECT is
		// answered (imapserver.AfterReplier): untimed here too.
		f.SaveDeferred()
		return f, m, nil
	}
	forget(root)
	if _, _, err := open("first open"); err != nil {
		return nil, err
	}
	if _, _, err := open("reopen"); err != nil {
		return nil, err
	}
	if err := deliver10(root, run); err != nil {
		return nil, err
	}
	_, m, err := open("reopen+10")
	if err != nil {
		return nil, err
	}
	var uids []uint32
	t0 := time.Now()
	for i := 0; i < batch; i++ {
		r, err := m.Append(folder, strings.NewReader(string(crlf(message(5000000+i)))), 0, nil, time.Time{})
		if err != nil {
			return nil, err
		}
		uids = append(uids, r.UID)
	}
	res["append 1000"] = time.Since(t0)
	f, err := m.OpenFolder(folder, false)
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	f.DeferSync() // one STORE command: one fsync of cur/ (before its OK)
	for _, u := range uids {
		if err := f.SetFlags(u, maildir.FlagDeleted, nil); err != nil {
			return nil, err
		}
	}
	if err := f.Flush(); err != nil {
		return nil, err
	}
	if _, err := f.Expunge(uids); err != nil {
		return nil, err
	}
	res["expunge 1000"] = time.Since(t0)
	return res, nil
}

// Run builds the data and measures every available implementation.
func Run(cfg Config) (Results, error) {
	res := Results{}
	type impl struct {
		name string
		run  func(root string, run int) (map[string]time.Duration, error)
	}
	var impls []impl
	if cfg.CourierBin != "" {
		impls = append(impls, impl{"Courier 5.0.13 imapd", func(r string, i int) (map[string]time.Duration, error) {
			return imapRun(cfg.CourierBin, r, i, cfg.Batch, cfg.CourierAppendSample)
		}})
	}
	if cfg.OursBin != "" {
		impls = append(impls, impl{"our imapd", func(r string, i int) (map[string]time.Duration, error) {
			return imapRun(cfg.OursBin, r, i, cfg.Batch, 0)
		}})
	}
	impls = append(impls, impl{"our storage API", func(r string, i int) (map[string]time.Duration, error) {
		return apiRun(r, i, cfg.Batch)
	}})
	// All copies are built first, then the runs interleave the
	// implementations (run 1: each; run 2: each; ...), so that load from
	// other processes on the machine hits them alike.
	roots := make([]string, len(impls))
	for k, im := range impls {
		roots[k] = filepath.Join(cfg.Work, fmt.Sprintf("impl%d", k), "Maildir")
		os.RemoveAll(filepath.Dir(roots[k]))
		if err := os.MkdirAll(filepath.Dir(roots[k]), 0o700); err != nil {
			return nil, err
		}
		defer os.RemoveAll(filepath.Dir(roots[k]))
		t0 := time.Now()
		if err := populate(roots[k], cfg.N); err != nil {
			return nil, fmt.Errorf("populate: %w", err)
		}
		fmt.Fprintf(cfg.Log, "%s: %d messages written in %v\n", im.name, cfg.N, time.Since(t0).Round(time.Millisecond))
		res[im.name] = map[string][]time.Duration{}
	}
	// A folder is not opened within the same second it was filled; our
	// snapshot cache also ignores "racy" (< 2 s old) directory mtimes.
	time.Sleep(cfg.Settle)
	for i := 0; i < cfg.Runs; i++ {
		for k, im := range impls {
			r, err := im.run(roots[k], i)
			if err != nil {
				return res, fmt.Errorf("%s run %d: %w", im.name, i, err)
			}
			for op, d := range r {
				res[im.name][op] = append(res[im.name][op], d)
			}
			fmt.Fprintf(cfg.Log, "%s run %d: %v\n", im.name, i, r)
		}
		// The next run's first open must not see racy directories.
		time.Sleep(cfg.Settle)
	}
	return res, nil
}

// Median returns the median of ds (0 for none).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// Report renders the results as Markdown.
func Report(cfg Config, res Results) string {
	var b strings.Builder
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "Folder of %d messages; median of %d runs; times are command-to-tagged-reply (IMAP) or call time (API).\n", cfg.N, cfg.Runs)
	if cfg.CourierAppendSample > 0 && cfg.CourierAppendSample < cfg.Batch && cfg.CourierBin != "" {
		fmt.Fprintf(&b, "Courier's append %d: %d APPENDs timed, scaled by %d/%d.\n", cfg.Batch, cfg.CourierAppendSample, cfg.Batch, cfg.CourierAppendSample)
	}
	b.WriteString("\n")
	b.WriteString("| operation |")
	for _, n := range names {
		b.WriteString(" " + n + " |")
	}
	b.WriteString(" Courier / our imapd |\n|---|")
	for range names {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, op := range Ops {
		fmt.Fprintf(&b, "| %s |", op)
		for _, n := range names {
			fmt.Fprintf(&b, " %s |", ms(Median(res[n][op])))
		}
		c, o := Median(res["Courier 5.0.13 imapd"][op]), Median(res["our imapd"][op])
		if c > 0 && o > 0 {
			fmt.Fprintf(&b, " %.1fx |\n", float64(c)/float64(o))
		} else {
			b.WriteString(" - |\n")
		}
	}
	return b.String()
}

func main() {
	n := flag.Int("n", 100000, "messages in the folder")
	runs := flag.Int("runs", 3, "runs (median)")
	batch := flag.Int("batch", 1000, "appends/expunges per operation")
	work := flag.String("work", "", "scratch directory (default: a temp dir)")
	courier := flag.String("courier", "/opt/courier-ref/root/usr/bin/imapd", "Courier's imapd (empty: skip)")
	ours := flag.String("ours", "", "our imapd binary (default: build ./imapd with CGO_ENABLED=0)")
	out := flag.String("out", "", "write the Markdown table to this file too")
	sample := flag.Int("courier-append-sample", 0, "time only N of Courier's appends and scale to -batch (0: all)")
	apiOnly := flag.Bool("api", false, "measure only our storage API")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *work == "" {
		d, err := os.MkdirTemp("", "storagebench")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*work = d
	}
	if *apiOnly {
		*courier, *ours = "-", "-"
	}
	if *ours == "" {
		*ours = filepath.Join(*work, "imapd")
		b := exec.Command("go", "build", "-o", *ours, "./imapd")
		b.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := b.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build ./imapd: %v\n%s", err, o)
			os.Exit(1)
		}
	}
	if *ours == "-" {
		*ours = ""
	}
	if *courier == "-" {
		*courier = ""
	} else if _, err := os.Stat(*courier); err != nil {
		fmt.Fprintf(os.Stderr, "Courier imapd not available (%v); measuring ours only\n", err)
		*courier = ""
	}
	cfg := Config{N: *n, Batch: *batch, Runs: *runs, Work: *work, CourierBin: *courier, OursBin: *ours, CourierAppendSample: *sample, Settle: 2500 * time.Millisecond, Log: os.Stderr}
	res, err := Run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	rep := Report(cfg, res)
	writeJSON(cfg, res)
	fmt.Print(rep)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(rep), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
