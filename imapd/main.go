// Command imapd is the post-login IMAP session stage (reference §1.1-§1.3,
// §4): `imapd <maildir>`, run as the mail user with the client socket on
// fd 0/1, exec'ed by imaplogin with IMAPLOGINTAG and AUTHENTICATED set, or
// run by hand (no IMAPLOGINTAG: "* PREAUTH Ready.", as Courier).
//
// Startup follows Courier's order (§1.3): AUTHENTICATED check, sticky-bit
// lock, chdir to the maildir, loginexec hook (§9.13), owner sanity check,
// IMAP_EMPTYTRASH (§9.14), clock-skew check, "<tag> OK LOGIN Ok.", then
// disableimap/disableinsecureimap, then the INFO: LOGIN log line.
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gocourier/internal/authproto"
	"gocourier/internal/envconf"
	"gocourier/internal/imapmaildir"
	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
	"gocourier/internal/stdioconn"
)

func main() {
	// One OS thread of Go code keeps the per-connection footprint small
	// (go-libs §1); the session is strictly sequential anyway.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(run())
}

type conn struct {
	r     io.Reader
	w     io.Writer
	close func()
}

func stdio() conn {
	if sock := stdioconn.Socket(); sock != nil {
		return conn{r: newIdleConn(sock), w: sock, close: func() { sock.Close() }}
	}
	return conn{r: os.Stdin, w: os.Stdout, close: func() { os.Stdin.Close() }}
}

func bye(w io.Writer, text string) int {
	fmt.Fprintf(w, "* BYE %s\r\n", text)
	return 1
}

// hasOption reports whether the account option name is on in the
// comma-separated $OPTIONS list.
func hasOption(opts, name string) bool {
	return (&authproto.UserInfo{Options: opts}).Enabled(name)
}

