package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocourier/bench/procfs"
	"gocourier/internal/msggen"
)

// params sizes the workloads; smoke mode shrinks every number.
type params struct {
	runs        int
	loginDur    time.Duration
	loginMax    int // cap on logins per measurement
	sessions    int // idle sessions for the memory test
	smallMsgs   int
	bigMsgs     int
	bigMaxSize  int
	appendMsgs  int
	popMsgs     int
	idleSamples int
	seed        int64
	tlsMsgs     int           // messages of the bulk TLS FETCH data set
	tlsMaxSize  int           // their largest size
	stressN     int           // clients of the stress workload
	stressDur   time.Duration // its length
	stressMax   int           // cap on commands per client
	// retrLimit and appendLimit bound the RETR loop and the APPEND loop;
	// the rate is computed on what was done in that time (Courier's RETR
	// costs ~40 ms a message, its APPEND ~150 ms into the big folder).
	retrLimit   time.Duration
	appendLimit time.Duration
	// storage workload (issue 3): folder size, APPEND/EXPUNGE batch,
	// Courier's timed APPEND sample (scaled to the batch).
	storageMsgs, storageBatch, storageSample int
}

// fullParams are the figures of record. The time bounds keep a full run
// of all three servers (3 runs, cold data) near 20 minutes on 2 cores
// (issue 8: well under 30) while every rate still rests on hundreds of
// operations: 3 s login loops (300+ logins at 100/s), 10 s of stress
// (thousands of commands), RETR for 20 s (Courier's ~40 ms a message:
// ~500 messages; the others finish all 5,000), APPEND for 15 s (100+
// for Courier, whose cost per APPEND is constant, so the rate holds).
// The storage workload keeps issue 3's 100,000-message folder but APPENDs
// and EXPUNGEs 1,000 messages, as issue #3 asks: ours APPENDs all 1,000
// (an fsync or two each, about 30 s per run), Courier, which rewrites its
// 100,000-line UID database per APPEND, is timed on 10 and the rate
// scaled (the APPEND rate does not depend on the batch; the EXPUNGE time
// does, since a rescan is a fixed cost beside the per-message work).
func fullParams() params {
	return params{runs: 3, loginDur: 3 * time.Second, loginMax: 20000, sessions: 50, smallMsgs: 100,
		bigMsgs: 20000, bigMaxSize: 10 << 20, appendMsgs: 1000, popMsgs: 5000, idleSamples: 5, seed: 1,
		tlsMsgs: 1500, tlsMaxSize: 1 << 20, stressN: 8, stressDur: 10 * time.Second, stressMax: 50000,
		retrLimit: 20 * time.Second, appendLimit: 15 * time.Second,
		storageMsgs: 100000, storageBatch: 1000, storageSample: 10}
}

func smokeParams() params {
	return params{runs: 1, loginDur: 300 * time.Millisecond, loginMax: 200, sessions: 3, smallMsgs: 10,
		bigMsgs: 60, bigMaxSize: 256 << 10, appendMsgs: 10, popMsgs: 20, idleSamples: 1, seed: 1,
		tlsMsgs: 30, tlsMaxSize: 256 << 10, stressN: 2, stressDur: 3 * time.Second, stressMax: 5000,
		retrLimit: 10 * time.Second, appendLimit: 10 * time.Second,
		storageMsgs: 200, storageBatch: 10, storageSample: 5}
}

// metric describes one reported figure.
type metric struct {
	group, key, label, unit string
	higherBetter            bool
}

