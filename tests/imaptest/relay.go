package imaptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The latency relay sits between imaptest and couriertcpd on loopback and
// times every IMAP command from the moment its first line reaches the relay
// to the moment its tagged response does. imaptest prints averages only; a
// stall (issue #4: "no command stalled over a second") hides in them.
//
// It forwards bytes unchanged, in the chunks it reads, and only watches
// them: a small streaming scanner per direction finds line ends and skips
// literals ({n} / {n+} / ~{n} at a line's end, RFC 3501 §4.3, RFC 7888,
// RFC 3516), so a message body that happens to contain "a1 OK" is never
// taken for a response. A command is registered before its bytes are
// forwarded, so its response cannot overtake the registration.
//
// A command's time is counted from when the server could begin it: the
// moment it was sent, or, when the client pipelined it behind commands of
// the same connection still unanswered then, the moment the last of those
// was answered (our server, like Courier's, runs one connection's
// commands in order). imaptest sends APPEND, LIST and STATUS together, so
// the LIST would otherwise be charged the APPEND's time and the APPEND
// that of whatever the connection was still doing. The time from sending
// is kept as well (the "sent" column) and is what a client sees.
//
// Continuation data that is not a command: the DONE ending an IDLE
// (RFC 2177; IDLE is timed from DONE, as the time before it is the
// client's) and the lines answering an AUTHENTICATE challenge (RFC 3501
// §6.2.2) while that command is pending.

// lineScanner finds the logical lines of one IMAP byte stream: a logical
// line is one or more physical lines joined by literals. It keeps only the
// first headMax bytes of a logical line (tag and command name) and the
// last bytes of the current physical line (to see a literal announcement),
// so its memory is bounded whatever the peer sends.
type lineScanner struct {
	head    []byte // first bytes of the current logical line
	tail    []byte // last bytes of the current physical line
	lit     int64  // literal bytes still to skip
	started bool   // the current logical line's first physical line ended
}

const (
	headMax = 200
	tailMax = 32
	litMax  = 1 << 40 // larger announcements are taken as garbage
)

// feed scans p and calls first when the first physical line of a logical
// line ends, with its head (CRLF removed).
func (s *lineScanner) feed(p []byte, first func(head []byte)) {
	for len(p) > 0 {
		if s.lit > 0 {
			n := int64(len(p))
			if n > s.lit {
				n = s.lit
			}
			s.lit -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if room := headMax - len(s.head); room > 0 && !s.started {
			s.head = append(s.head, seg[:min(room, len(seg))]...)
		}
		s.tail = append(s.tail, seg[max(0, len(seg)-tailMax):]...)
		if len(s.tail) > tailMax {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-tailMax:]...)
		}
		if i < 0 {
			return
		}
		p = p[i+1:]
		n, isLit := literalAt(bytes.TrimSuffix(s.tail, []byte("\r")))
		s.tail = s.tail[:0]
		if !s.started {
			s.started = true
			first(bytes.TrimSuffix(s.head, []byte("\r")))
		}
		if isLit {
			s.lit = n
			continue
		}
		s.head, s.started = s.head[:0], false
	}
}

// literalAt reports the size of the literal a physical line (CRLF removed)
// announces at its end: "{123}", "{123+}" or "~{123}".
func literalAt(l []byte) (int64, bool) {
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false
	}
	l = l[:len(l)-1]
	l = bytes.TrimSuffix(l, []byte("+"))
	j := bytes.LastIndexByte(l, '{')
	if j < 0 || j == len(l)-1 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(l[j+1:]), 10, 64)
	if err != nil || n < 0 || n > litMax {
		return 0, false
	}
	return n, true
}

// commandOf splits a command's first line into its tag and its name
// (upper case; "UID FETCH" for UID commands).
func commandOf(head []byte) (tag, name string) {
	f := strings.Fields(string(head))
	if len(f) == 0 {
		return "", ""
	}
	tag = f[0]
	if len(f) < 2 {
		return tag, ""
	}
	name = strings.ToUpper(f[1])
	if name == "UID" && len(f) > 2 {
		name += " " + strings.ToUpper(f[2])
	}
	if len(name) > 32 {
		name = name[:32]
	}
	return tag, name
}

