// Command sysconftool installs configuration files from their .dist copies,
// keeping the administrator's settings across upgrades (reference §12.2).
//
// Usage: sysconftool file.dist ...
//
// For each file it prints one line saying what was done and, after a merge,
// one line per setting that was reset, added or removed, so the output can
// be reviewed after `make install-configure`. Exit status is 1 if any file
// failed; the other files are still processed.
package main

import (
	"fmt"
	"os"

	"gocourier/internal/sysconf"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: sysconftool file.dist ...")
		return 2
	}
	status := 0
	for _, dist := range args {
		res, err := sysconf.Install(dist)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sysconftool: %v\n", err)
			status = 1
			continue
		}
		fmt.Printf("%s: %s\n", res.Target, res.Action)
		for _, c := range res.Changes {
			if c.Kind != sysconf.Kept {
				fmt.Printf("  %s\n", c)
			}
		}
	}
	return status
}