var metrics = []metric{
	{"login", "login1", "IMAP connect+LOGIN+LOGOUT, 1 client", "logins/s", true},
	{"login", "login8", "IMAP connect+LOGIN+LOGOUT, 8 clients", "logins/s", true},
	{"login", "logincpu", "CPU time per IMAP login, 1 client (all server processes)", "ms", false},
	{"memory", "privdirty", "Private_Dirty per idle session (LOGIN+SELECT)", "KiB", false},
	{"memory", "private", "Private_Clean+Private_Dirty per idle session", "KiB", false},
	{"memory", "pss", "Pss per idle session", "KiB", false},
	{"memory", "rssanon", "RssAnon per idle session", "KiB", false},
	{"memory", "threads", "threads per session", "threads", false},
	{"memory", "procs", "processes per session", "procs", false},
	{"mailbox", "select1", "first SELECT (no caches)", "ms", false},
	{"mailbox", "select2", "second SELECT", "ms", false},
	{"mailbox", "uidfetch", "UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE)", "ms", false},
	{"mailbox", "fetchenv", "FETCH 1:500 (ENVELOPE BODYSTRUCTURE)", "ms", false},
	{"mailbox", "searchbody", "SEARCH BODY <rare word>", "ms", false},
	{"mailbox", "sortdate", "SORT (DATE) UTF-8 ALL", "ms", false},
	{"mailbox", "thread", "THREAD REFERENCES UTF-8 ALL", "ms", false},
	{"mailbox", "append", "APPEND (sequential)", "msgs/s", true},
	{"pop3", "poplogin", "POP3 USER+PASS on the big maildrop", "ms", false},
	{"pop3", "uidl", "POP3 UIDL", "ms", false},
	{"pop3", "retr", "POP3 RETR of every message", "MB/s", true},
	{"pop3login", "poplogins1", "POP3 connect+USER+PASS+QUIT, 1 client", "logins/s", true},
	{"pop3login", "poplogins8", "POP3 connect+USER+PASS+QUIT, 8 clients, 8 accounts", "logins/s", true},
	{"pop3login", "poplogincpu", "CPU time per POP3 login, 1 client (all server processes)", "ms", false},
	{"idle", "idlelat", "IDLE: delivery to untagged EXISTS", "ms", false},
	{"tls", "tlslogin1", "implicit TLS: connect+handshake+LOGIN+LOGOUT, 1 client", "logins/s", true},
	{"tls", "tlslogin8", "implicit TLS: connect+handshake+LOGIN+LOGOUT, 8 clients", "logins/s", true},
	{"tls", "tlslogincpu", "CPU time per implicit-TLS login, 1 client (all server processes)", "ms", false},
	{"tls", "tlsfetch", "implicit TLS: FETCH 1:* BODY.PEEK[]", "MB/s", true},
	{"stress", "stressops", "mixed commands, shared mailbox, all clients", "cmds/s", true},
	{"storage", "stfirst", "big folder: first SELECT (no UID database, no cache)", "ms", false},
	{"storage", "streopen", "big folder: SELECT again, nothing changed", "ms", false},
	{"storage", "streopen10", "big folder: SELECT after 10 deliveries", "ms", false},
	{"storage", "stappend", "big folder: APPEND (sequential)", "msgs/s", true},
	{"storage", "stexpunge", "big folder: UID STORE +FLAGS (\\Deleted) + EXPUNGE of the batch", "ms", false},
}

// workload is one named, separately runnable measurement.
type workload struct {
	name    string
	dataset func(p params) dataset
	run     func(w *wctx) (map[string]float64, error)
	// all, when set, replaces dataset and run: the workload measures
	// every server in one go (storage: bench/storage interleaves its own
	// runs) and returns each server's samples, one map per run
	all func(e *benchEnv, p params, srvs []*server, logf func(string, ...any)) (map[string][]map[string]float64, error)
}

type dataset struct {
	name    string
	n       int
	maxSize int
}

type wctx struct {
	e   *benchEnv
	p   params
	r   *running
	srv *server
}

var workloads = []workload{
	{"login", smallSet, runLogin, nil},
	{"memory", smallSet, runMemory, nil},
	{"mailbox", func(p params) dataset { return dataset{"big", p.bigMsgs, p.bigMaxSize} }, runMailbox, nil},
	{"pop3", func(p params) dataset { return dataset{"pop", p.popMsgs, p.bigMaxSize} }, runPOP3, nil},
	{"pop3login", smallSet, runPOP3Login, nil},
	{"idle", smallSet, runIdle, nil},
	{"tls", func(p params) dataset { return dataset{"tls", p.tlsMsgs, p.tlsMaxSize} }, runTLS, nil},
	{"stress", smallSet, runStress, nil},
	{name: "storage", all: runStorage},
}

