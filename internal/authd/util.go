package authd

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"
)

// decodeB64 accepts standard base64 with or without padding.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// peerCred describes the client process (SO_PEERCRED), for debug logs.
func peerCred(c *net.UnixConn) (string, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return "", err
	}
	var cred *unix.Ucred
	var cerr error
	err = raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil {
		return "", err
	}
	if cerr != nil {
		return "", cerr
	}
	return fmt.Sprintf("pid=%d uid=%d gid=%d", cred.Pid, cred.Uid, cred.Gid), nil
}
