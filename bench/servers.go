package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// benchEnv is the account and scratch area every server is given. All
// servers serve the same user, password and Maildir path, one at a time.
type benchEnv struct {
	work    string // scratch root
	user    string
	pass    string
	uid     int
	gid     int
	home    string
	maildir string
	root    bool
	repo    string // repository root (for scripts/)
	verbose bool
	// popUsers are the extra accounts of the 8-client POP3 login test
	// (one maildrop per client; same uid, gid and password as user).
	popUsers []account
	// tlsPort, when not 0, asks start to open an implicit-TLS IMAP
	// listener there too (running.imaps), with the shared certificate.
	tlsPort int
}

// account is one extra benchmark account.
type account struct{ user, home, maildir string }

// popClients is the concurrency of the multi-client POP3 login test.
const popClients = 8

// server is one implementation under test.
type server struct {
	name        string // "courier", "dovecot", "ours"
	version     string
	unavailable string // non-empty: why it is skipped
	setup       func(e *benchEnv) error
	start       func(e *benchEnv, imapPort, popPort int) (*running, error)
	teardown    func()
	// imapd is the session-stage binary, run directly in PREAUTH mode by
	// the storage workload (bench/storage); empty: not measured there
	imapd string
}

// running is a started server: its process groups and addresses.
type running struct {
	imap, pop3 string
	imaps      string // implicit-TLS IMAP, when benchEnv.tlsPort was set
	noPOP3     string // why pop3 is empty
	procs      []*exec.Cmd
	stops      []func() // extra stop actions (daemons that fork away)
	// cpuExtra are long-lived processes the harness did not start that
	// serve this server's logins (Courier's system authdaemond); their
	// CPU counts in the CPU-per-login figure
	cpuExtra []int
}

// live holds every running server so a signal can stop them.
var live struct {
	sync.Mutex
	m map[*running]bool
}

func track(r *running) {
	live.Lock()
	defer live.Unlock()
	if live.m == nil {
		live.m = map[*running]bool{}
	}
	live.m[r] = true
}

func stopAll() {
	live.Lock()
	rs := live.m
	live.m = nil
	live.Unlock()
	for r := range rs {
		r.stop()
	}
}

// startProc starts argv in its own process group so that it and every
// child can be killed together.
func startProc(r *running, logPath string, env []string, argv ...string) (*exec.Cmd, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = f, f
		defer f.Close()
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	r.procs = append(r.procs, cmd)
	track(r)
	return cmd, nil
}

// rootPids are the pids the harness started directly.
func (r *running) rootPids() []int {
	var p []int
	for _, c := range r.procs {
		p = append(p, c.Process.Pid)
	}
	return p
}

// cpuRoots are the processes whose CPU time (with their children's) is
// the server's: the started ones and cpuExtra.
func (r *running) cpuRoots() []int { return append(r.rootPids(), r.cpuExtra...) }

