// Package handoff passes one accepted connection from couriertcpd to a login
// stage that was started before the connection arrived (a "pre-started"
// stage, DESIGN §1 and §7). The stage pays for its exec and Go runtime
// start-up while the server is idle, so a client's connect-to-greeting time
// no longer includes it.
//
// The protocol: couriertcpd starts the program with fds 0 and 1 on
// /dev/null, the daemon's usual stderr, its own end of a SOCK_SEQPACKET
// socketpair on fd 3 and EnvFD=3 in the environment. When a connection is
// accepted it sends exactly one message on that pair: the connection's
// variables (TCPREMOTEIP=..., access-file variables), NUL-separated, with the
// client socket as SCM_RIGHTS. The stage moves the socket onto fds 0 and 1,
// closes fd 3, sets the variables and carries on exactly as a stage that
// couriertcpd fork/exec'd for that connection.
//
// Invariants:
//   - A pre-started stage serves one connection at a time. Without
//     EnvReuse it serves exactly one: Receive succeeds at most once per
//     process and the control descriptor is closed after it. With EnvReuse
//     it serves several, one after the other (reuse.go), and every session
//     is still a fresh process started as the account.
//   - Nothing is read from or written to the client before Receive returns,
//     and nothing but the control message's variables changes the
//     environment the stage had at start-up.
//   - Every message is bounded (MaxMessage) and carries exactly one
//     descriptor; anything else is an error and the stage exits.
package handoff

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvFD names the variable that tells a stage it was pre-started and which
// descriptor carries the control socket.
const EnvFD = "COURIERTCPD_HANDOFF_FD"

// MaxMessage bounds the variables of one connection.
const MaxMessage = 64 << 10

// ErrClosed means couriertcpd closed the control socket without handing a
// connection over (it is stopping, or has too many spares): the stage exits
// quietly.
var ErrClosed = errors.New("handoff: control socket closed without a connection")

// Pending reports whether this process was pre-started (EnvFD is set).
func Pending() bool { return os.Getenv(EnvFD) != "" }

// Encode builds the payload of a hand-off message. Variables must be
// NAME=value without NUL bytes.
func Encode(vars []string) ([]byte, error) {
	var b bytes.Buffer
	for _, kv := range vars {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("handoff: bad variable %q", kv)
		}
		b.WriteString(kv)
		b.WriteByte(0)
	}
	if b.Len() > MaxMessage {
		return nil, fmt.Errorf("handoff: %d bytes of variables, limit %d", b.Len(), MaxMessage)
	}
	return b.Bytes(), nil
}

// Decode splits a payload into NAME=value variables.
func Decode(p []byte) ([]string, error) {
	if len(p) > MaxMessage {
		return nil, fmt.Errorf("handoff: message of %d bytes", len(p))
	}
	var out []string
	for len(p) > 0 {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			return nil, errors.New("handoff: unterminated variable")
		}
		kv := string(p[:i])
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return nil, fmt.Errorf("handoff: bad variable %q", kv)
		}
		out = append(out, kv)
		p = p[i+1:]
	}
	return out, nil
}

// Send hands conn (a socket descriptor) and vars to the stage at the other
// end of ctl. The caller closes its copies of both afterwards.
func Send(ctl, conn int, vars []string) error {
	p, err := Encode(vars)
	if err != nil {
		return err
	}
	if len(p) == 0 {
		p = []byte{0} // a zero-length SEQPACKET reads as end of file
	}
	if err := unix.Sendmsg(ctl, p, unix.UnixRights(conn), nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("handoff: sendmsg: %w", err)
	}
	return nil
}

// Receive waits for the connection (blocking) when the process was
// pre-started, installs it on fds 0 and 1, closes the control descriptor,
// removes EnvFD and sets the connection's variables. It does nothing when
// the process was started for a connection already (EnvFD unset). On
// ErrClosed the stage should exit 0 without output. A stage that can be
// reused (reuse.go) calls Open and Stage.Next instead.
func Receive() error {
	st, err := open(false)
	if err != nil || st == nil {
		return err
	}
	return st.Next()
}

// recvConn reads one connection message from ctl: the socket and the
// variables.
// buf must hold MaxMessage+1 bytes. On a non-blocking ctl with nothing
// queued the error wraps unix.EAGAIN.
func recvConn(ctl int, buf []byte) (int, []string, error) {
	n, fds, truncated, err := recvWithRights(ctl, buf)
	if err != nil {
		return -1, nil, err
	}
	if n == 0 && len(fds) == 0 {
		return -1, nil, ErrClosed
	}
	bad := func(e error) (int, []string, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, nil, e
	}
	if truncated {
		return bad(errors.New("handoff: message truncated"))
	}
	if len(fds) != 1 {
		return bad(fmt.Errorf("handoff: %d descriptors, want 1", len(fds)))
	}
	p := buf[:n]
	if n == 1 && p[0] == 0 {
		p = nil
	}
	vars, err := Decode(p)
	if err != nil {
		return bad(err)
	}
	return fds[0], vars, nil
}

// recvWithRights reads one message from ctl and the descriptors it carries
// (made close-on-exec), retrying on EINTR. truncated reports a message or
// control data cut short.
func recvWithRights(ctl int, buf []byte) (n int, fds []int, truncated bool, err error) {
	oob := make([]byte, unix.CmsgSpace(4*4)) // room to notice extra descriptors
	var oobn, flags int
	for {
		n, oobn, flags, _, err = unix.Recvmsg(ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("handoff: recvmsg: %w", err)
	}
	if fds, err = rights(oob[:oobn]); err != nil {
		return 0, nil, false, err
	}
	return n, fds, flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0, nil
}

func rights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("handoff: control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		f, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("handoff: control message: %w", err)
		}
		fds = append(fds, f...)
	}
	return fds, nil
}
