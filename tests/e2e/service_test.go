package e2e

// Running the suite as a system service (issue 7): the systemd units for
// the implicit-TLS ports in listener (Accept=no) and per-connection
// (Accept=yes) mode, driven by systemd-socket-activate with the unit's own
// ExecStart; sd_notify READY/WATCHDOG/STOPPING from the listener-mode
// service path; the login/logout log lines reaching syslog through
// courierlogger in Courier's formats (reference §1.4); an upgrade (make
// install over a running installation, then imapd.rc restart); and the
// manual pages.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocourier/internal/testenv"
)

// unitLines returns the "Key=value" settings of an installed unit file,
// in order, comments skipped.
func unitLines(t testing.TB, unit string) [][2]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(inst, "share/systemd", unit))
	if err != nil {
		t.Fatalf("unit %s: %v", unit, err)
	}
	var out [][2]string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || l[0] == '#' || l[0] == '[' {
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// unitValue is the last value of key in an installed unit ("" if unset).
func unitValue(t testing.TB, unit, key string) string {
	t.Helper()
	v := ""
	for _, kv := range unitLines(t, unit) {
		if kv[0] == key {
			v = kv[1]
		}
	}
	return v
}

// unitExec is the installed unit's ExecStart as an argv; the test runs
// exactly what systemd would.
func unitExec(t testing.TB, unit string) []string {
	t.Helper()
	f := strings.Fields(unitValue(t, unit, "ExecStart"))
	if len(f) == 0 {
		t.Fatalf("%s has no ExecStart", unit)
	}
	if !strings.HasPrefix(f[0], inst+"/") {
		t.Fatalf("%s runs %s, not a program of the installation", unit, f[0])
	}
	return f
}

// enableTLSPorts turns the implicit-TLS servers on in the configuration
// (a test certificate in scratch, made now with mkimapdcert, as an admin
// would before enabling an Accept=yes socket) and returns their ports.
func enableTLSPorts(t testing.TB) (imaps, pop3s int) {
	t.Helper()
	needInstall(t, "sbin/couriertls", "share/mkimapdcert")
	etc := filepath.Join(inst, "etc")
	cert := filepath.Join(scratch, "service-tls.pem")
	os.Remove(cert)
	run(t, filepath.Join(inst, "share/mkimapdcert"), cert)
	for _, f := range []struct{ file, start string }{{"imapd-ssl", "IMAPDSSLSTART"}, {"pop3d-ssl", "POP3DSSLSTART"}} {
		file := filepath.Join(etc, f.file)
		setValue(t, file, f.start, "YES")
		setValue(t, file, "TLS_CERTFILE", cert)
	}
	imaps, _ = strconv.Atoi(getValue(t, filepath.Join(etc, "imapd-ssl"), "SSLPORT"))
	pop3s, _ = strconv.Atoi(getValue(t, filepath.Join(etc, "pop3d-ssl"), "SSLPORT"))
	return imaps, pop3s
}

// tlsLogin logs in through python's IMAP4_SSL or POP3_SSL (pyTLS) and
// checks the mailbox is seen.
func tlsLogin(t testing.TB, mode string, port int) {
	t.Helper()
	out, err := python(t, pyTLS, mode, strconv.Itoa(port), acctName, acctPass)
	want := []string{"LOGIN OK", "SELECT OK 2", "DONE"}
	if mode == "pop3s" {
		want = []string{"PASS +OK", "STAT 2", "DONE"}
	}
	for _, w := range want {
		if err != nil || !strings.Contains(out, w) {
			t.Fatalf("%s on port %d: %v, output lacks %q:\n%s", mode, port, err, w, out)
		}
	}
}

// TestSystemdTLSUnits: the four implicit-TLS units exist, listen on
// 993/995, and their Accept=yes sockets carry the config's default limits.
func TestSystemdTLSUnits(t *testing.T) {
	needInstall(t, "sbin/sysconftool")
	resetConfig(t)
	for _, c := range []struct {
		name, port string
	}{{"imapd", "993"}, {"pop3d", "995"}} {
		for _, sock := range []string{c.name + "-ssl.socket", c.name + "-ssl-accept.socket"} {
			if got := unitValue(t, sock, "ListenStream"); got != c.port {
				t.Errorf("%s ListenStream=%s, want %s", sock, got, c.port)
			}
		}
		if got := unitValue(t, c.name+"-ssl.socket", "Accept"); got != "no" {
			t.Errorf("%s-ssl.socket Accept=%s", c.name, got)
		}
		if got := unitValue(t, c.name+"-ssl.service", "Type"); got != "notify" {
			t.Errorf("%s-ssl.service Type=%s, want notify", c.name, got)
		}
		// The Accept=yes sockets stand in for couriertcpd's limits.
		conf := filepath.Join(inst, "etc", c.name)
		for _, sock := range []string{c.name + "-accept.socket", c.name + "-ssl-accept.socket"} {
			if got := unitValue(t, sock, "Accept"); got != "yes" {
				t.Errorf("%s Accept=%s", sock, got)
			}
			if got, want := unitValue(t, sock, "MaxConnections"), getValue(t, conf, "MAXDAEMONS"); got != want {
				t.Errorf("%s MaxConnections=%s, want MAXDAEMONS=%s", sock, got, want)
			}
			if got, want := unitValue(t, sock, "MaxConnectionsPerSource"), getValue(t, conf, "MAXPERIP"); got != want {
				t.Errorf("%s MaxConnectionsPerSource=%s, want MAXPERIP=%s", sock, got, want)
			}
			b, _ := os.ReadFile(filepath.Join(inst, "share/systemd", sock))
			if !bytes.Contains(b, []byte("IPAddressDeny=")) {
				t.Errorf("%s does not show the access file's equivalent", sock)
			}
		}
		tmpl := c.name + "-ssl-accept@.service"
		if got := unitValue(t, tmpl, "StandardInput"); got != "socket" {
			t.Errorf("%s StandardInput=%s", tmpl, got)
		}
	}
}

// TestSystemdTemplatesVerify: the Accept=yes templates, instantiated as
// systemd would, pass systemd-analyze verify.
func TestSystemdTemplatesVerify(t *testing.T) {
	needInstall(t, "sbin/authdaemond")
	needCommand(t, "systemd-analyze")
	dir := filepath.Join(scratch, "units-inst")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0755); err != nil {
		t.Fatal(err)
	}
	// The units the instances refer to, and an instance file with each
	// template's text.
	units, _ := filepath.Glob(filepath.Join(inst, "share/systemd/*"))
	for _, u := range units {
		if b, err := os.ReadFile(u); err == nil && !strings.Contains(u, "@") {
			os.WriteFile(filepath.Join(dir, filepath.Base(u)), b, 0644)
		}
	}
	var check []string
	for _, n := range []string{"imapd", "pop3d", "imapd-ssl", "pop3d-ssl"} {
		b, err := os.ReadFile(filepath.Join(inst, "share/systemd", n+"-accept@.service"))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, n+"-accept@1.service")
		if err := os.WriteFile(f, b, 0644); err != nil {
			t.Fatal(err)
		}
		check = append(check, f)
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify"}, check...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=warning")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify of the template instances: %v\n%s", err, out)
	}
}