// stop terminates every process group and every descendant (children
// that left the group), reaps the started processes, then runs the extra
// stop actions.
func (r *running) stop() {
	live.Lock()
	delete(live.m, r)
	live.Unlock()
	var all []int
	for _, c := range r.procs {
		all = append(all, descendants(c.Process.Pid)...)
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	for _, p := range all {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() {
		for _, c := range r.procs {
			_ = c.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		for _, c := range r.procs {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
		<-done
	}
	time.Sleep(50 * time.Millisecond)
	for _, p := range all {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	// after the reaping: a "stop" command that waits for its pid to
	// vanish would otherwise wait for our unreaped zombie (10 s for
	// our authdaemond)
	for _, f := range r.stops {
		f()
	}
}

// procInfo is what the harness needs from /proc/<pid>/stat and status.
type procInfo struct {
	pid, ppid, uid int
	comm           string
}

func listProcs() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		j := strings.IndexByte(s, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		pi := procInfo{pid: pid, ppid: pp, comm: s[j+1 : i], uid: -1}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/status"); err == nil {
			for _, l := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(l, "Uid:") {
					if fs := strings.Fields(l); len(fs) > 1 {
						pi.uid, _ = strconv.Atoi(fs[1])
					}
				}
			}
		}
		out = append(out, pi)
	}
	return out
}

// killFAM ends the gam_server processes that Courier's imapd started for
// this run: those running as uid, or whose working directory (the folder
// of the imapd that started it) is under work.
func killFAM(uid int, work string) {
	for _, p := range listProcs() {
		if p.comm != "gam_server" {
			continue
		}
		cwd, _ := os.Readlink("/proc/" + strconv.Itoa(p.pid) + "/cwd")
		if p.uid == uid || strings.HasPrefix(cwd, work+"/") {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
}

// descendants returns every live descendant of pid (not pid itself).
func descendants(pid int) []int {
	ps := listProcs()
	kids := map[int][]int{}
	for _, p := range ps {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, k := range kids[p] {
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitGreeting waits until addr answers with a greeting starting with want.
func waitGreeting(addr, want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(line, want) {
				return nil
			}
			last = fmt.Errorf("greeting %q: %v", line, err)
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v: %w", addr, limit, last)
}

// shellEnvCommand returns an argv that sources sh config files with
// set -a (as the rc scripts do, reference §1) then applies overrides and
// execs argv.
func shellEnvCommand(confs []string, overrides map[string]string, argv ...string) []string {
	var b strings.Builder
	b.WriteString("set -a; ")
	for _, c := range confs {
		fmt.Fprintf(&b, ". %s; ", shq(c))
	}
	keys := sortedKeys(overrides)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s; ", k, shq(overrides[k]))
	}
	b.WriteString(`exec "$@"`)
	return append([]string{"/bin/sh", "-c", b.String(), "sh"}, argv...)
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var baseEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}

func runCmd(env []string, argv ...string) (string, error) {
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

// ---- real Courier-IMAP 5.0.13 (scripts/courier-ref.sh) ----

func courierServer(e *benchEnv) *server {
	s := &server{name: "courier"}
	script := filepath.Join(e.repo, "scripts", "courier-ref.sh")
	if !e.root {
		s.unavailable = "needs root (imaplogin changes uid)"
		return s
	}
	if _, err := runCmd(nil, script, "check"); err != nil {
		s.unavailable = "not installed (run scripts/courier-ref.sh install)"
		return s
	}
	out, err := runCmd(nil, script, "paths")
	if err != nil {
		s.unavailable = err.Error()
		return s
	}
	p := parseAssignments(out)
	s.imapd = p["IMAPD"]
	if v, err := runCmd(baseEnv, p["IMAPD"], "--version"); err == nil {
		s.version = strings.TrimSpace(v)
	}
	startedAuthd := false
	s.setup = func(e *benchEnv) error {
		if _, err := runCmd(nil, script, "adduser", e.user, strconv.Itoa(e.uid), strconv.Itoa(e.gid), e.home, e.maildir, e.pass); err != nil {
			return err
		}
		for _, a := range e.popUsers {
			if _, err := runCmd(nil, script, "adduser", a.user, strconv.Itoa(e.uid), strconv.Itoa(e.gid), a.home, a.maildir, e.pass); err != nil {
				return err
			}
		}
		return nil
	}
	// ensureAuthd starts the system authdaemond when it is not running;
	// checked at every start, not once: another harness run on the
	// machine that started it stops it when it ends
	ensureAuthd := func() error {
		if _, err := runCmd(nil, script, "authd-status"); err != nil {
			if _, err := runCmd(nil, script, "authd-start"); err != nil {
				return err
			}
			startedAuthd = true
		}
		return nil
	}
	s.teardown = func() {
		if e.user != "cbench" {
			_, _ = runCmd(nil, script, "deluser", e.user)
		}
		for _, a := range e.popUsers {
			_, _ = runCmd(nil, script, "deluser", a.user)
		}
		if startedAuthd {
			_, _ = runCmd(nil, script, "authd-stop")
		}
	}
	s.start = func(e *benchEnv, imapPort, popPort int) (*running, error) {
		if err := ensureAuthd(); err != nil {
			return nil, fmt.Errorf("authdaemond: %w", err)
		}
		r := &running{imap: fmt.Sprintf("127.0.0.1:%d", imapPort), pop3: fmt.Sprintf("127.0.0.1:%d", popPort)}
		// With IMAP_ENHANCEDIDLE, Courier's imapd starts gamin's
		// gam_server as the mail user; it detaches (its parent is no
		// longer ours) and lingers after the sessions end.
		r.stops = append(r.stops, func() { killFAM(e.uid, e.work) })
		logf := filepath.Join(e.work, "logs", "courier.log")
		// Debian's settings, but generous connection limits (the
		// defaults, 40 and 20 per IP, would cap the concurrency tests)
		// and enhanced IDLE (the default polls every 60 s).
		ov := map[string]string{"IMAP_ENHANCEDIDLE": "1"}
		common := []string{"-nodnslookup", "-noidentlookup", "-address=127.0.0.1", "-maxprocs=400", "-maxperip=400", "-stderr=" + logf}
		imapArgv := shellEnvCommand([]string{p["IMAPD_CONF"]}, ov, append(append([]string{p["COURIERTCPD"]}, common...),
			strconv.Itoa(imapPort), p["IMAPLOGIN"], p["IMAPD"], "Maildir")...)
		popArgv := shellEnvCommand([]string{p["POP3D_CONF"]}, nil, append(append([]string{p["COURIERTCPD"]}, common...),
			strconv.Itoa(popPort), p["POP3LOGIN"], p["POP3D"], "Maildir")...)
		if _, err := startProc(r, logf, baseEnv, imapArgv...); err != nil {
			r.stop()
			return nil, err
		}
		if _, err := startProc(r, logf, baseEnv, popArgv...); err != nil {
			r.stop()
			return nil, err
		}
		if e.tlsPort != 0 {
			// Courier's chain: couriertcpd ... couriertls -server -tcpd
			// imaplogin imapd Maildir, key+cert in TLS_CERTFILE
			f, err := benchCert(e)
			if err != nil {
				r.stop()
				return nil, err
			}
			tov := map[string]string{"IMAP_ENHANCEDIDLE": "1", "TLS_CERTFILE": f.combined, "TLS_DHPARAMS": "",
				"TLS_CACHEFILE": "", "IMAP_TLS": "1", "IMAP_STARTTLS": "NO", "COURIERTLS": p["COURIERTLS"]}
			tlsArgv := shellEnvCommand([]string{p["IMAPD_CONF"], p["IMAPDSSL_CONF"]}, tov, append(append([]string{p["COURIERTCPD"]}, common...),
				strconv.Itoa(e.tlsPort), p["COURIERTLS"], "-server", "-tcpd", p["IMAPLOGIN"], p["IMAPD"], "Maildir")...)
			if _, err := startProc(r, logf, baseEnv, tlsArgv...); err != nil {
				r.stop()
				return nil, err
			}
			r.imaps = fmt.Sprintf("127.0.0.1:%d", e.tlsPort)
		}
		if b, err := os.ReadFile("/run/courier/authdaemon/pid"); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				r.cpuExtra = append(r.cpuExtra, pid)
			}
		}
		if err := waitGreeting(r.imap, "* OK", 5*time.Second); err != nil {
			r.stop()
			return nil, err
		}
		if err := waitGreeting(r.pop3, "+OK", 5*time.Second); err != nil {
			r.stop()
			return nil, err
		}
		if err := waitTLS(r); err != nil {
			r.stop()
			return nil, err
		}
		return r, nil
	}
	return s
}

func parseAssignments(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[strings.TrimSpace(k)] = strings.Trim(v, `'"`)
		}
	}
	return m
}

// ---- Dovecot (scripts/dovecot-ref.sh) ----

func dovecotServer(e *benchEnv) *server {
	s := &server{name: "dovecot"}
	script := filepath.Join(e.repo, "scripts", "dovecot-ref.sh")
	if !e.root {
		s.unavailable = "needs root"
		return s
	}
	if _, err := runCmd(nil, script, "check"); err != nil {
		s.unavailable = "not installed (run scripts/dovecot-ref.sh install)"
		return s
	}
	if v, err := runCmd(baseEnv, "/usr/sbin/dovecot", "--version"); err == nil {
		s.version = "Dovecot " + strings.TrimSpace(v)
	}
	s.start = func(e *benchEnv, imapPort, popPort int) (*running, error) {
		dir := filepath.Join(e.work, "dovecot")
		_ = os.RemoveAll(dir)
		if _, err := runCmd(nil, script, "conf", dir, strconv.Itoa(imapPort), strconv.Itoa(popPort),
			e.user, strconv.Itoa(e.uid), strconv.Itoa(e.gid), e.home, e.maildir, e.pass); err != nil {
			return nil, err
		}
		// the extra POP3 accounts, in the passwd-file format the
		// script wrote for the main one
		pf, err := os.OpenFile(filepath.Join(dir, "passwd"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, err
		}
		for _, a := range e.popUsers {
			fmt.Fprintf(pf, "%s:{PLAIN}%s:%d:%d::%s::userdb_mail=maildir:%s\n", a.user, e.pass, e.uid, e.gid, a.home, a.maildir)
		}
		if err := pf.Close(); err != nil {
			return nil, err
		}
		r := &running{imap: fmt.Sprintf("127.0.0.1:%d", imapPort), pop3: fmt.Sprintf("127.0.0.1:%d", popPort)}
		if e.tlsPort != 0 {
			f, err := benchCert(e)
			if err != nil {
				return nil, err
			}
			if err := dovecotTLSConf(filepath.Join(dir, "dovecot.conf"), e.tlsPort, f); err != nil {
				return nil, err
			}
			r.imaps = fmt.Sprintf("127.0.0.1:%d", e.tlsPort)
		}
		if _, err := startProc(r, filepath.Join(e.work, "logs", "dovecot.out"), baseEnv,
			"/usr/sbin/dovecot", "-F", "-c", filepath.Join(dir, "dovecot.conf")); err != nil {
			return nil, err
		}
		if err := waitGreeting(r.imap, "* OK", 10*time.Second); err != nil {
			r.stop()
			return nil, err
		}
		if err := waitGreeting(r.pop3, "+OK", 5*time.Second); err != nil {
			r.stop()
			return nil, err
		}
		if err := waitTLS(r); err != nil {
			r.stop()
			return nil, err
		}
		return r, nil
	}
	return s
}

// waitTLS waits until the implicit-TLS port (if any) completes a
// handshake and greets.
func waitTLS(r *running) error {
	if r.imaps == "" {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialIMAPS(r.imaps, 3*time.Second, loginBuf)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("implicit-TLS port %s: %w", r.imaps, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- ours (installed under -prefix) ----

func oursServer(e *benchEnv, prefix string) *server {
	s := &server{name: "ours"}
	if prefix == "" {
		s.unavailable = "no -prefix given"
		return s
	}
	need := []string{"sbin/couriertcpd", "sbin/authdaemond", "sbin/imaplogin", "bin/imapd"}
	for _, n := range need {
		if !fileExists(filepath.Join(prefix, n)) {
			s.unavailable = "missing " + filepath.Join(prefix, n)
			return s
		}
	}
	// POP3 is optional: without it only the POP3 workloads fail.
	noPOP3 := ""
	for _, n := range []string{"sbin/pop3login", "bin/pop3d"} {
		if !fileExists(filepath.Join(prefix, n)) {
			noPOP3 = "POP3 not available: missing " + filepath.Join(prefix, n)
		}
	}
	s.version = "gocourier"
	s.imapd = filepath.Join(prefix, "bin/imapd")
	if v, err := runCmdTimeout(2*time.Second, filepath.Join(prefix, "bin/imapd"), "--version"); err == nil && v != "" {
		s.version = strings.TrimSpace(strings.SplitN(v, "\n", 2)[0])
	}
	dir := filepath.Join(e.work, "ours")
	etc := filepath.Join(dir, "etc")
	vardir := filepath.Join(dir, "var")
	authEnv := func() []string {
		return append(append([]string{}, baseEnv...),
			"AUTHDAEMONRC="+filepath.Join(etc, "authdaemonrc"),
			"AUTHDAEMONVAR="+vardir,
			"AUTHDAEMONSOCK="+filepath.Join(vardir, "socket"))
	}
	s.setup = func(e *benchEnv) error {
		if err := os.MkdirAll(etc, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(vardir, 0o750); err != nil {
			return err
		}
		hash, err := md5crypt(e.pass)
		if err != nil {
			return err
		}
		userdb := filepath.Join(etc, "userdb")
		line := fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=%s\n", e.user, e.uid, e.gid, e.home, e.maildir, hash)
		for _, a := range e.popUsers {
			line += fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=%s\n", a.user, e.uid, e.gid, a.home, a.maildir, hash)
		}
		if err := os.WriteFile(userdb, []byte(line), 0o600); err != nil {
			return err
		}
		rc := fmt.Sprintf("authmodulelist=\"authuserdb\"\nauthmodulelistorig=\"authuserdb\"\ndaemons=5\nauthdaemonvar=%s\nUSERDB=%s\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=\"\"\nLOGGEROPTS=\"\"\n", vardir, userdb)
		if err := os.WriteFile(filepath.Join(etc, "authdaemonrc"), []byte(rc), 0o644); err != nil {
			return err
		}
		// makeuserdb builds userdb.dat where the implementation wants
		// one; a text-only userdb needs nothing.
		if mk := filepath.Join(prefix, "sbin/makeuserdb"); fileExists(mk) {
			_, _ = runCmdEnv(append(authEnv(), "USERDB="+userdb), mk)
		}
		return nil
	}
	s.start = func(e *benchEnv, imapPort, popPort int) (*running, error) {
		r := &running{imap: fmt.Sprintf("127.0.0.1:%d", imapPort), pop3: fmt.Sprintf("127.0.0.1:%d", popPort)}
		logf := filepath.Join(e.work, "logs", "ours.log")
		sock := filepath.Join(vardir, "socket")
		_ = os.Remove(sock)
		ad, err := startProc(r, logf, authEnv(), filepath.Join(prefix, "sbin/authdaemond"), "-f")
		if err != nil {
			return nil, err
		}
		// -f keeps it in the foreground, in our process group; "stop"
		// also covers an implementation that forked away anyway.
		r.stops = append(r.stops, func() {
			_, _ = runCmdEnv(authEnv(), filepath.Join(prefix, "sbin/authdaemond"), "stop")
		})
		_ = ad
		deadline := time.Now().Add(5 * time.Second)
		for !socketUp(sock) {
			if time.Now().After(deadline) {
				r.stop()
				return nil, fmt.Errorf("authdaemond: no socket %s after 5s (see %s)", sock, logf)
			}
			time.Sleep(50 * time.Millisecond)
		}
		confs := func(names ...string) []string {
			var out []string
			for _, n := range names {
				for _, cand := range []string{filepath.Join(prefix, "etc", n), filepath.Join(prefix, "etc", n+".dist")} {
					if fileExists(cand) {
						out = append(out, cand)
						break
					}
				}
			}
			return out
		}
		ov := map[string]string{"IMAP_ENHANCEDIDLE": "1", "AUTHDAEMONSOCK": sock, "AUTHDAEMONVAR": vardir,
			"AUTHDAEMONRC": filepath.Join(etc, "authdaemonrc")}
		common := []string{"-nodnslookup", "-noidentlookup", "-address=127.0.0.1", "-maxprocs=400", "-maxperip=400", "-stderr=" + logf}
		tcpd := filepath.Join(prefix, "sbin/couriertcpd")
		imapArgv := shellEnvCommand(confs("imapd"), ov, append(append([]string{tcpd}, common...),
			strconv.Itoa(imapPort), filepath.Join(prefix, "sbin/imaplogin"), filepath.Join(prefix, "bin/imapd"), "Maildir")...)
		popArgv := shellEnvCommand(confs("pop3d"), ov, append(append([]string{tcpd}, common...),
			strconv.Itoa(popPort), filepath.Join(prefix, "sbin/pop3login"), filepath.Join(prefix, "bin/pop3d"), "Maildir")...)
		if _, err := startProc(r, logf, baseEnv, imapArgv...); err != nil {
			r.stop()
			return nil, err
		}
		if noPOP3 != "" {
			r.pop3, r.noPOP3 = "", noPOP3
		} else if _, err := startProc(r, logf, baseEnv, popArgv...); err != nil {
			r.stop()
			return nil, err
		}
		if e.tlsPort != 0 {
			// ours as rc/imapd-ssl.rc runs it: couriertls between
			// couriertcpd and imaplogin, dropping to TLS_USER
			f, err := benchCert(e)
			if err != nil {
				r.stop()
				return nil, err
			}
			tov := map[string]string{"TLS_CERTFILE": f.combined, "TLS_DHPARAMS": "", "TLS_CACHEFILE": "",
				"IMAP_TLS": "1", "IMAP_STARTTLS": "NO", "COURIERTLS": filepath.Join(prefix, "sbin/couriertls")}
			for k, v := range ov {
				tov[k] = v
			}
			tlsArgv := shellEnvCommand(confs("imapd", "imapd-ssl"), tov, append(append([]string{tcpd}, common...),
				strconv.Itoa(e.tlsPort), filepath.Join(prefix, "sbin/couriertls"), "-server", "-tcpd", "-user=courier", "-service=imap",
				filepath.Join(prefix, "sbin/imaplogin"), filepath.Join(prefix, "bin/imapd"), "Maildir")...)
			if _, err := startProc(r, logf, baseEnv, tlsArgv...); err != nil {
				r.stop()
				return nil, err
			}
			r.imaps = fmt.Sprintf("127.0.0.1:%d", e.tlsPort)
		}
		if err := waitGreeting(r.imap, "* OK", 5*time.Second); err != nil {
			r.stop()
			return nil, err
		}
		if err := waitTLS(r); err != nil {
			r.stop()
			return nil, err
		}
		if r.pop3 != "" {
			if err := waitGreeting(r.pop3, "+OK", 5*time.Second); err != nil {
				r.stop()
				return nil, err
			}
		}
		return r, nil
	}
	return s
}

func socketUp(path string) bool {
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func runCmdEnv(env []string, argv ...string) (string, error) { return runCmd(env, argv...) }

func runCmdTimeout(d time.Duration, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = baseEnv
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return out.String(), errors.New("timeout")
	}
}

// md5crypt hashes a password in the $1$ form every userdb reader accepts.
func md5crypt(pass string) (string, error) {
	out, err := runCmd(baseEnv, "openssl", "passwd", "-1", "-salt", "gcbench1", pass)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}
