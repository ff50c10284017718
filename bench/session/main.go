// Command session measures the two session-stage figures of issue 2 for
// our chain (couriertcpd -> imaplogin -> authdaemond -> imapd) and, when
// scripts/courier-ref.sh has installed it, real Courier-IMAP 5.0.13.
// The figures of record are the harness's (go run ./bench login memory:
// the same CPU ms per login and per-session memory, with Dovecot too);
// this command stays as the diagnostic tool around them: -keep leaves the
// servers up for profiling, -overlay/-label measure a before/after pair of
// our builds, -hash picks the userdb password scheme, -env experiments.
//
//   - logins per second: connect, read the greeting, LOGIN, LOGOUT, in a
//     loop for -dur with 1 and with 8 concurrent clients;
//   - CPU ms per login (1 client): utime+stime of the server's long-lived
//     processes, their reaped children (the imaplogin->imapd chain) and
//     live descendants (authdaemond workers), from /proc/<pid>/stat;
//     steadier than logins/s on a shared machine;
//   - private memory per idle logged-in session: -sessions connections
//     each LOGIN + SELECT INBOX, idle -idle, then the sum over the session
//     processes (descendants of couriertcpd running as the mail uid) of
//     Private_Clean+Private_Dirty and Pss from /proc/<pid>/smaps_rollup,
//     RssAnon and Threads from /proc/<pid>/status.
//
// Invariants: everything listens on 127.0.0.1 on ports chosen by the
// kernel; every loop is bounded in count and time; both servers get the
// same account, password hash scheme (-hash, default sha512-crypt with
// the default 5000 rounds, as userdbpw/openssl make them) and Maildir.
// Our binaries are built from the working tree with CGO_ENABLED=0 and the
// Makefile's -trimpath -s -w unless -prefix names an installed tree.
//
// Needs root (the login stages change uid). Usage:
//
//	go run ./bench/session [-servers ours,courier] [-dur 5s] [-sessions 50]
//	go run ./bench/session -servers ours -label before -overlay ov.json  # a before/after pair
//	go run ./bench/session -servers ours -keep ...  # leave it running for profiling
//
// The diagnostic imapd build (go build -tags memprof ./imapd, see
// imapd/memprof.go) dumps runtime/metrics, a heap profile and goroutines
// on SIGUSR2 when IMAPD_MEMPROFILE is set.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocourier/bench/procfs"
)

var (
	flagServers  = flag.String("servers", "ours,courier", "comma-separated: ours, courier")
	flagDur      = flag.Duration("dur", 5*time.Second, "length of each logins/s loop")
	flagSessions = flag.Int("sessions", 50, "idle sessions for the memory figure")
	flagIdle     = flag.Duration("idle", 2*time.Second, "idle time before reading /proc")
	flagPrefix   = flag.String("prefix", "", "installed tree of ours (default: build from the working tree)")
	flagWork     = flag.String("work", "", "scratch directory (default: a new temp dir, removed at the end)")
	flagHash     = flag.String("hash", "sha512", "password hash scheme in the userdb: sha512 or md5")
	flagUser     = flag.String("user", "cbench", "account name (uid/gid from the passwd entry if it exists, else -uid)")
	flagUID      = flag.Int("uid", 5000, "uid/gid when -user has no passwd entry")
	flagMsgs     = flag.Int("msgs", 100, "messages in INBOX")
	flagOnly     = flag.String("only", "login,memory", "figures: login, memory")
	flagKeep     = flag.Bool("keep", false, "leave the servers running until Enter is read on stdin (for profiling)")
	flagOverlay  = flag.String("overlay", "", "go build -overlay file for our binaries (e.g. to measure a before/after pair)")
	flagLabel    = flag.String("label", "ours", "name of our build in the table")
	flagEnv      = flag.String("env", "", "extra NAME=value,... in our couriertcpd's environment (experiments)")
)

const password = "Sessi0n-bench"

type account struct {
	user, home, maildir string
	uid, gid            int
	hash                string
}