func run() int {
	c := stdio()
	log := os.Stderr
	tag := os.Getenv("IMAPLOGINTAG")
	user := os.Getenv("AUTHENTICATED")
	if os.Getenv("HOSTNAME") == "" {
		if h, err := os.Hostname(); err == nil {
			os.Setenv("HOSTNAME", h)
		}
	}
	os.Setenv("IMAP_STARTTLS", "NO")
	if tag == "" {
		if os.Getenv("TCPREMOTEIP") == "" {
			os.Setenv("TCPREMOTEIP", "127.0.0.1")
		}
		if os.Getenv("TCPREMOTEPORT") == "" {
			os.Setenv("TCPREMOTEPORT", "0")
		}
	}
	ip, port := os.Getenv("TCPREMOTEIP"), os.Getenv("TCPREMOTEPORT")
	if tag != "" && user == "" {
		return bye(c.w, "AUTHENTICATED environment variable not set.")
	}
	if user == "" {
		if u := os.Getenv("USER"); u != "" {
			user = u
		} else {
			user = fmt.Sprint(os.Getuid())
		}
	}
	// §1.3 step 2: a home directory with the sticky bit is a locked account.
	if st, err := os.Stat("."); err == nil && st.Mode()&os.ModeSticky != 0 {
		fmt.Fprintf(log, "INFO: LOCKED, user=%s, ip=[%s], port=[%s]\n", user, ip, port)
		return bye(c.w, "Your account is temporarily unavailable (+t bit set on home directory).")
	}
	mdir := "Maildir"
	if len(os.Args) > 1 && os.Args[1] != "" {
		mdir = os.Args[1]
	}
	if err := os.Chdir(mdir); err != nil {
		msg := errText(err)
		fmt.Fprintf(log, "chdir %s: %s\n", mdir, msg)
		return bye(c.w, "[ALERT] Fatal error: "+msg+": "+msg)
	}
	runLoginExec(log)
	if os.Getenv("IMAP_MAILBOX_SANITY_CHECK") != "0" {
		if st, err := os.Stat("."); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && (int(sys.Uid) != os.Geteuid() || int(sys.Gid) != os.Getegid()) {
				fmt.Fprintf(log, "ERR: %s: Account's mailbox directory is not owned by the correct uid or gid\n", user)
				return bye(c.w, "[ALERT] Fatal error: Account's mailbox directory is not owned by the correct uid or gid")
			}
		}
	}
	trash := os.Getenv("IMAP_TRASHFOLDERNAME")
	if trash == "" {
		trash = "Trash"
	}
	md, err := maildir.Open(".", maildir.Options{
		UseLocks:  os.Getenv("IMAP_USELOCKS") != "0",
		TrashName: strings.TrimPrefix(trash, "INBOX."),
		Quota:     os.Getenv("MAILDIRQUOTA"),
		Keywords:  os.Getenv("IMAP_KEYWORDS") != "0",
		Owner:     user,
		Hostname:  os.Getenv("HOSTNAME"),
	})
	if err != nil {
		fmt.Fprintf(log, "ERR: %s: %v\n", user, err)
		return bye(c.w, "[ALERT] Fatal error: "+errText(err)+": "+errText(err))
	}
	if v := os.Getenv("IMAP_EMPTYTRASH"); v != "" {
		if err := md.EmptyTrash(v); err != nil {
			fmt.Fprintf(log, "ERR: %s: IMAP_EMPTYTRASH: %v\n", user, err)
		}
	}
	if md.ClockSkewed() {
		return bye(c.w, "Clock skew detected. Check the clock on the file server")
	}
	store := imapmaildir.New(md)
	store.CheckAllFolders = os.Getenv("IMAP_CHECK_ALL_FOLDERS") == "1"
	store.User = user
	for _, o := range strings.Split(os.Getenv("OPTIONS"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(o), "="); ok && k == "group" && v != "" {
			store.Groups = append(store.Groups, v)
		}
	}
	cfg := imapserver.Config{
		Log: log, User: user, IP: ip, Port: port,
		IdleRescan: envconf.Seconds("IMAP_IDLE_TIMEOUT", 60*time.Second),
		KeepAlive:  envconf.Seconds("IMAP_KEEPALIVE", 5*time.Minute),
		Autologout: envconf.Seconds("IMAP_AUTOLOGOUT", 30*time.Minute),
		OnTimeout:  c.close,
	}
	// Largest APPEND accepted (our addition; default 200 MiB, RFC 7889
	// TOOBIG beyond it).
	if n, err := strconv.ParseInt(os.Getenv("IMAP_MAXMSGSIZE"), 10, 64); err == nil && n > 0 {
		cfg.MaxAppend = n
	}
	sess := imapserver.NewSession(cfg, store, c.r, c.w)
	greeting := "* PREAUTH Ready."
	if tag != "" {
		greeting = tag + " OK LOGIN Ok."
	}
	// Courier checks disableimap only after "OK LOGIN Ok." (§1.1), so
	// the client first believes it is logged in. We check before and
	// answer the LOGIN with NO (DESIGN.md §5), then BYE.
	opts := os.Getenv("OPTIONS")
	deny := ""
	if hasOption(opts, "disableimap") {
		deny = "IMAP access disabled for this account."
	} else if hasOption(opts, "disableinsecureimap") && os.Getenv("IMAP_TLS") != "1" {
		deny = "IMAP access disabled via insecure connection."
	}
	if deny != "" {
		fmt.Fprintf(log, "INFO: LOGIN REFUSED, user=%s, ip=[%s], port=[%s], reason=%s\n", user, ip, port, deny)
		if tag != "" {
			fmt.Fprintf(c.w, "%s NO %s\r\n", tag, deny)
		}
		fmt.Fprintf(c.w, "* BYE %s\r\n", deny)
		return 1
	}
	fmt.Fprintf(log, "INFO: LOGIN, user=%s, ip=[%s], port=[%s], protocol=IMAP\n", user, ip, port)
	// No signal handler: SIGTERM/SIGHUP/SIGINT end the session at once, with
	// no "* BYE ... shut down by signal" (DESIGN §5). os/signal would keep
	// two more threads and about 64 kB in every idle session (issue 2); the
	// storage is crash-safe, so nothing acknowledged is lost.
	err = sess.Run(greeting)
	if v := os.Getenv("IMAP_EMPTYTRASH"); v != "" {
		md.EmptyTrash(v)
	}
	if err != nil {
		return 1
	}
	return 0
}

// errText renders an error as strerror would.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if errno, ok := err.(syscall.Errno); ok {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// runLoginExec runs ./loginexec when it is owner-executable and deletes it
// after a zero exit (§9.13). Its output goes to the client like Courier's.
func runLoginExec(log io.Writer) {
	st, err := os.Stat("loginexec")
	if err != nil || !st.Mode().IsRegular() || st.Mode()&0o100 == 0 {
		return
	}
	cmd := exec.Command("./loginexec")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err == nil {
		os.Remove("loginexec")
	} else {
		fmt.Fprintf(log, "loginexec: %v\n", err)
	}
}
