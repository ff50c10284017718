// Command pop3d is the POP3 session stage (reference §1): pop3login execs it
// as the mail user, in the account's home directory, with the client socket
// on fds 0 and 1, argv[1] = the maildir, and AUTHENTICATED/OPTIONS in the
// environment. It sends "+OK logged in." itself (reference §1.1, transcript
// 00: a missing maildir gets "-ERR chdir ... failed" instead), then serves
// the TRANSACTION and UPDATE states with internal/pop3.
//
// Usage: pop3d <maildir>
//
// Environment (besides the config-file variables, reference §6.4):
//
//	AUTHENTICATED     login id (required; set by pop3login)
//	OPTIONS           account options; disablepop3=1, disableinsecurepop3=1 (§11.1)
//	POP3_TLS          1 on a TLS connection
//	POP3_UTF8         1 if the client sent UTF8 before login
//	POP3_IDLE_TIMEOUT idle timeout in seconds (default 600, RFC 1939 §3 minimum)
//	MAILDIRQUOTA      quota from authdaemond (maildirsize is kept up to date)
//	TCPREMOTEIP, TCPREMOTEPORT  for the log lines
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/envconf"
	"gocourier/internal/maildir"
	"gocourier/internal/pop3"
	"gocourier/internal/pop3maildir"
	"gocourier/internal/stdioconn"
)

func main() {
	// One session runs one goroutine, but BenchmarkRetr5000 (RETR of
	// 5,000 4 KB messages over loopback) was 1.5x faster with 2 Ps than
	// with 1: the netpoller, GC and sysmon then run beside the session.
	// More Ps buy nothing for a single client. GOMAXPROCS in the
	// environment still wins, for measuring.
	if os.Getenv("GOMAXPROCS") == "" && runtime.NumCPU() > 2 {
		runtime.GOMAXPROCS(2)
	}
	os.Exit(run())
}

// clientConn returns reader/writer for fds 0/1. When fd 0 is a socket both
// are stdioconn.Socket's pollable file (deadlines for timeouts), with
// TCP_NODELAY set so that a reply never waits for the client's delayed ACK.
func clientConn() (r io.Reader, w io.Writer) {
	if sock := stdioconn.Socket(); sock != nil {
		return sock, sock
	}
	return os.Stdin, os.Stdout
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
}

// hasOption reports whether the account option name is on in the
// comma-separated $OPTIONS list.
func hasOption(opts, name string) bool {
	return (&authproto.UserInfo{Options: opts}).Enabled(name)
}