type result struct {
	server          string
	login1, login8  float64
	cpuPerLogin     float64 // ms of CPU (all server processes) per login
	privKB, pssKB   float64
	anonKB, threads float64
	procs           int
	err             []string
}

func main() {
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "session: needs root (the login stages change uid)")
		os.Exit(2)
	}
	work := *flagWork
	if work == "" {
		d, err := os.MkdirTemp("", "session-bench-")
		check(err)
		work = d
		defer os.RemoveAll(d)
	}
	check(os.Chmod(work, 0o755))
	acct := setupAccount(work)
	var results []result
	for _, s := range strings.Split(*flagServers, ",") {
		var r result
		switch strings.TrimSpace(s) {
		case "ours":
			r = runOurs(work, acct)
		case "courier":
			r = runCourier(work, acct)
		default:
			fmt.Fprintf(os.Stderr, "unknown server %q\n", s)
			continue
		}
		results = append(results, r)
	}
	fmt.Println()
	fmt.Println("| server | logins/s 1 client | logins/s 8 clients | CPU ms/login (1 client) | private kB/session | Pss kB/session | RssAnon kB/session | threads/session | procs |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %.1f | %.1f | %.2f | %.0f | %.0f | %.0f | %.1f | %d |\n", r.server, r.login1, r.login8, r.cpuPerLogin, r.privKB, r.pssKB, r.anonKB, r.threads, r.procs)
	}
	for _, r := range results {
		for _, e := range r.err {
			fmt.Printf("* %s: %s\n", r.server, e)
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "session:", err)
		os.Exit(1)
	}
}

func run(env []string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

var baseEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}

// setupAccount makes home/Maildir with -msgs small messages owned by the
// account, and the password hash.
func setupAccount(work string) account {
	a := account{user: *flagUser, uid: *flagUID, gid: *flagUID}
	if out, err := run(nil, "id", "-u", a.user); err == nil {
		a.uid, _ = strconv.Atoi(strings.TrimSpace(out))
		out, _ = run(nil, "id", "-g", a.user)
		a.gid, _ = strconv.Atoi(strings.TrimSpace(out))
	}
	a.home = filepath.Join(work, "home")
	a.maildir = filepath.Join(a.home, "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		check(os.MkdirAll(filepath.Join(a.maildir, d), 0o700))
	}
	now := time.Now().Unix()
	for i := 0; i < *flagMsgs; i++ {
		body := fmt.Sprintf("From: a%d@example.com\r\nTo: %s@example.com\r\nSubject: message %d\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@bench>\r\n\r\n%s\r\n",
			i, a.user, i, i, strings.Repeat("hello world ", 100))
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", now-int64(i), i, len(body))
		check(os.WriteFile(filepath.Join(a.maildir, "cur", name), []byte(body), 0o600))
	}
	check(filepath.Walk(a.home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, a.uid, a.gid)
	}))
	flag := "-6"
	if *flagHash == "md5" {
		flag = "-1"
	}
	out, err := run(nil, "openssl", "passwd", flag, password)
	check(err)
	a.hash = strings.TrimSpace(out)
	return a
}

// ---- servers ----

type chain struct {
	addr string
	// cpuRoots are the long-lived server processes whose CPU time, with
	// that of their reaped children (the session chain) and live
	// descendants, is the server's cost of a login.
	cpuRoots []int
	procs    []*exec.Cmd
	stop     []func()
	tcpd     *exec.Cmd
}

