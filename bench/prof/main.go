// Command prof drives one in-process IMAP session (imapserver over
// imapmaildir, PREAUTH) on a maildir and times each command, optionally
// writing a CPU profile: a tool for the mailbox-performance work, not
// part of the benchmark itself.
//
//	go run ./bench/prof -maildir /tmp/md -cpuprofile /tmp/cpu.out 'SELECT INBOX' 'UID FETCH 1:* (FLAGS)'
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"gocourier/internal/imapmaildir"
	"gocourier/internal/imapserver"
	"gocourier/internal/maildir"
)

func main() {
	dir := flag.String("maildir", "", "maildir")
	cpu := flag.String("cpuprofile", "", "CPU profile file")
	flag.Parse()
	md, err := maildir.Open(*dir, maildir.Options{UseLocks: true, TrashName: "Trash", Keywords: true, Owner: "prof", Hostname: "prof"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cr, cw := io.Pipe()
	sr, sw := io.Pipe()
	sess := imapserver.NewSession(imapserver.Config{Getenv: func(string) string { return "" }}, imapmaildir.New(md), cr, sw)
	go sess.Run("* PREAUTH Ready.")
	br := bufio.NewReaderSize(sr, 1<<20)
	br.ReadString('\n')
	if *cpu != "" {
		f, _ := os.Create(*cpu)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for i, c := range flag.Args() {
		tag := fmt.Sprintf("p%d", i)
		t := time.Now()
		fmt.Fprintf(cw, "%s %s\r\n", tag, c)
		var n int64
		var last string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			n += int64(len(l))
			if strings.HasPrefix(l, tag+" ") {
				last = strings.TrimSpace(l)
				break
			}
		}
		fmt.Printf("%8.1f ms %9d B  %s -> %s\n", float64(time.Since(t).Microseconds())/1000, n, c, last)
	}
}
