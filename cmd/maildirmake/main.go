// Command maildirmake creates maildirs and Maildir++ folders, compatible
// with Courier's maildirmake(1):
//
//	maildirmake [-S] [-q quota] [-f folder | -F folder] [-s mode] maildir
//
// -S makes a sharable maildir (0755 top directory); -s read|write[,group]
// with -f makes a publicly accessible folder in it (read: 0755, write:
// sticky and world-writable tmp/new/cur, group: group instead of world).
// -q installs or updates the quota (maildirsize, recalculated). Errors are
// "maildirmake: <path>: <reason>" and exit status 1, as Courier's.
//
//	maildirmake --add name=/path maildir
//	maildirmake --del name maildir
//
// maintain the maildir's shared-maildirs list (reference §9.11), with
// Courier's messages and exit codes: usage errors print the usage line on
// stdout; a name defined already (here or in /etc/courier/maildirshared)
// exits 2. --add/--del override every other option; the last --add wins,
// and --add wins over --del (as maildirmake.courier 5.0.13 does).
// The pre-5.0 name conversion (--checkutf8/--convutf8) is not implemented.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"gocourier/internal/maildir"
)

func usage() {
	// Courier prints this one on stdout.
	fmt.Fprintln(os.Stdout, "Usage: maildirmake [ options ] maildir")
	os.Exit(1)
}

// strerror renders an error as C's perror does ("No such file or
// directory").
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func perror(what string, err error, code int) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", what, strerror(err))
	os.Exit(code)
}

// shared implements --add name=/path and --del name (§9.11).
func shared(add, del string, args []string) {
	if len(args) < 1 {
		usage()
	}
	dir := args[0] // Courier ignores further arguments here
	if add != "" {
		i := strings.IndexByte(add, '=')
		if i < 0 || !strings.HasPrefix(add[i+1:], "/") {
			usage()
		}
		name, path := add[:i], add[i+1:]
		if err := unix.Access(path, unix.R_OK); err != nil {
			perror(path, err, 1)
		}
		if !maildir.ValidSharedName(name) {
			fmt.Fprintf(os.Stderr, "%s: invalid name\n", name)
			os.Exit(1)
		}
		if st, err := os.Stat(dir); err != nil {
			perror(dir, err, 1)
		} else if !st.IsDir() {
			perror(dir, syscall.ENOTDIR, 1)
		}
		if err := maildir.AddSharedMaildir(dir, name, path); err != nil {
			switch {
			case errors.Is(err, maildir.ErrSharedExists):
				fmt.Fprintf(os.Stderr, "%s: already defined as a sharable maildir.\n", name)
				os.Exit(2)
			case errors.Is(err, maildir.ErrSharedName):
				fmt.Fprintf(os.Stderr, "%s: invalid name\n", name)
				os.Exit(1)
			}
			perror(dir, err, 1)
		}
		return
	}
	if err := maildir.DelSharedMaildir(dir, del); err != nil {
		if errors.Is(err, maildir.ErrSharedNotFound) {
			fmt.Fprintf(os.Stderr, "%s: not found.\n", del)
			os.Exit(1)
		}
		perror(dir, err, 1) // Courier names the maildir, not the list
	}
}

func fail(path string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrExist) {
		err = errors.New("File exists")
	}
	fmt.Fprintf(os.Stderr, "maildirmake: %s: %v\n", path, err)
	os.Exit(1)
}

func main() {
	var quota, folder, shareMode, add, del string
	sharable := false
	args := os.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		takeArg := func() string {
			if len(args) == 0 {
				usage()
			}
			v := args[0]
			args = args[1:]
			return v
		}
		switch {
		case a == "-S":
			sharable = true
		case a == "-q":
			quota = takeArg()
		case strings.HasPrefix(a, "-q") && len(a) > 2:
			quota = a[2:]
		case a == "-f" || a == "-F":
			folder = takeArg()
		case (strings.HasPrefix(a, "-f") || strings.HasPrefix(a, "-F")) && len(a) > 2:
			folder = a[2:]
		case a == "-s":
			shareMode = takeArg()
		case strings.HasPrefix(a, "-s") && len(a) > 2:
			shareMode = a[2:]
		case a == "--add":
			add = takeArg()
			if add == "" {
				usage()
			}
		case a == "--del":
			del = takeArg()
			if del == "" {
				usage()
			}
		case a == "--checkutf8" || a == "--convutf8":
			fmt.Fprintf(os.Stderr, "maildirmake: %s is not supported by this implementation\n", a)
			os.Exit(1)
		default:
			usage()
		}
	}
	if add != "" || del != "" {
		shared(add, del, args)
		return
	}
	if len(args) != 1 {
		usage()
	}
	dir := args[0]
	if shareMode != "" && folder == "" {
		usage()
	}
	if folder != "" {
		makeFolder(dir, folder, shareMode)
		if quota != "" {
			setQuota(dir, quota)
		}
		return
	}
	if quota != "" {
		// -q creates the maildir when missing, else updates the quota.
		if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
			if err := maildir.Make(dir); err != nil {
				fail(dir, err)
			}
		}
		setQuota(dir, quota)
		return
	}
	if err := maildir.Make(dir); err != nil {
		fail(dir, err)
	}
	if sharable {
		if err := os.Chmod(dir, 0o755); err != nil {
			fail(dir, err)
		}
	}
}

func setQuota(dir, q string) {
	m, err := maildir.Open(dir, maildir.Options{})
	if err != nil {
		fail(dir, err)
	}
	if _, err := m.RecalcQuota(q); err != nil {
		fail(dir, err)
	}
}

func makeFolder(dir, folder, shareMode string) {
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		fail(dir, err)
	}
	if folder == "" || strings.HasPrefix(folder, ".") || strings.HasSuffix(folder, ".") ||
		strings.Contains(folder, "..") || strings.Contains(folder, "/") {
		fail(folder, errors.New("Invalid folder name"))
	}
	fdir := filepath.Join(dir, "."+folder)
	if err := os.Mkdir(fdir, 0o700); err != nil {
		fail(fdir, err)
	}
	subMode, topMode := os.FileMode(0o700), os.FileMode(0o700)
	if shareMode != "" {
		write, group := false, false
		for _, w := range strings.Split(shareMode, ",") {
			switch strings.TrimSpace(w) {
			case "read":
			case "write":
				write = true
			case "group":
				group = true
			default:
				os.Remove(fdir)
				usage()
			}
		}
		switch {
		case write && group:
			topMode, subMode = 0o750|os.ModeSticky, 0o770|os.ModeSticky
		case write:
			topMode, subMode = 0o755|os.ModeSticky, 0o777|os.ModeSticky
		case group:
			topMode, subMode = 0o750, 0o750
		default:
			topMode, subMode = 0o755, 0o755
		}
	}
	for _, s := range []string{"tmp", "new", "cur"} {
		p := filepath.Join(fdir, s)
		if err := os.Mkdir(p, 0o700); err != nil {
			fail(p, err)
		}
		if err := os.Chmod(p, subMode); err != nil {
			fail(p, err)
		}
	}
	mf, err := os.OpenFile(filepath.Join(fdir, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fail(fdir, err)
	}
	mf.Close()
	if err := os.Chmod(fdir, topMode); err != nil {
		fail(fdir, err)
	}
}