func (c *chain) start(env []string, logf string, argv ...string) (*exec.Cmd, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	f, err := os.OpenFile(logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.procs = append(c.procs, cmd)
	return cmd, nil
}

func (c *chain) shutdown() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for _, f := range c.stop {
		f()
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shellEnv sources config files with set -a like the rc scripts, applies
// overrides, then execs argv.
func shellEnv(confs []string, ov map[string]string, argv ...string) []string {
	var b strings.Builder
	b.WriteString("set -a; ")
	for _, c := range confs {
		fmt.Fprintf(&b, ". %s; ", shq(c))
	}
	keys := make([]string, 0, len(ov))
	for k := range ov {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s; ", k, shq(ov[k]))
	}
	b.WriteString(`exec "$@"`)
	return append([]string{"/bin/sh", "-c", b.String(), "sh"}, argv...)
}

func waitGreeting(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			l, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(l, "* OK") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no greeting on %s after %v", addr, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func repoRoot() string {
	out, err := run(nil, "go", "env", "GOMOD")
	check(err)
	return filepath.Dir(strings.TrimSpace(out))
}

func runOurs(work string, a account) result {
	res := result{server: *flagLabel}
	dir := filepath.Join(work, "ours")
	bin := *flagPrefix
	repo := repoRoot()
	if bin == "" {
		bin = filepath.Join(dir, "inst")
		for _, p := range [][2]string{{"sbin/couriertcpd", "./tcpd"}, {"sbin/authdaemond", "./authd"}, {"sbin/imaplogin", "./imapd/imaplogin"}, {"bin/imapd", "./imapd"}} {
			args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(bin, p[0])}
			if *flagOverlay != "" {
				args = append(args, "-overlay", *flagOverlay)
			}
			cmd := exec.Command("go", append(args, p[1])...)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				res.err = append(res.err, fmt.Sprintf("build %s: %v: %s", p[1], err, out))
				return res
			}
		}
	}
	etc, vardir := filepath.Join(dir, "etc"), filepath.Join(dir, "var")
	check(os.MkdirAll(etc, 0o755))
	check(os.MkdirAll(vardir, 0o750))
	userdb := filepath.Join(etc, "userdb")
	line := fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=%s\n", a.user, a.uid, a.gid, a.home, a.maildir, a.hash)
	check(os.WriteFile(userdb, []byte(line), 0o600))
	rc := fmt.Sprintf("authmodulelist=\"authuserdb\"\nauthmodulelistorig=\"authuserdb\"\ndaemons=5\nauthdaemonvar=%s\nUSERDB=%s\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=\"\"\nLOGGEROPTS=\"\"\n", vardir, userdb)
	check(os.WriteFile(filepath.Join(etc, "authdaemonrc"), []byte(rc), 0o644))
	sock := filepath.Join(vardir, "socket")
	authEnv := append(append([]string{}, baseEnv...), "AUTHDAEMONRC="+filepath.Join(etc, "authdaemonrc"),
		"AUTHDAEMONVAR="+vardir, "AUTHDAEMONSOCK="+sock)
	if mk := filepath.Join(bin, "sbin/makeuserdb"); fileExists(mk) {
		_, _ = run(append(authEnv, "USERDB="+userdb), mk)
	}
	c := &chain{}
	defer c.shutdown()
	logf := filepath.Join(work, "ours.log")
	if _, err := c.start(authEnv, logf, filepath.Join(bin, "sbin/authdaemond"), "-f"); err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	for i := 0; i < 100 && !fileExists(sock); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	port := freePort()
	c.addr = fmt.Sprintf("127.0.0.1:%d", port)
	conf := filepath.Join(repo, "etc", "imapd.dist")
	ov := map[string]string{"AUTHDAEMONSOCK": sock, "AUTHDAEMONVAR": vardir, "AUTHDAEMONRC": filepath.Join(etc, "authdaemonrc")}
	for _, kv := range strings.Split(*flagEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			ov[k] = v
		}
	}
	argv := shellEnv([]string{conf}, ov, filepath.Join(bin, "sbin/couriertcpd"), "-nodnslookup", "-noidentlookup",
		"-address=127.0.0.1", "-maxprocs=400", "-maxperip=400", strconv.Itoa(port),
		filepath.Join(bin, "sbin/imaplogin"), filepath.Join(bin, "bin/imapd"), "Maildir")
	tcpd, err := c.start(baseEnv, logf, argv...)
	if err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	c.tcpd = tcpd
	c.cpuRoots = []int{tcpd.Process.Pid, c.procs[0].Process.Pid}
	if err := waitGreeting(c.addr, 5*time.Second); err != nil {
		res.err = append(res.err, err.Error()+" (see "+logf+")")
		return res
	}
	measure(&res, c, a)
	return res
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func runCourier(work string, a account) result {
	res := result{server: "courier"}
	repo := repoRoot()
	script := filepath.Join(repo, "scripts", "courier-ref.sh")
	if _, err := run(nil, script, "check"); err != nil {
		res.err = append(res.err, "not installed (scripts/courier-ref.sh install)")
		return res
	}
	out, err := run(nil, script, "paths")
	check(err)
	p := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			p[k] = strings.Trim(v, `'"`)
		}
	}
	if _, err := run(nil, script, "adduser", a.user, strconv.Itoa(a.uid), strconv.Itoa(a.gid), a.home, a.maildir, password); err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	// Same hash scheme as ours (adduser stores md5).
	if _, err := run(nil, p["USERDB"], a.user, "set", "systempw="+a.hash); err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	if _, err := run(nil, p["MAKEUSERDB"]); err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	c := &chain{}
	defer c.shutdown()
	if _, err := run(nil, script, "authd-status"); err != nil {
		if _, err := run(nil, script, "authd-start"); err != nil {
			res.err = append(res.err, err.Error())
			return res
		}
		c.stop = append(c.stop, func() { run(nil, script, "authd-stop") })
	}
	port := freePort()
	c.addr = fmt.Sprintf("127.0.0.1:%d", port)
	logf := filepath.Join(work, "courier.log")
	argv := shellEnv([]string{p["IMAPD_CONF"]}, nil, p["COURIERTCPD"], "-nodnslookup", "-noidentlookup",
		"-address=127.0.0.1", "-maxprocs=400", "-maxperip=400", "-stderr="+logf, strconv.Itoa(port),
		p["IMAPLOGIN"], p["IMAPD"], "Maildir")
	tcpd, err := c.start(baseEnv, logf, argv...)
	if err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	c.tcpd = tcpd
	c.cpuRoots = []int{tcpd.Process.Pid}
	if b, err := os.ReadFile("/run/courier/authdaemon/pid"); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			c.cpuRoots = append(c.cpuRoots, pid)
		}
	}
	if err := waitGreeting(c.addr, 5*time.Second); err != nil {
		res.err = append(res.err, err.Error())
		return res
	}
	measure(&res, c, a)
	return res
}

