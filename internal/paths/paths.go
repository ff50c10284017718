// Package paths holds the installation layout that the programs were built
// for. The Makefile sets the variables with -ldflags -X at build time, so
// that a binary installed under PREFIX finds its config files, its helper
// programs and the authdaemond socket without being told; `make run` builds
// with PREFIX=./run and so gets a private layout.
//
// Environment overrides exist for tests and for administrators who move
// things after installation; they are read here and nowhere else.
package paths

import "os"

// Set by the Makefile (-X gocourier/internal/paths.Prefix=...). The defaults
// are Courier-IMAP's own standalone layout.
var (
	Prefix        = "/usr/lib/courier-imap"
	Sysconfdir    = "/usr/lib/courier-imap/etc"
	Bindir        = "/usr/lib/courier-imap/bin"
	Sbindir       = "/usr/lib/courier-imap/sbin"
	Libexecdir    = "/usr/lib/courier-imap/libexec"
	Datadir       = "/usr/lib/courier-imap/share"
	Localstatedir = "/usr/lib/courier-imap/var"
	Version       = "0.1.0"
)

// AuthdaemonVar is the directory that holds authdaemond's socket and pid
// file (authdaemonrc's authdaemonvar). AUTHDAEMONVAR overrides it.
func AuthdaemonVar() string {
	if v := os.Getenv("AUTHDAEMONVAR"); v != "" {
		return v
	}
	return Localstatedir + "/authdaemon"
}

// AuthdaemonSocket is the Unix socket that login stages connect to.
// Courier compiles this path into libcourierauth; AUTHDAEMONSOCK overrides
// ours (tests use it to point a login stage at a private authd).
func AuthdaemonSocket() string {
	if v := os.Getenv("AUTHDAEMONSOCK"); v != "" {
		return v
	}
	return AuthdaemonVar() + "/socket"
}

// AuthdaemonRC is the authdaemond configuration file.
func AuthdaemonRC() string {
	if v := os.Getenv("AUTHDAEMONRC"); v != "" {
		return v
	}
	return Sysconfdir + "/authdaemonrc"
}
