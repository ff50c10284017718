package handoff

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEncodeDecode(t *testing.T) {
	tests := []struct {
		name string
		vars []string
		bad  bool
	}{
		{"none", nil, false},
		{"usual", []string{"TCPREMOTEIP=::ffff:127.0.0.1", "TCPREMOTEPORT=4000", "EMPTY=", "Q=a,b=c"}, false},
		{"no equals", []string{"FOO"}, true},
		{"empty name", []string{"=x"}, true},
		{"NUL", []string{"A=b\x00c"}, true},
		{"too big", []string{"A=" + strings.Repeat("x", MaxMessage)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Encode(tc.vars)
			if tc.bad {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(p)
			if err != nil || !slices.Equal(got, tc.vars) {
				t.Fatalf("Decode = %q, %v; want %q", got, err, tc.vars)
			}
		})
	}
	for _, p := range []string{"A=b", "noequals\x00", "=x\x00"} {
		if _, err := Decode([]byte(p)); err == nil {
			t.Errorf("Decode(%q) accepted", p)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("A=b\x00C=\x00"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, p []byte) {
		vars, err := Decode(p)
		if err != nil {
			return
		}
		q, err := Encode(vars)
		if err != nil || string(q) != string(p) {
			t.Fatalf("round trip: %q -> %q -> %q, %v", p, vars, q, err)
		}
	})
}

// TestMain's child mode: a stage started with the control socket on fd 3.
func TestMain(m *testing.M) {
	if os.Getenv("HANDOFF_TEST_CHILD") != "" {
		err := Receive()
		switch {
		case errors.Is(err, ErrClosed):
			os.Exit(7)
		case err != nil:
			os.Stderr.WriteString(err.Error())
			os.Exit(8)
		}
		w := bufio.NewWriter(os.Stdout)
		w.WriteString("VAR " + os.Getenv("TCPREMOTEIP") + "\n")
		w.WriteString("FD " + os.Getenv(EnvFD) + "\n")
		if _, err := unix.FcntlInt(3, unix.F_GETFD, 0); err == nil {
			w.WriteString("FD3 open\n")
		}
		w.Flush()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startChild(t *testing.T) (*exec.Cmd, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HANDOFF_TEST_CHILD=1", EnvFD+"=3")
	cmd.ExtraFiles = []*os.File{theirs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	t.Cleanup(func() { ours.Close(); cmd.Process.Kill(); cmd.Wait() })
	return cmd, ours
}

func TestReceive(t *testing.T) {
	cmd, ctl := startChild(t)
	// The "connection" is one end of a socketpair: the child writes its
	// report to fd 1, which must be that socket.
	conn, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(conn[0])
	if err := Send(int(ctl.Fd()), conn[1], []string{"TCPREMOTEIP=::ffff:192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	unix.Close(conn[1])
	var out []byte
	buf := make([]byte, 512)
	for {
		n, err := unix.Read(conn[0], buf)
		if n <= 0 || err != nil {
			break
		}
		out = append(out, buf[:n]...)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if got, want := string(out), "VAR ::ffff:192.0.2.1\nFD \n"; got != want {
		t.Fatalf("child reported %q, want %q (variable set, %s unset, fd 3 closed)", got, want, EnvFD)
	}
}

func TestReceiveClosed(t *testing.T) {
	cmd, ctl := startChild(t)
	ctl.Close()
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("child exit %v, want 7 (ErrClosed)", err)
	}
}

func TestReceiveWithoutDescriptor(t *testing.T) {
	cmd, ctl := startChild(t)
	if _, err := ctl.Write([]byte("A=b\x00")); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 8 {
		t.Fatalf("child exit %v, want 8 (refused)", err)
	}
}
