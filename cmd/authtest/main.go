// Command authtest asks authdaemond about an account, like courier-authlib's
// authtest:
//
//	authtest [-s service] userid                      look up (PRE)
//	authtest [-s service] userid password             authenticate (AUTH login)
//	authtest [-s service] userid password newpassword change the password (PASSWD)
//
// The service defaults to "login". Output and exit codes follow Courier's
// authtest: a report on stdout and exit 0 on success; on failure
// "Authentication FAILED: <error>" on stderr and exit 1, where a rejected
// login reads "Operation not permitted" (EPERM) and a daemon problem
// "Input/output error" (EIO), the errno texts libcourierauth yields.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"gocourier/internal/authclient"
	"gocourier/internal/authproto"
	"gocourier/internal/paths"
)

func usage() {
	fmt.Fprintln(os.Stderr, "Usage: authtest [-s service] userid [ password [ newpassword ] ]")
	os.Exit(1)
}

func main() {
	args := os.Args[1:]
	service := "login"
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		switch {
		case args[0] == "-s" && len(args) > 1:
			service, args = args[1], args[2:]
		case len(args[0]) > 2 && args[0][:2] == "-s":
			service, args = args[0][2:], args[1:]
		default:
			usage()
		}
	}
	if len(args) < 1 || len(args) > 3 {
		usage()
	}
	os.Exit(run(authclient.New(paths.AuthdaemonSocket()), service, args, os.Stdout, os.Stderr))
}

func errText(err error) string {
	if errors.Is(err, authproto.ErrFail) {
		return "Operation not permitted"
	}
	return "Input/output error"
}

func run(c *authclient.Client, service string, args []string, stdout, stderr io.Writer) int {
	user := args[0]
	if len(args) == 3 {
		if err := c.Passwd(service, user, args[1], args[2]); err != nil {
			// Courier's authtest words a failed change like a failed login.
			fmt.Fprintf(stderr, "Authentication FAILED: %s\n", errText(err))
			return 1
		}
		fmt.Fprintln(stderr, "Password change succeeded.") // stderr, as Courier's authtest
		return 0
	}
	var req *authproto.Request
	if len(args) == 2 {
		req = authproto.NewLogin(service, user, args[1])
	} else {
		req = authproto.NewPre(service, user)
	}
	u, err := c.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "Authentication FAILED: %s\n", errText(err))
		return 1
	}
	none := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	fmt.Fprintf(stdout, "Authentication succeeded.\n\n")
	if u.Username != "" {
		fmt.Fprintf(stdout, "     Authenticated: %s  (system username: %s)\n", u.Address, u.Username)
	} else {
		fmt.Fprintf(stdout, "     Authenticated: %s  (uid %d, gid %d)\n", u.Address, u.UID, u.GID)
	}
	fmt.Fprintf(stdout, "    Home Directory: %s\n", u.Home)
	fmt.Fprintf(stdout, "           Maildir: %s\n", none(u.Maildir))
	fmt.Fprintf(stdout, "             Quota: %s\n", none(u.Quota))
	fmt.Fprintf(stdout, "Encrypted Password: %s\n", none(u.Passwd))
	fmt.Fprintf(stdout, "Cleartext Password: %s\n", none(u.Passwd2))
	fmt.Fprintf(stdout, "           Options: %s\n", none(u.Options))
	return 0
}