// ---- workloads ----

func measure(res *result, c *chain, a account) {
	only := *flagOnly
	if strings.Contains(only, "login") {
		var err error
		cpu0 := procfs.TreeCPU(c.cpuRoots)
		var per0 []float64
		for _, r := range c.cpuRoots {
			per0 = append(per0, procfs.TreeCPU([]int{r}))
		}
		n0 := loginCount.Load()
		if res.login1, err = loginRate(c.addr, a, 1); err != nil {
			res.err = append(res.err, "1 client: "+err.Error())
		}
		time.Sleep(200 * time.Millisecond) // let the last sessions be reaped
		if n := loginCount.Load() - n0; n > 0 {
			res.cpuPerLogin = (procfs.TreeCPU(c.cpuRoots) - cpu0) / float64(n)
			for i, r := range c.cpuRoots {
				fmt.Fprintf(os.Stderr, "%s: CPU ms/login under pid %d: %.2f\n", res.server, r, (procfs.TreeCPU([]int{r})-per0[i])/float64(n))
			}
		}
		if res.login8, err = loginRate(c.addr, a, 8); err != nil {
			res.err = append(res.err, "8 clients: "+err.Error())
		}
		fmt.Fprintf(os.Stderr, "%s: logins/s %.1f (1), %.1f (8)\n", res.server, res.login1, res.login8)
	}
	if strings.Contains(only, "memory") {
		if err := memory(res, c, a); err != nil {
			res.err = append(res.err, "memory: "+err.Error())
		}
	}
	if *flagKeep {
		fmt.Fprintf(os.Stderr, "%s listening on %s; press Enter to stop\n", res.server, c.addr)
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	cl := &client{c: c, r: bufio.NewReader(c)}
	l, err := cl.r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(l, "* OK") {
		c.Close()
		return nil, fmt.Errorf("greeting: %q", l)
	}
	return cl, nil
}

// cmd sends a tagged command and reads up to its tagged answer, which
// must be OK.
func (cl *client) cmd(tag, line string) error {
	if _, err := fmt.Fprintf(cl.c, "%s %s\r\n", tag, line); err != nil {
		return err
	}
	for {
		l, err := cl.r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("%s: %w", line, err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				return fmt.Errorf("%s: %q", strings.Fields(line)[0], strings.TrimSpace(l))
			}
			return nil
		}
	}
}

