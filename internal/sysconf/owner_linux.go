package sysconf

import (
	"os"
	"syscall"
)

// owner returns the uid/gid of path so that a rewritten file keeps them
// (an admin may have made a config file group-readable for a mail group).
func owner(path string) (int, int) {
	st, err := os.Stat(path)
	if err != nil {
		return -1, -1
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), int(s.Gid)
	}
	return -1, -1
}
