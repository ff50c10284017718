package authd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// Listen creates the Unix socket at path the way Courier's authdaemond
// lays it out (reference §10.1; Debian: /run/courier/authdaemon is 0750,
// the socket 0777): the directory, created 0750 if missing, is what keeps
// ordinary users out; the socket itself is 0777 so that any process allowed
// into the directory (root, the login stages) can connect.
//
// The socket is bound under a temporary name and renamed over path, so a
// restart replaces the old socket atomically and clients never find the
// path missing.
func Listen(path string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	tmp := filepath.Join(dir, ".socket.tmp."+strconv.Itoa(os.Getpid()))
	os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("authd: listen %s: %w", tmp, err)
	}
	l.SetUnlinkOnClose(false) // the path is renamed; never remove a successor's socket
	if err := os.Chmod(tmp, 0o777); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("authd: chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("authd: rename socket to %s: %w", path, err)
	}
	return l, nil
}