func loginOnce(addr string, a account) error {
	cl, err := dial(addr)
	if err != nil {
		return err
	}
	defer cl.c.Close()
	if err := cl.cmd("a", fmt.Sprintf("LOGIN %s %s", a.user, password)); err != nil {
		return err
	}
	return cl.cmd("b", "LOGOUT")
}

// loginCount counts successful logins of all loops.
var loginCount atomic.Int64

func loginRate(addr string, a account, n int) (float64, error) {
	var count, fails atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(*flagDur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := loginOnce(addr, a); err != nil {
					fails.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					if fails.Load() > 20 {
						return
					}
					continue
				}
				count.Add(1)
				loginCount.Add(1)
			}
		}()
	}
	wg.Wait()
	rate := float64(count.Load()) / time.Since(start).Seconds()
	if f := fails.Load(); f > 0 {
		return rate, fmt.Errorf("%d failed, first: %v", f, firstErr.Load())
	}
	return rate, nil
}

func memory(res *result, c *chain, a account) error {
	var conns []*client
	defer func() {
		if *flagKeep {
			return // left open for inspection until the program ends
		}
		for _, cl := range conns {
			cl.c.Close()
		}
	}()
	for i := 0; i < *flagSessions; i++ {
		cl, err := dial(c.addr)
		if err != nil {
			return err
		}
		conns = append(conns, cl)
		if err := cl.cmd("a", fmt.Sprintf("LOGIN %s %s", a.user, password)); err != nil {
			return err
		}
		if err := cl.cmd("b", "SELECT INBOX"); err != nil {
			return err
		}
	}
	time.Sleep(*flagIdle)
	pids := sessionPids(c.tcpd.Process.Pid, a.uid)
	if len(pids) == 0 {
		return fmt.Errorf("no session processes found")
	}
	var priv, pss, anon, thr float64
	for _, pid := range pids {
		sm, _ := procfs.Fields(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		st, _ := procfs.Fields(fmt.Sprintf("/proc/%d/status", pid))
		priv += sm["Private_Clean"] + sm["Private_Dirty"]
		pss += sm["Pss"]
		anon += st["RssAnon"]
		thr += st["Threads"]
	}
	n := float64(*flagSessions)
	res.privKB, res.pssKB, res.anonKB, res.threads = priv/n, pss/n, anon/n, thr/n
	res.procs = len(pids)
	fmt.Fprintf(os.Stderr, "%s: %d session pids, e.g. %d; per session private %.0f kB, Pss %.0f kB, RssAnon %.0f kB, threads %.1f\n",
		res.server, len(pids), pids[0], res.privKB, res.pssKB, res.anonKB, res.threads)
	return nil
}

// sessionPids lists the descendants of root whose real uid is uid.
func sessionPids(root, uid int) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	uids := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, _ := procfs.Fields(fmt.Sprintf("/proc/%d/status", pid))
		parent[pid] = int(st["PPid"])
		uids[pid] = int(st["Uid"])
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				if uids[pid] == uid {
					out = append(out, pid)
				}
				break
			}
		}
	}
	sort.Ints(out)
	return out
}
