package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The stress workload (issue 6): p.stressN clients on one shared INBOX for
// p.stressDur, each issuing random commands (SELECT, FETCH flags and
// headers, UID STORE +/-FLAGS, APPEND, STORE \Deleted + EXPUNGE of its own
// appended messages, NOOP, SEARCH) with state checks.
//
// Invariants:
//   - Only messages a client appended itself ever get \Deleted, so an
//     EXPUNGE by any client removes no original message.
//   - Every tagged reply must be OK; within one response the UIDs of the
//     FETCH lines ascend strictly with their sequence numbers; at the end
//     a fresh session's EXISTS equals the files in cur/ and new/ and its
//     UID FETCH 1:* lists no UID twice. Any violation is an error; the
//     workload fails when there is one, printing the first few.
//   - Bounded: p.stressDur and p.stressMax commands per client, each with
//     the ioTimeout deadline; loopback only.

var (
	reFetch  = regexp.MustCompile(`^\* (\d+) FETCH \(`)
	reUID    = regexp.MustCompile(`[( ]UID (\d+)`)
	reNum    = regexp.MustCompile(`^\* (\d+) (EXISTS|EXPUNGE)$`)
	reAppUID = regexp.MustCompile(`\[APPENDUID \d+ (\d+)\]`)
	reNext   = regexp.MustCompile(`\[UIDNEXT (\d+)\]`)
)

// stressLog collects errors from every client.
type stressLog struct {
	sync.Mutex
	n     int
	first []string
}

func (l *stressLog) add(format string, args ...any) {
	l.Lock()
	defer l.Unlock()
	l.n++
	if len(l.first) < 5 {
		l.first = append(l.first, fmt.Sprintf(format, args...))
	}
}

// stressClient is one session and what it knows of the mailbox.
type stressClient struct {
	id      int
	c       *imapConn
	rnd     *rand.Rand
	exists  int
	maxUID  int
	own     []int // UIDs it appended and not yet expunged
	seq     int   // appended message counter
	uidplus bool
	log     *stressLog
	cmds    int
}

// do runs one command, applies the untagged EXISTS/EXPUNGE to the view,
// and checks the tagged OK and the FETCH UID order.
func (s *stressClient) do(format string, args ...any) (string, error) {
	tl, err := s.c.cmd(format, args...)
	s.cmds++
	s.observe(fmt.Sprintf(format, args...))
	if err != nil {
		s.log.add("client %d: %s: %v", s.id, fmt.Sprintf(format, args...), err)
	}
	return tl, err
}

func (s *stressClient) observe(cmd string) {
	type pair struct{ seq, uid int }
	var pairs []pair
	expunged := false
	for _, l := range s.c.lines {
		if m := reNum.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if m[2] == "EXISTS" {
				s.exists = n
			} else {
				s.exists--
				expunged = true
			}
			continue
		}
		if m := reFetch.FindStringSubmatch(l); m != nil {
			if u := reUID.FindStringSubmatch(l); u != nil {
				seq, _ := strconv.Atoi(m[1])
				uid, _ := strconv.Atoi(u[1])
				pairs = append(pairs, pair{seq, uid})
				s.maxUID = max(s.maxUID, uid)
			}
		}
		if m := reNext.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			s.maxUID = max(s.maxUID, n-1)
		}
	}
	if expunged || len(pairs) < 2 {
		return
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].seq < pairs[j].seq })
	for i := 1; i < len(pairs); i++ {
		a, b := pairs[i-1], pairs[i]
		if (a.seq == b.seq && a.uid != b.uid) || (a.seq < b.seq && a.uid >= b.uid) {
			s.log.add("client %d: %s: UID order broken: seq %d UID %d, seq %d UID %d", s.id, cmd, a.seq, a.uid, b.seq, b.uid)
			return
		}
	}
}

var stressFlags = []string{`\Flagged`, `\Seen`, `\Answered`, `$Stress`}

// step issues one random command.
func (s *stressClient) step(e *benchEnv) {
	r := s.rnd.Intn(100)
	switch {
	case r < 5:
		_, _ = s.do("SELECT INBOX")
	case r < 22:
		if s.exists == 0 {
			_, _ = s.do("NOOP")
			return
		}
		a := 1 + s.rnd.Intn(s.exists)
		b := min(s.exists, a+s.rnd.Intn(30))
		_, _ = s.do("FETCH %d:%d (UID FLAGS)", a, b)
	case r < 35:
		a := 1 + s.rnd.Intn(max(1, s.maxUID))
		_, _ = s.do("UID FETCH %d:%d (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)])", a, a+s.rnd.Intn(20))
	case r < 52:
		op := "+FLAGS.SILENT"
		if s.rnd.Intn(2) == 0 {
			op = "-FLAGS"
		}
		_, _ = s.do("UID STORE %d %s (%s)", 1+s.rnd.Intn(max(1, s.maxUID)), op, stressFlags[s.rnd.Intn(len(stressFlags))])
	case r < 67:
		s.appendOne(e)
	case r < 77:
		s.expungeOwn()
	case r < 87:
		_, _ = s.do("NOOP")
	default:
		q := []string{"SEARCH FLAGGED", "UID SEARCH UNSEEN", "SEARCH KEYWORD $Stress", "UID SEARCH HEADER X-Stress-Client c" + strconv.Itoa(s.id)}
		_, _ = s.do("%s", q[s.rnd.Intn(len(q))])
	}
}