func smallSet(p params) dataset { return dataset{"small", p.smallMsgs, 256 << 10} }

const ioTimeout = 120 * time.Second

func (w *wctx) login() (*imapConn, error) { return w.loginSize(bulkBuf) }

// loginSize logs in on a connection with a read buffer of size bytes.
func (w *wctx) loginSize(size int) (*imapConn, error) {
	c, err := dialIMAPBuf(w.r.imap, ioTimeout, size)
	if err != nil {
		return nil, err
	}
	if err := c.login(w.e.user, w.e.pass); err != nil {
		c.Close()
		return nil, fmt.Errorf("LOGIN: %w", err)
	}
	return c, nil
}

// loginLoop runs `clients` goroutines doing fn until dur or max is reached;
// it returns completed operations per second.
// fn gets the number of the client (0..clients-1) calling it.
func loginLoop(clients int, dur time.Duration, max int, fn func(client int) error) (float64, error) {
	var done, failed atomic.Int64
	var firstErr error
	var once sync.Once
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(client int) {
			defer wg.Done()
			for time.Now().Before(deadline) && done.Load()+failed.Load() < int64(max) {
				if err := fn(client); err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
					if failed.Load() > 20 {
						return
					}
					continue
				}
				done.Add(1)
			}
		}(i)
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	if done.Load() == 0 {
		return 0, fmt.Errorf("no successful operation: %w", firstErr)
	}
	if failed.Load() > done.Load()/100 {
		return 0, fmt.Errorf("%d of %d failed, first: %w", failed.Load(), failed.Load()+done.Load(), firstErr)
	}
	return float64(done.Load()) / el, nil
}

func runLogin(w *wctx) (map[string]float64, error) {
	out := map[string]float64{}
	return out, loginRates(w, out, "login", func() (*imapConn, error) { return w.loginSize(loginBuf) })
}

// loginRates measures connect+LOGIN+LOGOUT per second with 1 and 8
// clients, dialling with dial, into out[key+"1"] and out[key+"8"].
func loginRates(w *wctx, out map[string]float64, key string, dial func() (*imapConn, error)) error {
	one := func(int) error {
		c, err := dial()
		if err != nil {
			return err
		}
		return c.logout()
	}
	for _, n := range []int{1, 8} {
		v, cpu, err := w.loginLoopCPU(n, one)
		if err != nil {
			return fmt.Errorf("%d clients: %w", n, err)
		}
		out[key+strconv.Itoa(n)] = v
		if n == 1 {
			out[key+"cpu"] = cpu
		}
	}
	return nil
}

// loginLoopCPU runs loginLoop and also returns the server's CPU ms per
// successful operation over the loop (utime+stime of its processes and
// their reaped children, from /proc, as bench/session did).
func (w *wctx) loginLoopCPU(clients int, fn func(client int) error) (rate, cpuPer float64, err error) {
	var ok atomic.Int64
	count := func(c int) error {
		err := fn(c)
		if err == nil {
			ok.Add(1)
		}
		return err
	}
	roots := w.r.cpuRoots()
	cpu0 := procfs.TreeCPU(roots)
	rate, err = loginLoop(clients, w.p.loginDur, w.p.loginMax, count)
	// the last session's processes exit after the client saw the
	// LOGOUT/QUIT answer: let them be reaped
	time.Sleep(200 * time.Millisecond)
	if n := ok.Load(); n > 0 {
		cpuPer = (procfs.TreeCPU(roots) - cpu0) / float64(n)
	}
	return rate, cpuPer, err
}