// TestSystemdTLSListener: imapd-ssl.service and pop3d-ssl.service, given
// their sockets by systemd-socket-activate (Accept=no), serve IMAP4_SSL and
// POP3_SSL logins; couriertcpd holds the socket and runs couriertls.
func TestSystemdTLSListener(t *testing.T) {
	configureSuite(t, options{pop3: true})
	imaps, pop3s := enableTLSPorts(t)
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	for _, c := range []struct {
		unit, mode string
		port       int
	}{{"imapd-ssl", "imaps", imaps}, {"pop3d-ssl", "pop3s", pop3s}} {
		stop := activate(t, append([]string{"-l", fmt.Sprintf("127.0.0.1:%d", c.port)}, unitExec(t, c.unit+".service")...)...)
		tlsLogin(t, c.mode, c.port)
		tcpds := tcpdsFor("couriertls")
		if len(tcpds) != 1 {
			t.Errorf("%s: %d couriertcpd running couriertls, want 1", c.unit, len(tcpds))
		}
		stop()
		waitFor(t, "couriertcpd to exit", func() bool { return len(procsNamed("couriertcpd")) == 0 })
	}
}

// TestSystemdTLSAccept: the -ssl-accept@.service commands (Accept=yes,
// connection on stdin/stdout) serve IMAP4_SSL and POP3_SSL, one process
// chain per connection, twice each.
func TestSystemdTLSAccept(t *testing.T) {
	configureSuite(t, options{pop3: true})
	imaps, pop3s := enableTLSPorts(t)
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	for _, c := range []struct {
		unit, mode string
		port       int
	}{{"imapd-ssl-accept@", "imaps", imaps}, {"pop3d-ssl-accept@", "pop3s", pop3s}} {
		stop := activate(t, append([]string{"--inetd", "-a", "-l", fmt.Sprintf("127.0.0.1:%d", c.port)},
			unitExec(t, c.unit+".service")...)...)
		for i := 0; i < 2; i++ {
			tlsLogin(t, c.mode, c.port)
		}
		if n := len(procsNamed("couriertcpd")); n != 0 {
			t.Errorf("%s: %d couriertcpd processes in Accept=yes mode, want none", c.unit, n)
		}
		stop()
	}
	// The plain Accept=yes units too, through their own ExecStart.
	s := &suite{}
	s.pop3Port, _ = strconv.Atoi(getValue(t, filepath.Join(inst, "etc/pop3d"), "PORT"))
	stop := activate(t, append([]string{"--inetd", "-a", "-l", fmt.Sprintf("127.0.0.1:%d", s.pop3Port)},
		unitExec(t, "pop3d-accept@.service")...)...)
	out, err := python(t, pop3Script, strconv.Itoa(s.pop3Port), acctName, acctPass)
	if err != nil || !strings.Contains(out, "PASS +OK") || !strings.Contains(out, "STAT 2") {
		t.Errorf("poplib through pop3d-accept@.service: %v\n%s", err, out)
	}
	stop()
}

