// Command makeuserdb checks the text userdb and tells a running
// authdaemond to reload it (makeuserdb(8)).
//
//	makeuserdb [-f file]
//
// Courier's makeuserdb compiles the text file into userdb.dat and
// userdbshadow.dat. Our authdaemond reads the text userdb itself and
// re-reads it within a second of a change, so no .dat file is made or
// needed. makeuserdb still does what an administrator relies on it for:
// it reports syntax errors and duplicate accounts (with file:line), refuses
// a userdb with group or world permissions, and then sends SIGHUP to the
// running authdaemond (pid in <authdaemonvar>/pid) so the change is live
// at once. Exit status 0 on success, 1 on any error.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"gocourier/internal/authd"
	"gocourier/internal/paths"
	"gocourier/internal/userdb"
)

func main() {
	def := paths.Sysconfdir + "/userdb"
	cfg, err := authd.LoadConfig(paths.AuthdaemonRC(), paths.AuthdaemonVar(), def)
	if err != nil {
		cfg = authd.DefaultConfig(paths.AuthdaemonVar(), def)
	}
	file := cfg.UserDB
	switch {
	case len(os.Args) == 3 && os.Args[1] == "-f":
		file = os.Args[2]
	case len(os.Args) != 1:
		fmt.Fprintln(os.Stderr, "Usage: makeuserdb [-f file]")
		os.Exit(1)
	}
	bad := false
	for _, e := range userdb.CheckPermissions(file) {
		fmt.Fprintf(os.Stderr, "makeuserdb: %v\n", e)
		bad = true
	}
	db, err := userdb.Load(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "makeuserdb: %v\n", err)
		bad = true
	}
	if bad {
		os.Exit(1)
	}
	for _, e := range db.Entries() {
		if _, err := strconv.Atoi(e.Value("uid")); err != nil {
			fmt.Fprintf(os.Stderr, "makeuserdb: warning: %s:%d: %s has no numeric uid\n", e.File, e.Line, e.Name)
		}
		if _, err := strconv.Atoi(e.Value("gid")); err != nil {
			fmt.Fprintf(os.Stderr, "makeuserdb: warning: %s:%d: %s has no numeric gid\n", e.File, e.Line, e.Name)
		}
	}
	varDir := cfg.AuthdaemonVar
	if v := os.Getenv("AUTHDAEMONVAR"); v != "" {
		varDir = v
	}
	if b, err := os.ReadFile(filepath.Join(varDir, "pid")); err == nil {
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		// A stale pid file may name an unrelated process now: only signal
		// a process whose command line is authdaemond.
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && pid > 0 && strings.Contains(string(cmdline), "authdaemond") {
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil && err != syscall.ESRCH {
				fmt.Fprintf(os.Stderr, "makeuserdb: cannot signal authdaemond (pid %d): %v\n", pid, err)
			}
		}
	}
}
