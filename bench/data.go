package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"gocourier/internal/msggen"
)

// Building the master data sets fast (issue 8: a full run from a cold
// start well under 30 minutes).
//
// Invariants:
//   - The result is byte-for-byte what msggen.WriteMaildir writes for the
//     same arguments: same file names, contents and mtimes. Message
//     descriptions come from one generator in sequence (Next draws from
//     the shared seeded stream); only the bodies, which msggen derives
//     from a per-message seed, are written by parallel workers.
//   - A smaller set of the same seed and size options is the prefix of a
//     larger one (Next does not depend on the set's length), so it is
//     made of hard links to the larger set's files instead of being
//     generated again; only the file names of the messages in new/ differ.

// writeMaildirParallel is msggen.WriteMaildir with workers writers.
func writeMaildirParallel(dir string, n, newCount int, seed int64, opt msggen.Options, workers int) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("create maildir: %w", err)
		}
	}
	workers = max(workers, 1)
	jobs := make(chan *msggen.Message, 4*workers)
	errs := make(chan error, workers)
	var failed sync.Once
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			tmp := filepath.Join(dir, "tmp", "msggen.partial."+strconv.Itoa(k))
			for m := range jobs {
				if err := writeOne(dir, tmp, m); err != nil {
					errs <- err
					failed.Do(func() { close(quit) })
					return
				}
			}
		}(k)
	}
	g := msggen.New(seed, opt)
	stopped := false
	for i := 0; i < n && !stopped; i++ {
		m := g.Next()
		m.New = i >= n-newCount
		select {
		case jobs <- m:
		case <-quit:
			stopped = true
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs // nil when no worker failed
}

// writeOne writes m into tmp, then renames it into cur/ or new/ under its
// final name, and sets its mtime (the INTERNALDATE) to its Date.
func writeOne(dir, tmp string, m *msggen.Message) error {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	size, err := m.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("message %d: %w", m.Index, err)
	}
	sub := "cur"
	if m.New {
		sub = "new"
	}
	dst := filepath.Join(dir, sub, m.FileName(size))
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return os.Chtimes(dst, m.Date, m.Date)
}

// linkPrefixSet builds the n-message set in dir from src, a complete
// Maildir of a larger set made with the same seed and options, by hard
// links. It fails (and the caller generates instead) if src lacks one of
// the messages.
func linkPrefixSet(src, dir string, n, newCount int, seed int64, opt msggen.Options) error {
	byIndex := map[int]string{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			return err
		}
		for _, e := range ents {
			if idx, ok := msgIndex(e.Name()); ok && idx <= n {
				byIndex[idx] = filepath.Join(src, sub, e.Name())
			}
		}
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	g := msggen.New(seed, opt)
	for i := 0; i < n; i++ {
		m := g.Next()
		m.New = i >= n-newCount
		from, ok := byIndex[m.Index]
		if !ok {
			return fmt.Errorf("message %d missing in %s", m.Index, src)
		}
		size, ok := msgSize(filepath.Base(from))
		if !ok {
			return fmt.Errorf("no size in %s", from)
		}
		sub := "cur"
		if m.New {
			sub = "new"
		}
		if err := os.Link(from, filepath.Join(dir, sub, m.FileName(size))); err != nil {
			return err
		}
	}
	return nil
}

// msgIndex extracts the message index from a msggen file name
// (time.MusecP<pid>_<index>.bench.example,S=size[:2,flags]).
func msgIndex(name string) (int, bool) {
	host := strings.Index(name, ".bench.example")
	us := strings.LastIndexByte(name[:max(host, 0)], '_')
	if host < 0 || us < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(name[us+1 : host])
	return n, err == nil && n > 0
}

// msgSize extracts the ,S=size field of a Maildir file name.
func msgSize(name string) (int64, bool) {
	i := strings.Index(name, ",S=")
	if i < 0 {
		return 0, false
	}
	rest := name[i+3:]
	if j := strings.IndexAny(rest, ",:"); j >= 0 {
		rest = rest[:j]
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	return v, err == nil
}

// prefixSource finds, among the complete master sets under dataDir, one
// with the same seed and maximum size and at least n messages.
func prefixSource(dataDir string, seed int64, n, maxSize int) (string, error) {
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		var name string
		var s int64
		var have, m int
		f := strings.Split(e.Name(), "-")
		if len(f) != 4 {
			continue
		}
		name = f[0]
		if _, err := fmt.Sscanf(f[1]+" "+f[2]+" "+f[3], "s%d n%d m%d", &s, &have, &m); err != nil || name == "" {
			continue
		}
		if s == seed && m == maxSize && have >= n && fileExists(filepath.Join(dataDir, e.Name(), "complete")) {
			return filepath.Join(dataDir, e.Name(), "Maildir"), nil
		}
	}
	return "", errors.New("no larger set")
}
