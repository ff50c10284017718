// Command deliverquota delivers a message from standard input into a
// maildir while enforcing its Maildir++ quota, compatible with Courier's
// deliverquota(8):
//
//	deliverquota [-c] [-w percent] [-W file] maildir [quota]
//
// maildir may be a folder directory (one with a maildirfolder file); the
// quota then lives in its parent. Exit 0 on delivery and 75 (EX_TEMPFAIL)
// with "Mail quota exceeded." when over quota or on other errors. The man
// page promises 77 (EX_NOPERM) for over quota, but the real Courier 5.0.13
// binary (Debian) exits 75, and mail servers configured for Courier rely on
// the real behaviour (the message is retried, not bounced); see
// TestSameAsCourier. -c creates the maildir
// (mkdir -p). The obsolete quota argument sets the quota first. -w N
// delivers a warning (from -W, default /etc/courier/quotawarnmsg) when the
// maildir is at least N% full afterwards, at most once per 24 h (tracked by
// the mtime of the file "quotawarn" in the maildir).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gocourier/internal/maildir"
)

const (
	exOK       = 0
	exTempFail = 75
	// exOverQuota is what Courier's deliverquota really exits with.
	exOverQuota = exTempFail
)

func usage() {
	fmt.Fprintf(os.Stderr, "Usage: %s [-c] [-w percent] maildir\n", os.Args[0])
	os.Exit(exTempFail)
}

func main() {
	create := false
	warnPct := -1
	warnFile := "/etc/courier/quotawarnmsg"
	args := os.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		args = args[1:]
		switch {
		case a == "-c":
			create = true
		case a == "-w" || a == "-W":
			if len(args) == 0 {
				usage()
			}
			v := args[0]
			args = args[1:]
			if a == "-W" {
				warnFile = v
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				usage()
			}
			warnPct = n
		case strings.HasPrefix(a, "-w"):
			n, err := strconv.Atoi(a[2:])
			if err != nil {
				usage()
			}
			warnPct = n
		case strings.HasPrefix(a, "-W"):
			warnFile = a[2:]
		default:
			usage()
		}
	}
	if len(args) < 1 || len(args) > 2 {
		usage()
	}
	dir := args[0]
	if create {
		if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o700); err == nil {
			maildir.Make(dir)
		}
	}
	root := dir
	if _, err := os.Stat(filepath.Join(dir, "maildirfolder")); err == nil {
		root = filepath.Dir(filepath.Clean(dir))
	}
	m, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exTempFail)
	}
	if len(args) == 2 {
		if _, err := m.RecalcQuota(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(exTempFail)
		}
	}
	if _, err := m.Deliver(dir, os.Stdin, true); err != nil {
		if errors.Is(err, maildir.ErrOverQuota) {
			fmt.Fprintln(os.Stderr, "Mail quota exceeded.")
			os.Exit(exOverQuota)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exTempFail)
	}
	if warnPct >= 0 {
		warn(m, root, warnPct, warnFile)
	}
	os.Exit(exOK)
}

// warn delivers the quota warning message when usage is at least pct
// percent of either limit and no warning was sent in the last 24 h.
func warn(m *maildir.Maildir, root string, pct int, file string) {
	u, err := m.QuotaUsage()
	if err != nil || u.Spec.IsZero() {
		return
	}
	full := (u.Spec.Bytes > 0 && u.Bytes*100 >= u.Spec.Bytes*int64(pct)) ||
		(u.Spec.Count > 0 && u.Count*100 >= u.Spec.Count*int64(pct))
	if !full {
		return
	}
	marker := filepath.Join(root, "quotawarn")
	if st, err := os.Stat(marker); err == nil && time.Since(st.ModTime()) < 24*time.Hour {
		return
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var b bytes.Buffer
	now := time.Now()
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Date: %s\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-Id: <%d.overquota@%s>\n", now.Unix(), host)
	b.Write(body)
	if _, err := m.Deliver(root, &b, false); err == nil {
		os.WriteFile(marker, nil, 0o600)
		os.Chtimes(marker, now, now)
	}
}