func run() int {
	start := time.Now()
	r, w := clientConn()
	conn := pop3.NewConn(r, w, false)
	fatal := func(text string) int {
		conn.Err(text)
		conn.Flush()
		return 1
	}
	user := os.Getenv("AUTHENTICATED")
	if user == "" {
		return fatal("AUTHENTICATED environment variable not set.")
	}
	if len(os.Args) < 2 || os.Args[1] == "" {
		return fatal("[SYS/PERM] No maildir given.")
	}
	ip, port := os.Getenv("TCPREMOTEIP"), os.Getenv("TCPREMOTEPORT")
	if ip == "" {
		ip = "127.0.0.1"
	}
	if port == "" {
		port = "0"
	}
	who := fmt.Sprintf("user=%s, ip=[%s], port=[%s]", user, ip, port)

	// §1.3 step 2: a home directory with the sticky bit locks the account.
	if st, err := os.Stat("."); err == nil && st.Mode()&os.ModeSticky != 0 {
		logf("INFO: LOCKED, %s", who)
		return fatal("[SYS/TEMP] Your account is temporarily unavailable (+t bit set on home directory).")
	}
	// §1.3 step 3 (transcript 00).
	dir := os.Args[1]
	if err := os.Chdir(dir); err != nil {
		logf("chdir %s: %s", dir, errText(err))
		return fatal("[SYS/PERM] chdir " + dir + " failed")
	}
	// §9.13 loginexec hook.
	runLoginexec()
	if st, err := os.Stat("cur"); err != nil || !st.IsDir() {
		logf("ERR: %s: Maildir invalid (no 'cur' directory)", user)
		return fatal("[SYS/PERM] Maildir invalid (no 'cur' directory)")
	}
	// §1.3 step 6: the maildir must belong to us.
	if sanity() {
		var st syscall.Stat_t
		if err := syscall.Stat(".", &st); err == nil &&
			(int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid()) {
			logf("ERR: %s: Account's mailbox directory is not owned by the correct uid or gid", user)
			return fatal("[SYS/PERM] Account's mailbox directory is not owned by the correct uid or gid")
		}
	}
	// §11.1: the refusal answers PASS in place of "+OK logged in." (real
	// courierpop3d does the same); we add RFC 3206's [AUTH] code because our
	// CAPA advertises RESP-CODES (DESIGN.md §5).
	opts := os.Getenv("OPTIONS")
	if hasOption(opts, "disablepop3") {
		return fatal("[AUTH] POP3 access disabled for this account.")
	}
	if hasOption(opts, "disableinsecurepop3") && os.Getenv("POP3_TLS") != "1" {
		return fatal("[AUTH] POP3 access disabled via insecure connection.")
	}

	drop, err := pop3maildir.Open(".", maildir.Options{Quota: os.Getenv("MAILDIRQUOTA")})
	if err != nil {
		if errors.Is(err, pop3maildir.ErrInUse) {
			logf("INFO: LOCKED, %s", who)
			return fatal("[IN-USE] Mailbox in use by another POP3 session.")
		}
		logf("ERR: %s: %v", user, err)
		return fatal("[SYS/TEMP] Cannot open the maildrop.")
	}
	defer drop.Close()

	conn.OK("logged in.")
	logf("INFO: LOGIN, %s", who)

	s := &pop3.Session{
		Conn:        conn,
		Drop:        drop,
		Capa:        pop3.CapabilitiesFromEnv(os.Getenv),
		IdleTimeout: envconf.Seconds("POP3_IDLE_TIMEOUT", 600*time.Second),
		UTF8:        os.Getenv("POP3_UTF8") == "1",
		UnicodeType: os.Getenv("MIME_UNICODE_MESSAGE_TYPE"),
	}

	// A signal ends the session without UPDATE (nothing is deleted) and,
	// unlike Courier, without a log line: no signal handler, as in imapd
	// (DESIGN §5).

	out, err := s.Serve()
	conn.Flush()
	if err != nil {
		logf("ERR: %s: %v", user, err)
	}
	switch out {
	case pop3.Quit:
		logf("INFO: LOGOUT, %s", stats(who, s, conn, start))
	case pop3.TimedOut:
		logf("INFO: TIMEOUT, %s", stats(who, s, conn, start))
	default:
		logf("INFO: DISCONNECTED, %s", stats(who, s, conn, start))
	}
	return 0
}

func stats(who string, s *pop3.Session, c *pop3.Conn, start time.Time) string {
	// ", stls=1" when the session is on TLS (POP3_TLS=1), reference §1.4.
	tls := ""
	if os.Getenv("POP3_TLS") == "1" {
		tls = ", stls=1"
	}
	return fmt.Sprintf("%s, top=%d, retr=%d, rcvd=%d, sent=%d, time=%d%s", who,
		s.Stats.Top, s.Stats.Retr, c.Rcvd, c.Sent(), int(time.Since(start).Seconds()), tls)
}

func sanity() bool {
	for _, k := range []string{"POP3_MAILBOX_SANITY_CHECK", "IMAP_MAILBOX_SANITY_CHECK"} {
		if v := os.Getenv(k); v != "" {
			return v != "0"
		}
	}
	return true
}

// runLoginexec runs ./loginexec if it is owner-executable and deletes it
// when it exits 0 (reference §9.13). Its output goes to the client, as
// with Courier, so the hook must keep quiet.
func runLoginexec() {
	st, err := os.Stat("loginexec")
	if err != nil || !st.Mode().IsRegular() || st.Mode()&0o100 == 0 {
		return
	}
	cmd := exec.Command("./loginexec")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if cmd.Run() == nil {
		os.Remove("loginexec")
	}
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if en, ok := err.(syscall.Errno); ok {
		s := en.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
