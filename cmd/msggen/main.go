// Command msggen writes reproducible test messages: a whole Maildir
// (-maildir DIR -n N) or single messages to stdout (-n N, concatenated
// with a "From " separator line, i.e. an mbox). See internal/msggen.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"gocourier/internal/msggen"
)

func main() {
	seed := flag.Int64("seed", 1, "random seed; the same seed gives the same messages")
	n := flag.Int("n", 100, "number of messages")
	newCount := flag.Int("new", 0, "how many of the last messages go to new/ instead of cur/")
	maildir := flag.String("maildir", "", "write a Maildir here instead of an mbox to stdout")
	minSize := flag.Int("min", 1024, "smallest message size in bytes")
	maxSize := flag.Int("max", 10<<20, "largest message size in bytes")
	flag.Parse()
	opt := msggen.Options{MinSize: *minSize, MaxSize: *maxSize}
	if *maildir != "" {
		st, err := msggen.WriteMaildir(*maildir, *n, *newCount, *seed, opt)
		if err != nil {
			fmt.Fprintln(os.Stderr, "msggen:", err)
			os.Exit(1)
		}
		fmt.Printf("%d messages, %d bytes in %s\n", st.Messages, st.Bytes, *maildir)
		return
	}
	w := bufio.NewWriter(os.Stdout)
	g := msggen.New(*seed, opt)
	for i := 0; i < *n; i++ {
		m := g.Next()
		fmt.Fprintf(w, "From %s %s\n", "bench@bench.example", m.Date.Format("Mon Jan _2 15:04:05 2006"))
		if _, err := m.WriteTo(w); err != nil {
			fmt.Fprintln(os.Stderr, "msggen:", err)
			os.Exit(1)
		}
		fmt.Fprintln(w)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "msggen:", err)
		os.Exit(1)
	}
}
