// Command maildiracl manages Courier-IMAP folder ACLs offline,
// compatible with Courier's maildiracl(1):
//
//	maildiracl -reset maildir
//	maildiracl -list maildir INBOX[.folder]
//	maildiracl -set maildir INBOX[.folder] [-]identifier [+/-]rights
//	maildiracl -delete maildir INBOX[.folder] [-]identifier
//	maildiracl -compute maildir INBOX[.folder] identifier...
//
// Identifiers use the stored form (owner, anyone, anonymous,
// administrators, user=x, group=x). -list prints "identifier<TAB>rights".
// Changes that would take "a" or "l" from the owner, or any right from
// administrators, are refused (exit 1), as Courier does.
package main

import (
	"fmt"
	"os"

	"gocourier/internal/maildir"
	"gocourier/internal/maildir/acl"
)

func usage() {
	fmt.Fprintln(os.Stderr, "Usage: maildiracl [ options ] maildir [INBOX[.folder] [identifier rights]]")
	os.Exit(1)
}

func die(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	a := os.Args[1:]
	if len(a) < 2 {
		usage()
	}
	m, err := maildir.Open(a[1], maildir.Options{})
	if err != nil {
		die(err)
	}
	switch a[0] {
	case "-reset":
		if len(a) != 2 {
			usage()
		}
		if err := m.ResetACLs(); err != nil {
			die(err)
		}
	case "-list":
		if len(a) != 3 {
			usage()
		}
		l, err := m.GetACL(a[2])
		if err != nil {
			die(err)
		}
		for _, e := range l {
			fmt.Printf("%s\t%s\n", e.Identifier, e.Rights)
		}
	case "-set", "-delete":
		if (a[0] == "-set" && len(a) != 5) || (a[0] == "-delete" && len(a) != 4) {
			usage()
		}
		if !acl.ValidIdentifier(a[3]) {
			die(fmt.Errorf("Invalid identifier: %s", a[3]))
		}
		l, err := m.GetACL(a[2])
		if err != nil {
			die(err)
		}
		if a[0] == "-set" {
			l = l.Modify(a[3], a[4])
		} else {
			l = l.Delete(a[3])
		}
		if who, ok := l.CheckInvariants(); !ok {
			die(fmt.Errorf("Trying to set invalid access rights for %s", who))
		}
		if err := m.SetACL(a[2], l); err != nil {
			die(err)
		}
	case "-compute":
		if len(a) < 4 {
			usage()
		}
		l, err := m.GetACL(a[2])
		if err != nil {
			die(err)
		}
		fmt.Println(l.Compute(a[3:]))
	default:
		usage()
	}
}
