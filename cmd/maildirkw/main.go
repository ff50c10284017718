// Command maildirkw sets or lists IMAP keywords of maildir messages,
// compatible with Courier's maildirkw(1):
//
//	maildirkw [-c] [-l] [-a] [-r] maildir message [keyword...]
//	maildirkw [-c] -L maildir
//
// message is a file name in cur/ (with or without ":2,flags"). Keywords
// replace the message's set unless -a (add) or -r (remove). -l takes the
// IMAP_USELOCKS dot-lock. Without -c keywords compare case-insensitively.
// -L prints "<base name> <keywords...>" for every message in cur/
// (Courier prints them in readdir order; we sort them).
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"gocourier/internal/maildir"
)

func usage() {
	fmt.Fprintln(os.Stderr, "Usage: maildirkw [ options ] maildir [+/-]flag [+/-]flag...")
	os.Exit(1)
}

func main() {
	var caseSens, lock, add, remove, list bool
	args := os.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		for _, c := range args[0][1:] {
			switch c {
			case 'c':
				caseSens = true
			case 'l':
				lock = true
			case 'a':
				add = true
			case 'r':
				remove = true
			case 'L':
				list = true
			default:
				usage()
			}
		}
		args = args[1:]
	}
	if list {
		if len(args) != 1 {
			usage()
		}
		m, err := maildir.Open(args[0], maildir.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		kw, err := m.MessageKeywords("INBOX")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var names []string
		for n := range kw {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			k := append([]string(nil), kw[n]...)
			sort.Strings(k)
			fmt.Println(strings.TrimSpace(n + " " + strings.Join(k, " ")))
		}
		return
	}
	if len(args) < 2 {
		usage()
	}
	m, err := maildir.Open(args[0], maildir.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	msg := args[1]
	base := msg
	if i := strings.IndexByte(base, ':'); i >= 0 {
		base = base[:i]
	}
	given := args[2:]
	eq := func(a, b string) bool {
		if caseSens {
			return a == b
		}
		return strings.EqualFold(a, b)
	}
	var result []string
	if add || remove {
		kw, err := m.MessageKeywords("INBOX")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		result = kw[base]
	}
	contains := func(l []string, k string) bool {
		for _, x := range l {
			if eq(x, k) {
				return true
			}
		}
		return false
	}
	switch {
	case remove:
		var out []string
		for _, k := range result {
			if !contains(given, k) {
				out = append(out, k)
			}
		}
		result = out
	case add:
		for _, k := range given {
			if !contains(result, k) {
				result = append(result, k)
			}
		}
	default:
		for _, k := range given {
			if !contains(result, k) {
				result = append(result, k)
			}
		}
	}
	if err := m.SetMessageKeywords("INBOX", base, result, lock); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
