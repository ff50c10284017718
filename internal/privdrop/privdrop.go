// Package privdrop switches a process from root to a mail account.
//
// Invariant: after Drop returns nil, no thread of the process keeps root's
// uid, gid or supplementary groups. Go runs goroutines on several OS
// threads, and credentials are per thread in Linux, so every change goes
// through package syscall, whose Setgroups/Setresgid/Setresuid apply the
// change to all threads (AllThreadsSyscall in static builds). The x/sys/unix
// Setgroups is a single-thread raw syscall and must not be used here
// (see ../shared/reference/go-libs.md §5).
package privdrop

import (
	"fmt"
	"os"
	"syscall"
)

// Drop sets the real, effective and saved ids to uid and gid and clears the
// supplementary groups, in the only safe order: groups, then gid, then uid.
// Courier's login stage does the same before it execs the session program:
// the account gets no other groups (reference §1.2).
//
// When the process is not root, Drop succeeds only if it already runs as
// uid/gid (make run's unprivileged mode); it refuses to pretend otherwise.
func Drop(uid, gid int) error {
	if os.Geteuid() != 0 {
		if os.Geteuid() == uid && os.Getegid() == gid {
			return nil
		}
		return fmt.Errorf("privdrop: not root, cannot switch to uid %d gid %d (running as %d/%d)",
			uid, gid, os.Geteuid(), os.Getegid())
	}
	if uid == 0 {
		return fmt.Errorf("privdrop: refusing to run a mail session as uid 0")
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		return fmt.Errorf("privdrop: setgroups: %w", err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("privdrop: setresgid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("privdrop: setresuid %d: %w", uid, err)
	}
	// Prove it: getting root back must fail.
	if err := syscall.Setresuid(0, 0, 0); err == nil {
		return fmt.Errorf("privdrop: regained root after dropping to uid %d", uid)
	}
	return nil
}

// Credential returns what a process started by this one needs so that it
// runs as uid/gid with no supplementary groups, under the same rules as
// Drop: as root, the ids (uid 0 refused) and an empty group list, which
// the child applies (setgroups, setgid, setuid) between fork and exec; not
// as root, nil when this process already runs as uid/gid, else an error.
// couriertcpd uses it to start a session stage for a reusable login stage
// (internal/handoff), so the session starts as fresh and as unprivileged as
// one the login stage exec'd after Drop.
func Credential(uid, gid int) (*syscall.Credential, error) {
	if uid < 0 || gid < 0 {
		return nil, fmt.Errorf("privdrop: bad uid %d / gid %d", uid, gid)
	}
	if os.Geteuid() != 0 {
		if os.Geteuid() == uid && os.Getegid() == gid {
			return nil, nil
		}
		return nil, fmt.Errorf("privdrop: not root, cannot switch to uid %d gid %d (running as %d/%d)",
			uid, gid, os.Geteuid(), os.Getegid())
	}
	if uid == 0 {
		return nil, fmt.Errorf("privdrop: refusing to run a mail session as uid 0")
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}