// Recorder collects command latencies from every relayed connection.
type Recorder struct {
	mu         sync.Mutex
	start      time.Time
	byCmd      map[string][]time.Duration
	fromSent   map[string]time.Duration // longest time from sending, per command
	slow       []SlowCommand
	threshold  time.Duration
	unanswered int
	conns      int
}

// SlowCommand is one command that took longer than the recorder's
// threshold.
type SlowCommand struct {
	At      time.Duration // since the recorder started, when the command was sent
	Conn    int
	Tag     string
	Command string
	Took    time.Duration // from when the server could begin it
	Queued  time.Duration // before that, behind the connection's earlier commands
}

// NewRecorder returns a recorder that remembers every command slower than
// threshold individually.
func NewRecorder(threshold time.Duration) *Recorder {
	return &Recorder{start: time.Now(), byCmd: map[string][]time.Duration{}, fromSent: map[string]time.Duration{}, threshold: threshold}
}

// add records one answered command: sent when its first line went by,
// begun when the server could begin it (not before sent), done when its
// tagged response went by.
func (r *Recorder) add(conn int, tag, name string, sent, begun, done time.Time) {
	d := done.Sub(begun)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byCmd[name] = append(r.byCmd[name], d)
	r.fromSent[name] = max(r.fromSent[name], done.Sub(sent))
	if d > r.threshold {
		r.slow = append(r.slow, SlowCommand{At: sent.Sub(r.start), Conn: conn, Tag: tag, Command: name, Took: d, Queued: begun.Sub(sent)})
	}
}

// CommandStats summarises one command name's latencies.
type CommandStats struct {
	Command       string
	Count         int
	P50, P99, Max time.Duration
	Over          int           // how many took longer than the threshold
	MaxFromSent   time.Duration // the longest time from sending to the answer
}

// Stats returns per-command figures, the slowest command first, and the
// total over all commands as the last entry (Command "ALL").
func (r *Recorder) Stats() []CommandStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CommandStats
	var all []time.Duration
	var allSent time.Duration
	for name, ds := range r.byCmd {
		c := summarize(name, ds, r.threshold)
		c.MaxFromSent = r.fromSent[name]
		allSent = max(allSent, c.MaxFromSent)
		out = append(out, c)
		all = append(all, ds...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Max != out[j].Max {
			return out[i].Max > out[j].Max
		}
		return out[i].Command < out[j].Command
	})
	total := summarize("ALL", all, r.threshold)
	total.MaxFromSent = allSent
	return append(out, total)
}

func summarize(name string, ds []time.Duration, threshold time.Duration) CommandStats {
	s := slices.Clone(ds)
	slices.Sort(s)
	c := CommandStats{Command: name, Count: len(s)}
	if len(s) == 0 {
		return c
	}
	pct := func(p float64) time.Duration { return s[min(len(s)-1, int(float64(len(s))*p))] }
	c.P50, c.P99, c.Max = pct(0.50), pct(0.99), s[len(s)-1]
	c.Over = len(s) - sort.Search(len(s), func(i int) bool { return s[i] > threshold })
	return c
}

// Slow returns the commands over the threshold, the slowest first.
func (r *Recorder) Slow() []SlowCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := slices.Clone(r.slow)
	sort.Slice(s, func(i, j int) bool { return s[i].Took > s[j].Took })
	return s
}

// Report formats the figures as a table, with at most nslow of the slowest
// commands listed individually.
func (r *Recorder) Report(nslow int) string {
	var b strings.Builder
	r.mu.Lock()
	fmt.Fprintf(&b, "command latency at the relay (%d connections, %d commands unanswered at close; over = over %v;\n", r.conns, r.unanswered, r.threshold)
	fmt.Fprintf(&b, "timed from when the server could begin each command; sent = the longest from sending, pipelined waits included):\n")
	r.mu.Unlock()
	fmt.Fprintf(&b, "%-14s %8s %9s %9s %9s %6s %9s\n", "command", "count", "p50", "p99", "max", "over", "sent")
	for _, c := range r.Stats() {
		fmt.Fprintf(&b, "%-14s %8d %9s %9s %9s %6d %9s\n", c.Command, c.Count, ms(c.P50), ms(c.P99), ms(c.Max), c.Over, ms(c.MaxFromSent))
	}
	slow := r.Slow()
	for i, s := range slow {
		if i == nslow {
			fmt.Fprintf(&b, "  ... %d more\n", len(slow)-nslow)
			break
		}
		fmt.Fprintf(&b, "  slow: %s %s (conn %d, tag %s, sent at %s, queued %s behind the connection's earlier commands)\n",
			ms(s.Took), s.Command, s.Conn, s.Tag, s.At.Round(time.Millisecond), ms(s.Queued))
	}
	return b.String()
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }

// Relay accepts connections on a loopback port and forwards each to target,
// timing its commands into a Recorder.
type Relay struct {
	Addr   string
	ln     net.Listener
	target string
	rec    *Recorder
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// StartRelay listens on 127.0.0.1 (kernel-chosen port) and relays to target.
func StartRelay(target string, rec *Recorder) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay listen: %w", err)
	}
	r := &Relay{Addr: ln.Addr().String(), ln: ln, target: target, rec: rec, conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Port is the relay's listening port.
func (r *Relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting, closes every relayed connection and waits for the
// relay's goroutines.
func (r *Relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Relay) track(c net.Conn, on bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on && r.closed {
		return false
	}
	if on {
		r.conns[c] = true
	} else {
		delete(r.conns, c)
	}
	return true
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for id := 1; ; id++ {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		if !r.track(c, true) || !r.track(s, true) {
			c.Close()
			s.Close()
			return
		}
		r.rec.mu.Lock()
		r.rec.conns++
		r.rec.mu.Unlock()
		r.wg.Add(1)
		go r.serve(id, c, s)
	}
}

// pending is one command sent and not yet answered.
type pending struct {
	name string
	sent time.Time
}

// session is the state both directions of one connection share.
type session struct {
	mu      sync.Mutex
	pending map[string][]pending // by tag; imaptest's tags are unique, a FIFO is cheap insurance
	cont    string               // tag of a pending IDLE or AUTHENTICATE, whose lines are not commands
	// answered: when the connection's last tagged response went by; a
	// command sent before then waited behind it.
	answered time.Time
}

func (r *Relay) serve(id int, c, s net.Conn) {
	defer r.wg.Done()
	ss := &session{pending: map[string][]pending{}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // client -> server
		defer wg.Done()
		var sc lineScanner
		var now time.Time
		first := func(head []byte) {
			tag, name := commandOf(head)
			ss.mu.Lock()
			defer ss.mu.Unlock()
			if ss.cont != "" {
				q := ss.pending[ss.cont]
				if len(q) > 0 && q[0].name == "IDLE" && strings.EqualFold(strings.TrimSpace(string(head)), "DONE") {
					q[0].sent = now
				}
				return
			}
			if tag == "" {
				return
			}
			ss.pending[tag] = append(ss.pending[tag], pending{name: name, sent: now})
			if name == "IDLE" || name == "AUTHENTICATE" {
				ss.cont = tag
			}
		}
		pump(c, s, func(p []byte) { now = time.Now(); sc.feed(p, first) })
	}()
	go func() { // server -> client
		defer wg.Done()
		var sc lineScanner
		var now time.Time
		first := func(head []byte) {
			tag, _ := commandOf(head)
			if tag == "" || tag == "*" || tag == "+" {
				return
			}
			ss.mu.Lock()
			q := ss.pending[tag]
			if len(q) == 0 {
				ss.mu.Unlock()
				return
			}
			p := q[0]
			if len(q) == 1 {
				delete(ss.pending, tag)
			} else {
				ss.pending[tag] = q[1:]
			}
			if ss.cont == tag {
				ss.cont = ""
			}
			begun := p.sent
			if ss.answered.After(begun) {
				begun = ss.answered
			}
			ss.answered = now
			ss.mu.Unlock()
			r.rec.add(id, tag, p.name, p.sent, begun, now)
		}
		pump(s, c, func(p []byte) { now = time.Now(); sc.feed(p, first) })
	}()
	wg.Wait()
	r.track(c, false)
	r.track(s, false)
	c.Close()
	s.Close()
	n := 0
	for _, q := range ss.pending {
		n += len(q)
	}
	r.rec.mu.Lock()
	r.rec.unanswered += n
	r.rec.mu.Unlock()
}

// pump copies src to dst, showing each chunk to watch before forwarding it.
// A clean end of src half-closes dst; an error closes both.
func pump(src, dst net.Conn, watch func([]byte)) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			watch(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
					return
				}
			}
			dst.Close()
			src.Close()
			return
		}
	}
}
