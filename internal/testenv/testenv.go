// Package testenv holds the prerequisite checks and build helpers that the
// tests of many packages share, so that the rule they follow is written once:
//
//   - A test whose prerequisite (root, a Debian package, the real Courier
//     unpacked by scripts/courier-ref.sh, the go tool) is missing skips with
//     the reason, except under CI (CI=true), where .ci/run has installed
//     everything and a missing prerequisite is a defect: the test fails.
//   - Programs under test are built from the working tree with CGO_ENABLED=0,
//     as the Makefile builds them, into the test's temporary directory.
//
// Only tests import this package.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CourierRoot is where scripts/courier-ref.sh unpacks Debian's
// Courier-IMAP 5.0.13 and its tools (reference §0.2).
const CourierRoot = "/opt/courier-ref/root"

// CI reports whether the tests run under .ci/run (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips t with the message, or fails it when CI is set.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// NeedRoot skips (or, under CI, fails) t unless it runs as root; why says
// what needs it.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root: %s", why)
	}
}

// NeedProgram returns the path of the program name from $PATH, or skips
// (fails under CI) naming the Debian package that provides it.
func NeedProgram(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, "%s not installed (Debian package %s)", name, debianPackage)
	}
	return p
}

// NeedFile returns path if it exists, or skips (fails under CI) with hint,
// which says how to get it.
func NeedFile(t testing.TB, path, hint string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		SkipOrFail(t, "%s missing (%s)", path, hint)
	}
	return path
}

// CourierBin returns the path of one of real Courier's programs, rel being
// relative to CourierRoot (for example "usr/bin/maildirkw").
func CourierBin(t testing.TB, rel string) string {
	t.Helper()
	return NeedFile(t, filepath.Join(CourierRoot, rel), "scripts/courier-ref.sh install")
}

// GoBuild builds the Go package pkg (an import path, or "." for the test's
// own directory) with CGO_ENABLED=0 into t's temporary directory as name
// and returns the binary's path. A build failure fails the test.
func GoBuild(t testing.TB, pkg, name string) string {
	t.Helper()
	goTool := NeedProgram(t, "go", "golang")
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(goTool, "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Need skips (or, under CI, fails) t with why unless ok.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if !ok {
		SkipOrFail(t, "%s", why)
	}
}

// BuildTemp is GoBuild for TestMain, which has no testing.T: it builds pkg
// into a new temporary directory and returns the binary and a function
// that removes the directory.
func BuildTemp(pkg, name string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, cleanup, nil
}