func (s *stressClient) appendOne(e *benchEnv) {
	s.seq++
	id := fmt.Sprintf("c%d-%d", s.id, s.seq)
	msg := fmt.Sprintf("From: Stress <stress@example.org>\nTo: %s@example.org\nSubject: stress %s\nMessage-ID: <%s.%d@bench>\nX-Stress-Client: c%d\nDate: %s\n\nbody of %s\n",
		e.user, id, id, os.Getpid(), s.id, time.Now().Format(time.RFC1123Z), id)
	err := s.c.appendMsg("INBOX", []byte(msg))
	s.cmds++
	tl := s.c.lastTagged
	s.observe("APPEND")
	if err != nil {
		s.log.add("client %d: APPEND: %v", s.id, err)
		return
	}
	if m := reAppUID.FindStringSubmatch(tl); m != nil {
		u, _ := strconv.Atoi(m[1])
		s.own = append(s.own, u)
		s.maxUID = max(s.maxUID, u)
	}
}

// expungeOwn marks the client's own appended messages \Deleted and
// expunges. Without UIDPLUS (no APPENDUID) it finds them by header.
func (s *stressClient) expungeOwn() {
	if !s.uidplus {
		s.c.keep = true
		if _, err := s.do("UID SEARCH HEADER X-Stress-Client c%d", s.id); err != nil {
			return
		}
		s.own = s.own[:0]
		for _, l := range s.c.lines {
			if strings.HasPrefix(l, "* SEARCH") {
				for _, f := range strings.Fields(l)[2:] {
					if u, err := strconv.Atoi(f); err == nil {
						s.own = append(s.own, u)
					}
				}
			}
		}
	}
	if len(s.own) == 0 {
		_, _ = s.do("NOOP")
		return
	}
	var set []string
	for _, u := range s.own {
		set = append(set, strconv.Itoa(u))
	}
	if _, err := s.do("UID STORE %s +FLAGS.SILENT (\\Deleted)", strings.Join(set, ",")); err != nil {
		return
	}
	if _, err := s.do("EXPUNGE"); err == nil {
		s.own = s.own[:0]
	}
}

func runStress(w *wctx) (map[string]float64, error) {
	log := &stressLog{}
	var clients []*stressClient
	defer func() {
		for _, s := range clients {
			s.c.Close()
		}
	}()
	for i := 0; i < w.p.stressN; i++ {
		c, err := w.login()
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		c.keep = true
		s := &stressClient{id: i, c: c, rnd: rand.New(rand.NewSource(w.p.seed*1000 + int64(i))), log: log}
		clients = append(clients, s)
		if _, err := s.do("CAPABILITY"); err != nil {
			return nil, err
		}
		for _, l := range c.lines {
			s.uidplus = s.uidplus || strings.Contains(l, " UIDPLUS")
		}
		if _, err := s.do("SELECT INBOX"); err != nil {
			return nil, err
		}
		if _, err := s.do("UID FETCH 1:* (FLAGS)"); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	deadline := start.Add(w.p.stressDur)
	var wg sync.WaitGroup
	for _, s := range clients {
		wg.Add(1)
		go func(s *stressClient) {
			defer wg.Done()
			for n := 0; n < w.p.stressMax && time.Now().Before(deadline); n++ {
				s.step(w.e)
				if log.n > 1000 {
					return
				}
			}
		}(s)
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	total := 0
	for _, s := range clients {
		total += s.cmds
		_ = s.c.logout()
	}
	clients = nil
	if err := stressFinalCheck(w, log); err != nil {
		return nil, err
	}
	out := map[string]float64{"stressops": float64(total) / el}
	if log.n > 0 {
		return out, fmt.Errorf("%d errors in %d commands; first: %s", log.n, total, strings.Join(log.first, "; "))
	}
	return out, nil
}

// stressFinalCheck compares a fresh session's view with the files.
func stressFinalCheck(w *wctx, log *stressLog) error {
	c, err := w.login()
	if err != nil {
		return fmt.Errorf("final check: %w", err)
	}
	defer c.Close()
	c.keep = true
	s := &stressClient{id: -1, c: c, log: log}
	if _, err := s.do("SELECT INBOX"); err != nil {
		return nil // logged
	}
	if _, err := s.do("UID FETCH 1:* (UID)"); err != nil {
		return nil
	}
	seen := map[int]bool{}
	fetched := 0
	for _, l := range c.lines {
		if reFetch.MatchString(l) {
			if u := reUID.FindStringSubmatch(l); u != nil {
				n, _ := strconv.Atoi(u[1])
				if seen[n] {
					log.add("final: UID %d listed twice", n)
				}
				seen[n] = true
				fetched++
			}
		}
	}
	files := 0
	for _, d := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(w.e.maildir, d))
		if err != nil {
			return fmt.Errorf("final check: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				files++
			}
		}
	}
	if s.exists != files {
		log.add("final: EXISTS %d but %d files in cur/+new/", s.exists, files)
	}
	if fetched != s.exists {
		log.add("final: UID FETCH 1:* listed %d messages, EXISTS %d", fetched, s.exists)
	}
	_ = c.logout()
	return nil
}
