package login

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadSecret reads one line from in (newline stripped). When in is a
// terminal it prints prompt to stderr and turns echo off while reading, as
// userdbpw(8) and userdb(8) do. Used by the admin tools, kept here because
// it is shared by cmd/userdb and cmd/userdbpw.
func ReadSecret(in *os.File, prompt string) (string, error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return readLine(in)
	}
	fmt.Fprint(os.Stderr, prompt)
	noecho := *old
	noecho.Lflag &^= unix.ECHO
	noecho.Lflag |= unix.ICANON
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noecho); err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer func() {
		unix.IoctlSetTermios(fd, unix.TCSETS, old)
		fmt.Fprintln(os.Stderr)
	}()
	return readLine(in)
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readLine reads up to a newline without buffering past it, so that
// several reads from the same stdin each get their own line.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < 64*1024 {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if err == io.EOF {
			if b.Len() == 0 {
				return "", io.EOF
			}
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("input line too long")
}
