package tcpd

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Bind creates a listening socket for spec. It uses the raw socket calls so
// that -listen=N sets the backlog (net.Listen cannot). "All addresses" is
// one dual-stack IPv6 socket (IPv4 clients appear as ::ffff:a.b.c.d, as in
// Courier); if the host has no IPv6 it falls back to IPv4.
func Bind(spec ListenSpec, backlog int) (net.Listener, error) {
	if backlog <= 0 {
		backlog = unix.SOMAXCONN
	}
	var (
		family int
		sa     unix.Sockaddr
		v6any  bool
	)
	if spec.Host == "" {
		family, sa, v6any = unix.AF_INET6, &unix.SockaddrInet6{Port: spec.Port}, true
	} else {
		a, err := netip.ParseAddr(spec.Host)
		if err != nil {
			return nil, fmt.Errorf("invalid IP address: %s", spec.Host)
		}
		if a.Is4() {
			family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: spec.Port, Addr: a.As4()}
		} else {
			s6 := &unix.SockaddrInet6{Port: spec.Port, Addr: a.As16()}
			if z := a.Zone(); z != "" {
				if ifi, err := net.InterfaceByName(z); err == nil {
					s6.ZoneId = uint32(ifi.Index)
				} else if n, err := strconv.Atoi(z); err == nil {
					s6.ZoneId = uint32(n)
				}
			}
			family, sa = unix.AF_INET6, s6
		}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil && v6any {
		family, sa, v6any = unix.AF_INET, &unix.SockaddrInet4{Port: spec.Port}, false
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (net.Listener, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %s: %w", what, spec, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if v6any {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), "listener "+spec.String())
	ln, err := net.FileListener(f) // dups the descriptor (close-on-exec)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", spec, err)
	}
	return ln, nil
}

// isListening tells a listening socket from a connected one (systemd
// Accept=no vs Accept=yes; go-systemd does not check, see go-libs.md §3).
func isListening(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var v int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		v, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	}); err != nil {
		return false, err
	}
	if serr != nil {
		return false, fmt.Errorf("getsockopt SO_ACCEPTCONN: %w", serr)
	}
	return v != 0, nil
}

// SweepCloseOnExec marks every inherited descriptor above 2 close-on-exec,
// so that nothing our own parent leaked can reach a child.
func SweepCloseOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}