// runPOP3Login measures POP3 logins. A POP3 maildrop admits one session
// at a time (RFC 1939 §8; ours answers [IN-USE] as required), so with 8
// clients each client logs in to its own account (e.popUsers, each with
// its own copy of the maildrop), for every server alike.
func runPOP3Login(w *wctx) (map[string]float64, error) {
	if w.r.pop3 == "" {
		return nil, errors.New(w.r.noPOP3)
	}
	if err := preparePOPUsers(w.e); err != nil {
		return nil, fmt.Errorf("prepare POP3 accounts: %w", err)
	}
	out := map[string]float64{}
	for _, n := range []int{1, 8} {
		users := []string{w.e.user}
		if n > 1 {
			users = nil
			for _, a := range w.e.popUsers[:n] {
				users = append(users, a.user)
			}
		}
		one := func(client int) error {
			c, err := dialPOP3Buf(w.r.pop3, ioTimeout, loginBuf)
			if err != nil {
				return err
			}
			if err := c.login(users[client], w.e.pass); err != nil {
				c.c.Close()
				return err
			}
			return c.quit()
		}
		v, cpu, err := w.loginLoopCPU(n, one)
		if err != nil {
			return out, fmt.Errorf("%d clients: %w", n, err)
		}
		out["poplogins"+strconv.Itoa(n)] = v
		if n == 1 {
			out["poplogincpu"] = cpu
		}
	}
	return out, nil
}

// preparePOPUsers gives each extra POP3 account a fresh hard-linked copy
// of the account's maildir (just prepared from the master).
func preparePOPUsers(e *benchEnv) error {
	for _, a := range e.popUsers {
		if err := os.RemoveAll(a.home); err != nil {
			return err
		}
		if err := os.MkdirAll(a.home, 0o755); err != nil {
			return err
		}
		if _, err := runCmd(nil, "cp", "-al", e.maildir, a.maildir); err != nil {
			return err
		}
		if err := chownDirsUnder(a.home, e.uid, e.gid); err != nil {
			return err
		}
	}
	return nil
}