// notifyListener is a NOTIFY_SOCKET that records each datagram with the
// sender's pid (SO_PASSCRED), as systemd does to apply NotifyAccess=main.
type notifyListener struct {
	c    *net.UnixConn
	mu   sync.Mutex
	msgs []notifyMsg
}

type notifyMsg struct {
	pid  int
	text string
	at   time.Time
}

func listenNotify(t testing.TB, path string) *notifyListener {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := c.SyscallConn()
	raw.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifyListener{c: c}
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, 1024)
		for {
			nb, noob, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			m := notifyMsg{text: string(buf[:nb]), at: time.Now()}
			if scms, err := syscall.ParseSocketControlMessage(oob[:noob]); err == nil {
				for _, s := range scms {
					if cred, err := syscall.ParseUnixCredentials(&s); err == nil {
						m.pid = int(cred.Pid)
					}
				}
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, m)
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return n
}

// find returns the messages containing the line want.
func (n *notifyListener) find(want string) []notifyMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []notifyMsg
	for _, m := range n.msgs {
		for _, l := range strings.Split(m.text, "\n") {
			if l == want {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestSystemdNotify: imapd.service's command in listener mode (given a
// socket by systemd-socket-activate, a NOTIFY_SOCKET and WATCHDOG_USEC)
// sends READY=1 from the main process (the pid the service manager
// started: the rc script execs its way into couriertcpd, so
// NotifyAccess=main is satisfied), WATCHDOG=1 at least every
// WATCHDOG_USEC/2, and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	s := configureSuite(t, options{})
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	sock := filepath.Join(t.TempDir(), "notify")
	n := listenNotify(t, sock)
	const watchdog = 400 * time.Millisecond
	stop := activate(t, append([]string{"-l", fmt.Sprintf("127.0.0.1:%d", s.imapPort),
		"-E", "NOTIFY_SOCKET=" + sock, "-E", fmt.Sprintf("WATCHDOG_USEC=%d", watchdog.Microseconds())},
		unitExec(t, "imapd.service")...)...)
	// systemd-socket-activate starts the service at the first connection.
	waitFor(t, "the socket", func() bool { return canConnect(s.imapPort) })
	waitFor(t, "READY=1", func() bool { return len(n.find("READY=1")) > 0 })
	ready := n.find("READY=1")[0]
	tcpds := procsNamed("couriertcpd")
	if len(tcpds) != 1 || tcpds[0].pid != ready.pid {
		t.Errorf("READY=1 sent by pid %d, couriertcpd processes %+v", ready.pid, tcpds)
	} else if tcpds[0].ppid != os.Getpid() {
		t.Errorf("couriertcpd (pid %d) is not the process the service manager started (ppid %d, want %d)",
			tcpds[0].pid, tcpds[0].ppid, os.Getpid())
	}
	// The environment does not reach the sessions (reference §2 invariant).
	out, err := python(t, imapScript, strconv.Itoa(s.imapPort), acctName, acctPass)
	if err != nil || !strings.Contains(out, "LOGIN OK") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	time.Sleep(3 * watchdog)
	pings := n.find("WATCHDOG=1")
	if len(pings) < 3 {
		t.Errorf("%d WATCHDOG=1 in %v with WATCHDOG_USEC=%d", len(pings), 3*watchdog, watchdog.Microseconds())
	}
	for i := 1; i < len(pings); i++ {
		if gap := pings[i].at.Sub(pings[i-1].at); gap > watchdog {
			t.Errorf("watchdog gap %v exceeds WATCHDOG_USEC (%v)", gap, watchdog)
		}
		if pings[i].pid != ready.pid {
			t.Errorf("WATCHDOG=1 from pid %d, not the main pid %d", pings[i].pid, ready.pid)
		}
	}
	stop()
	waitFor(t, "STOPPING=1", func() bool { return len(n.find("STOPPING=1")) > 0 })

	// Without WATCHDOG_USEC there are no pings.
	n2 := listenNotify(t, sock+"2")
	stop = activate(t, append([]string{"-l", fmt.Sprintf("127.0.0.1:%d", s.imapPort), "-E", "NOTIFY_SOCKET=" + sock + "2"},
		unitExec(t, "imapd.service")...)...)
	waitFor(t, "the socket", func() bool { return canConnect(s.imapPort) })
	waitFor(t, "READY=1", func() bool { return len(n2.find("READY=1")) > 0 })
	time.Sleep(2 * watchdog)
	if p := n2.find("WATCHDOG=1"); len(p) != 0 {
		t.Errorf("%d WATCHDOG=1 without WATCHDOG_USEC", len(p))
	}
	stop()
}

// syslogListener is a syslog datagram socket for courierlogger -socket=.
type syslogListener struct {
	mu    sync.Mutex
	lines []string
}

func listenSyslog(t testing.TB, path string) *syslogListener {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0666)
	l := &syslogListener{}
	go func() {
		buf := make([]byte, 8192)
		for {
			nb, err := c.Read(buf)
			if err != nil {
				return
			}
			l.mu.Lock()
			l.lines = append(l.lines, strings.TrimRight(string(buf[:nb]), "\n"))
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return l
}

func (l *syslogListener) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// match returns the first line matching re, and its submatches.
func (l *syslogListener) match(re *regexp.Regexp) []string {
	for _, line := range l.all() {
		if m := re.FindStringSubmatch(line); m != nil {
			return m
		}
	}
	return nil
}

const imapLogScript = `
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
print("PORT", m.sock.getsockname()[1])
print("LOGIN", m.login(sys.argv[2], sys.argv[3])[0])
m.select("INBOX")
typ, data = m.fetch("1", "(BODY.PEEK[])")
print("FETCH", typ)
m.logout()
`

const pop3LogScript = `
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=20)
print("PORT", p.sock.getsockname()[1])
p.user(sys.argv[2])
print("PASS", p.pass_(sys.argv[3]).decode())
p.top(1, 0)
p.retr(2)
p.quit()
`

// TestSyslogLoginLogout: with the installed suite started by imapd.rc and
// pop3d.rc start, the LOGIN and LOGOUT lines of reference §1.4 reach
// syslog through couriertcpd -stderrlogger -> courierlogger, with the
// title, facility and socket given by LOGGEROPTS, at level info with
// Courier's "INFO: " prefix turned into the priority.
func TestSyslogLoginLogout(t *testing.T) {
	s := configureSuite(t, options{pop3: true})
	dir := t.TempDir()
	os.Chmod(dir, 0755)
	logsock := filepath.Join(dir, "log")
	sl := listenSyslog(t, logsock)
	setValue(t, filepath.Join(inst, "etc/imapd"), "LOGGEROPTS", `"-name=e2eimap -socket=`+logsock+`"`)
	setValue(t, filepath.Join(inst, "etc/pop3d"), "LOGGEROPTS", `"-name=e2epop -facility=local3 -socket=`+logsock+` -start -pid=/nonexistent"`)
	run(t, filepath.Join(inst, "sbin/authdaemond"), "start")
	waitForAuthd(t)
	run(t, filepath.Join(inst, "libexec/imapd.rc"), "start")
	run(t, filepath.Join(inst, "libexec/pop3d.rc"), "start")
	waitFor(t, "IMAP port", func() bool { return canConnect(s.imapPort) })
	waitFor(t, "POP3 port", func() bool { return canConnect(s.pop3Port) })

	clientPort := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if p, ok := strings.CutPrefix(l, "PORT "); ok {
				return strings.TrimSpace(p)
			}
		}
		t.Fatalf("no PORT in %q", out)
		return ""
	}
	out, err := python(t, imapLogScript, strconv.Itoa(s.imapPort), acctName, acctPass)
	if err != nil || !strings.Contains(out, "LOGIN OK") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	iport := clientPort(out)
	out, err = python(t, pop3LogScript, strconv.Itoa(s.pop3Port), acctName, acctPass)
	if err != nil || !strings.Contains(out, "PASS +OK") {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	pport := clientPort(out)

	// <PRI>Mmm dd hh:mm:ss TITLE[pid]: message. mail.info = 2*8+6 = 22,
	// local3.info = 19*8+6 = 158.
	hdr := func(pri, title string) string {
		return `^<` + pri + `>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d ` + title + `\[\d+\]: `
	}
	ip := regexp.QuoteMeta("ip=[::ffff:127.0.0.1]")
	cases := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"IMAP LOGIN", regexp.MustCompile(hdr("22", "e2eimap") +
			`LOGIN, user=` + acctName + `, ` + ip + `, port=\[` + iport + `\], protocol=IMAP$`)},
		{"IMAP LOGOUT", regexp.MustCompile(hdr("22", "e2eimap") +
			`LOGOUT, user=` + acctName + `, ` + ip + `, port=\[` + iport + `\], headers=\d+, body=[1-9]\d*, rcvd=[1-9]\d*, sent=[1-9]\d*, time=\d+$`)},
		{"POP3 LOGIN", regexp.MustCompile(hdr("158", "e2epop") +
			`LOGIN, user=` + acctName + `, ` + ip + `, port=\[` + pport + `\]$`)},
		{"POP3 LOGOUT", regexp.MustCompile(hdr("158", "e2epop") +
			`LOGOUT, user=` + acctName + `, ` + ip + `, port=\[` + pport + `\], top=[1-9]\d*, retr=[1-9]\d*, rcvd=[1-9]\d*, sent=[1-9]\d*, time=\d+$`)},
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range cases {
		for sl.match(c.re) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if sl.match(c.re) == nil {
			t.Errorf("no %s line matching %s in syslog:\n%s", c.what, c.re, strings.Join(sl.all(), "\n"))
		}
	}
	for _, l := range sl.all() {
		if strings.Contains(l, "INFO:") || strings.Contains(l, acctPass) {
			t.Errorf("syslog line with a prefix or the password: %q", l)
		}
	}
}

// TestUpgradeReinstall: `make install` over the running installation, then
// `imapd.rc restart`: a logged-in client's session survives the reinstall,
// what it stored is intact after the restart, new logins work, the
// restarted couriertcpd is the new binary, and install-configure keeps the
// administrator's settings (which the restarted server uses).
func TestUpgradeReinstall(t *testing.T) {
	s := startSuite(t, options{extraIMAP: map[string]string{"MAXDAEMONS": "33"}})
	imapd := filepath.Join(inst, "etc/imapd")
	adminConf, err := os.ReadFile(imapd)
	if err != nil {
		t.Fatal(err)
	}
	ic, _, err := dialIMAP(t, s.imapPort)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.c.Close()
	step := func(tag, cmd, want string) string {
		t.Helper()
		out, err := ic.command(tag, cmd)
		if err != nil || !strings.Contains(out, tag+" OK") || !strings.Contains(out, want) {
			t.Fatalf("%s: %v %q", cmd, err, out)
		}
		return out
	}
	step("a1", fmt.Sprintf("LOGIN %s %s", acctName, acctPass), "")
	step("a2", "SELECT INBOX", "* 2 EXISTS")
	step("a3", "STORE 1 +FLAGS (\\Flagged)", "")
	msg := "From: u@example.com\r\nSubject: before upgrade\r\n\r\nkept across the upgrade\r\n"
	ic.c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(ic.c, "a4 APPEND INBOX {%d}\r\n", len(msg))
	if l, _ := ic.r.ReadString('\n'); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND continuation: %q", l)
	}
	fmt.Fprintf(ic.c, "%s\r\n", msg)
	for {
		l, err := ic.r.ReadString('\n')
		if err != nil || strings.HasPrefix(l, "a4 ") {
			if !strings.HasPrefix(l, "a4 OK") {
				t.Fatalf("APPEND: %v %q", err, l)
			}
			break
		}
	}
	oldPid := pidFile(t, "var/imapd.pid")

	// The reinstall, with the server and the session running.
	out := run(t, "make", "--no-print-directory", "-C", repoRoot, "install", "PREFIX="+inst,
		"BUILDDIR="+filepath.Join(scratch, "build"), "KEEP_GOING=1")
	if !strings.Contains(out, "install -m 755") {
		t.Fatalf("make install installed nothing:\n%s", out)
	}
	out = run(t, "make", "--no-print-directory", "-C", repoRoot, "install-configure", "PREFIX="+inst)
	if got, _ := os.ReadFile(imapd); !bytes.Equal(got, adminConf) {
		t.Errorf("install-configure changed the administrator's etc/imapd:\n%s", out)
	}
	step("a5", "NOOP", "")
	step("a6", "FETCH 3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "before upgrade")

	run(t, filepath.Join(inst, "libexec/imapd.rc"), "restart")
	waitFor(t, "IMAP port after restart", func() bool { return canConnect(s.imapPort) })
	// The old session ended with the old server.
	ic.c.SetDeadline(time.Now().Add(10 * time.Second))
	if rest, err := ic.r.ReadString(0); err == nil || isTimeout(err) {
		t.Errorf("old session not closed by the restart: %v %q", err, rest)
	}
	pid := pidFile(t, "var/imapd.pid")
	if pid == oldPid {
		t.Errorf("couriertcpd %d was not restarted", pid)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != filepath.Join(inst, "sbin/couriertcpd") {
		t.Errorf("restarted couriertcpd runs %q, want the newly installed binary", exe)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !bytes.Contains(cmdline, []byte("-maxprocs=33\x00")) {
		t.Errorf("restarted couriertcpd lacks the admin's MAXDAEMONS=33: %q", cmdline)
	}

	// A new login sees the mail as the old session left it.
	ic2, _, err := dialIMAP(t, s.imapPort)
	if err != nil {
		t.Fatal(err)
	}
	defer ic2.c.Close()
	ic = ic2
	step("b1", fmt.Sprintf("LOGIN %s %s", acctName, acctPass), "")
	step("b2", "SELECT INBOX", "* 3 EXISTS")
	step("b3", "FETCH 1 FLAGS", "\\Flagged")
	step("b4", "FETCH 3 BODY.PEEK[TEXT]", "kept across the upgrade")
	step("b5", "FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "test 2")
	if out, err := python(t, imapScript, strconv.Itoa(s.imapPort), acctName, acctPass); err != nil || !strings.Contains(out, "SELECT OK 3") {
		t.Errorf("imaplib after the upgrade: %v\n%s", err, out)
	}
}

// pidFile reads a pid file of the installation.
func pidFile(t testing.TB, rel string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(inst, rel))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("%s: %q", rel, b)
	}
	return pid
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// manPages are the installed manual pages and, for each, words its text
// must contain: the program's options, read from its source.
var manPages = map[string][]string{
	"man1/couriertcpd.1": {"-pid", "-stop", "-restart", "-address", "-maxprocs", "-maxperip", "-maxperc",
		"-warn", "-listen", "-access", "-accesslocal", "-denymsg", "-stderr", "-stderrlogger",
		"-stderrloggername", "-user", "-group", "-nodnslookup", "-noidentlookup", "LISTEN_FDS",
		"TCPREMOTEIP", "TCPLOCALPORT"},
	"man8/authdaemond.8":  {"start", "stop", "restart", "-f", "authdaemonrc", "socket"},
	"man8/imapd.8":        {"imaplogin", "IMAP_CAPABILITY", "MAILDIRPATH", "imapd.rc", "AUTHENTICATED"},
	"man8/pop3d.8":        {"pop3login", "POP3AUTH", "pop3d.rc", "MAILDIRPATH"},
	"man8/userdb.8":       {"set", "unset", "-show", "uid", "gid", "home"},
	"man8/userdbpw.8":     {"-md5", "-hmac-md5"},
	"man8/makeuserdb.8":   {"userdb"},
	"man1/authtest.1":     {"-s", "authdaemond"},
	"man1/maildirmake.1":  {"-q", "-f", "-S", "-s", "-add", "-del", "--add", "--del"},
	"man1/maildirkw.1":    {"-a", "-r", "-L"},
	"man1/maildiracl.1":   {"-list", "-set", "-delete", "-compute"},
	"man8/deliverquota.8": {"-c", "-w", "-W", "maildirsize", "EX_TEMPFAIL"},
	"man1/courierlogger.1": {"-name", "-facility", "-pid", "-start", "-stop", "-restart", "-respawn",
		"-user", "-group", "-droproot", "-socket", "LOGGEROPTS"},
	"man1/couriertls.1": {"-server", "-tcpd", "-user", "-service", "-starttls", "-remotefd", "-localfd",
		"-statusfd", "-timeout", "TLS_CERTFILE", "TLS_USER", "TLS_VERIFYPEER"},
	"man1/sysconftool.1": {"##VERSION", "##NAME", ".bak", "install-configure"},
	"man8/mkimapdcert.8": {"mkpop3dcert", "TLS_CERTFILE", "-ecdsa", "-days", "-cn", "-pop3", "already exists"},
}

// TestManPages: every manual page is installed under man/man1 or man8 and
// renders with groff -man without a warning; its NAME section names the
// program and it mentions the options the program takes.
func TestManPages(t *testing.T) {
	needInstall(t)
	needCommand(t, "groff")
	for page, words := range manPages {
		path := filepath.Join(inst, "man", page)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s not installed: %v", page, err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(page), filepath.Ext(page))
		sect := strings.TrimPrefix(filepath.Ext(page), ".")
		if !bytes.Contains(b, []byte(fmt.Sprintf(".TH %s %s ", strings.ToUpper(name), sect))) {
			t.Errorf("%s: no .TH %s %s line", page, strings.ToUpper(name), sect)
		}
		// No hyphenation, so that the words checked below stay whole.
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-rCHECKSTYLE=2", "-rHY=0", path)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() != 0 {
			t.Errorf("groff %s: %v\n%s", page, err, stderr.String())
		}
		// Plain text, overstriking removed, for the checks below.
		text := regexp.MustCompile(".\x08").ReplaceAllString(stdout.String(), "")
		text = strings.NewReplacer("\u2010", "-", "\u2212", "-").Replace(text)
		if !regexp.MustCompile(`(?m)^NAME\n\s+` + regexp.QuoteMeta(name) + `\b`).MatchString(text) {
			t.Errorf("%s: NAME section does not start with %s:\n%.300s", page, name, text)
		}
		for _, w := range words {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not mention %s", page, w)
			}
		}
	}
	// man(1) itself (man-db) formats them too, as an admin would read
	// them, with every groff warning enabled.
	if _, err := exec.LookPath("man"); err == nil {
		for page := range manPages {
			cmd := exec.Command("man", "--warnings=all", "-l", filepath.Join(inst, "man", page))
			cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80", "LC_ALL=C.UTF-8")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stderr.Len() != 0 || stdout.Len() == 0 {
				t.Errorf("man -l %s: %v\n%s", page, err, stderr.String())
			}
		}
	} else if testenv.CI() {
		t.Errorf("CI=true: man (Debian package man-db) not installed")
	}
	ents, _ := filepath.Glob(filepath.Join(inst, "man/man*/*"))
	if len(ents) != len(manPages) {
		t.Errorf("installed pages %v, want the %d of manPages", ents, len(manPages))
	}
}