// runMemory logs in p.sessions sessions, SELECTs INBOX in each, then sums
// /proc/<pid>/smaps_rollup over the session processes: the descendants of
// the started server processes that run as the mail user.
func runMemory(w *wctx) (map[string]float64, error) {
	var conns []*imapConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < w.p.sessions; i++ {
		c, err := w.login()
		if err != nil {
			return nil, fmt.Errorf("session %d: %w", i, err)
		}
		conns = append(conns, c)
		if _, err := c.cmd("SELECT INBOX"); err != nil {
			return nil, fmt.Errorf("session %d SELECT: %w", i, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	roots := map[int]bool{}
	var pids []int
	for _, rp := range w.r.rootPids() {
		roots[rp] = true
		pids = append(pids, descendants(rp)...)
	}
	info := map[int]procInfo{}
	for _, p := range listProcs() {
		info[p.pid] = p
	}
	var dirty, priv, pss, anon, threads float64
	n := 0
	for _, pid := range pids {
		pi, ok := info[pid]
		if !ok || roots[pid] || pi.uid != w.e.uid || pi.comm == "sh" {
			continue
		}
		sm, err := procfs.Fields(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		dirty += sm["Private_Dirty"]
		priv += sm["Private_Clean"] + sm["Private_Dirty"]
		pss += sm["Pss"]
		if st, err := procfs.Fields(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			anon += st["RssAnon"]
			threads += st["Threads"]
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("no session process found (uid filter)")
	}
	s := float64(w.p.sessions)
	for _, c := range conns {
		_ = c.logout()
	}
	conns = nil
	return map[string]float64{"privdirty": dirty / s, "private": priv / s, "pss": pss / s, "rssanon": anon / s,
		"threads": threads / s, "procs": float64(n) / s}, nil
}

func timed(f func() error) (float64, error) {
	t := time.Now()
	err := f()
	return float64(time.Since(t).Microseconds()) / 1000, err
}

func runMailbox(w *wctx) (map[string]float64, error) {
	out := map[string]float64{}
	c, err := w.login()
	if err != nil {
		return nil, err
	}
	if out["select1"], err = timed(func() error { _, err := c.cmd("SELECT INBOX"); return err }); err != nil {
		return out, fmt.Errorf("first SELECT: %w", err)
	}
	_ = c.logout()
	if c, err = w.login(); err != nil {
		return out, err
	}
	defer c.Close()
	steps := []struct{ key, cmd string }{
		{"select2", "SELECT INBOX"},
		{"uidfetch", "UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE)"},
		{"fetchenv", fmt.Sprintf("FETCH 1:%d (ENVELOPE BODYSTRUCTURE)", min(500, w.p.bigMsgs))},
		{"searchbody", "SEARCH BODY " + msggen.RareWord},
		{"sortdate", "SORT (DATE) UTF-8 ALL"},
		{"thread", "THREAD REFERENCES UTF-8 ALL"},
	}
	for _, s := range steps {
		v, err := timed(func() error { _, err := c.cmd("%s", s.cmd); return err })
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.cmd, err)
		}
		if s.key == "searchbody" && len(strings.Fields(c.last)) < 3 {
			return out, fmt.Errorf("SEARCH BODY found nothing: %q", c.last)
		}
		out[s.key] = v
	}
	// APPEND: a fixed set of messages from another seed.
	g := msggen.New(w.p.seed+1000, msggen.Options{MaxSize: 256 << 10})
	msgs := make([][]byte, w.p.appendMsgs)
	for i := range msgs {
		var b bytes.Buffer
		if _, err := g.Next().WriteTo(&b); err != nil {
			return out, err
		}
		msgs[i] = b.Bytes()
	}
	// bounded in time: Courier rewrites its UID database on every
	// APPEND, so a 20,000-message folder takes about 0.5 s per message
	limit := time.Now().Add(w.p.appendLimit)
	done := 0
	el, err := timed(func() error {
		for i, m := range msgs {
			if time.Now().After(limit) {
				break
			}
			if err := c.appendMsg("INBOX", m); err != nil {
				return fmt.Errorf("APPEND %d: %w", i, err)
			}
			done++
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	out["append"] = float64(done) / (el / 1000)
	_ = c.logout()
	return out, nil
}

func runPOP3(w *wctx) (map[string]float64, error) {
	if w.r.pop3 == "" {
		return nil, errors.New(w.r.noPOP3)
	}
	out := map[string]float64{}
	c, err := dialPOP3(w.r.pop3, ioTimeout)
	if err != nil {
		return nil, err
	}
	defer c.c.Close()
	if out["poplogin"], err = timed(func() error { return c.login(w.e.user, w.e.pass) }); err != nil {
		return out, fmt.Errorf("login: %w", err)
	}
	var n int
	if out["uidl"], err = timed(func() error { _, n, err = c.cmd(true, "UIDL"); return err }); err != nil {
		return out, fmt.Errorf("UIDL: %w", err)
	}
	if n != w.p.popMsgs {
		return out, fmt.Errorf("UIDL listed %d messages, want %d", n, w.p.popMsgs)
	}
	c.bytesIn = 0
	// bounded: a slow server is measured on the messages it managed
	limit := time.Now().Add(w.p.retrLimit)
	el, err := timed(func() error {
		for i := 1; i <= n && time.Now().Before(limit); i++ {
			if _, _, err := c.cmd(true, "RETR %d", i); err != nil {
				return fmt.Errorf("RETR %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	out["retr"] = float64(c.bytesIn) / 1e6 / (el / 1000)
	_ = c.quit()
	return out, nil
}

// runIdle measures the time from a delivery (a file renamed into new/, as
// an MDA does) to the untagged EXISTS in an IDLE session.
func runIdle(w *wctx) (map[string]float64, error) {
	c, err := w.login()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		return nil, err
	}
	g := msggen.New(w.p.seed+2000, msggen.Options{MaxSize: 8 << 10})
	var samples []float64
	for i := 0; i < w.p.idleSamples; i++ {
		tag := c.nextTag()
		_ = c.c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c.c, "%s IDLE\r\n", tag)
		line, err := c.readLine()
		if err != nil || !strings.HasPrefix(line, "+") {
			return nil, fmt.Errorf("IDLE: %q %v", line, err)
		}
		time.Sleep(300 * time.Millisecond) // let the server arm its watch
		m := g.Next()
		t0, err := deliver(w.e, m)
		if err != nil {
			return nil, err
		}
		for {
			line, err := c.readLine()
			if err != nil {
				return nil, fmt.Errorf("waiting for EXISTS: %w", err)
			}
			if strings.HasPrefix(line, "* ") && strings.HasSuffix(line, " EXISTS") {
				samples = append(samples, float64(time.Since(t0).Microseconds())/1000)
				break
			}
		}
		fmt.Fprintf(c.c, "DONE\r\n")
		if _, err := c.readTagged(tag); err != nil {
			return nil, err
		}
	}
	_ = c.logout()
	return map[string]float64{"idlelat": median(samples)}, nil
}

// deliver writes m into tmp/ and renames it into new/ (the Maildir
// delivery protocol), owned by the mail user; it returns the rename time.
func deliver(e *benchEnv, m *msggen.Message) (time.Time, error) {
	name := fmt.Sprintf("%d.M%dP%d.bench-deliver", time.Now().Unix(), time.Now().Nanosecond()/1000, os.Getpid())
	tmp := filepath.Join(e.maildir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return time.Time{}, err
	}
	size, err := m.WriteTo(f)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return time.Time{}, err
	}
	_ = os.Chown(tmp, e.uid, e.gid)
	t0 := time.Now()
	if err := os.Rename(tmp, filepath.Join(e.maildir, "new", name+",S="+strconv.FormatInt(size, 10))); err != nil {
		return time.Time{}, err
	}
	return t0, nil
}

// ---- data sets ----

// masterMaildir returns (building once) the seeded master copy of a data
// set; every run gets a hard-linked copy of it, so all servers read the
// same bytes and no run sees another's caches.
func masterMaildir(e *benchEnv, p params, d dataset) (string, error) {
	dir := filepath.Join(e.work, "data", fmt.Sprintf("%s-s%d-n%d-m%d", d.name, p.seed, d.n, d.maxSize))
	stamp := filepath.Join(dir, "complete")
	if fileExists(stamp) {
		return filepath.Join(dir, "Maildir"), nil
	}
	_ = os.RemoveAll(dir)
	md := filepath.Join(dir, "Maildir")
	newCount := d.n / 100
	opt := msggen.Options{MaxSize: d.maxSize}
	linked := false
	if src, err := prefixSource(filepath.Join(e.work, "data"), p.seed, d.n, d.maxSize); err == nil {
		if err := linkPrefixSet(src, md, d.n, newCount, p.seed, opt); err == nil {
			linked = true
		} else {
			_ = os.RemoveAll(md)
		}
	}
	if !linked {
		if err := writeMaildirParallel(md, d.n, newCount, p.seed, opt, runtime.NumCPU()); err != nil {
			return "", err
		}
	}
	if err := chownTree(dir, e.uid, e.gid); err != nil {
		return "", err
	}
	if err := os.WriteFile(stamp, []byte("ok\n"), 0o644); err != nil {
		return "", err
	}
	return md, nil
}

func chownTree(dir string, uid, gid int) error {
	if os.Getuid() != 0 {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// prepareMaildir replaces the account's home with a fresh hard-linked
// copy of master.
func prepareMaildir(e *benchEnv, master string) error {
	if err := os.RemoveAll(e.home); err != nil {
		return err
	}
	if err := os.MkdirAll(e.home, 0o755); err != nil {
		return err
	}
	if _, err := runCmd(nil, "cp", "-al", master, e.maildir); err != nil {
		return err
	}
	return chownDirsUnder(e.home, e.uid, e.gid)
}

// chownDirsUnder gives the directories (not the shared, linked files) to
// the mail user; the files already belong to it in the master copy.
func chownDirsUnder(home string, uid, gid int) error {
	if os.Getuid() != 0 {
		return nil
	}
	return filepath.Walk(home, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return os.Lchown(p, uid, gid)
		}
		return nil
	})
}
