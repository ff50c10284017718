// Package msggen generates realistic, reproducible e-mail messages and
// Maildir folders for benchmarks and load tests.
//
// Invariants:
//   - Output is a pure function of the seed and the options: the same seed
//     gives byte-identical messages, file names and flags on every run, so
//     every server under test reads exactly the same data.
//   - Message sizes follow a heavy-tailed distribution between MinSize and
//     MaxSize (defaults 1 KB and 10 MB); most mail is small, a few messages
//     carry large attachments.
//   - Messages are valid RFC 5322 / MIME (RFC 2045-2049): CRLF is never
//     written (Maildir files use LF, as delivered by an MDA), header lines
//     stay under 998 octets, base64 lines are 76 characters, non-ASCII
//     header text is RFC 2047 encoded-words, and a fraction of messages are
//     replies carrying In-Reply-To and References so THREAD REFERENCES
//     (RFC 5256) builds real threads.
//   - A message is written to an io.Writer piece by piece; a 10 MB message
//     is never held in memory as a whole.
package msggen

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"math/rand"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options shape the generated messages. Zero values take the defaults.
type Options struct {
	MinSize int // smallest target size in bytes (default 1024)
	MaxSize int // largest target size in bytes (default 10 MiB)
	// Start is the date of the first message (default 2024-01-02 09:00 UTC).
	Start time.Time
}

// RareWord appears in the body of one message in a hundred (the 1st,
// 101st, ...), so a SEARCH BODY for it has a small, non-empty answer.
const RareWord = "quixotically"

// Message describes one generated message. Its content is produced by
// WriteTo; Size is the target size, the written size is close to it.
type Message struct {
	Index     int
	Seed      int64
	Date      time.Time
	MessageID string
	InReplyTo string
	Refs      []string
	Subject   string
	From      string
	To        string
	Cc        string
	Size      int
	Kind      int // 0 plain, 1 alternative, 2 mixed with attachments
	Rare      bool
	Flags     string // Maildir info flags, sorted (e.g. "S", "FS")
	New       bool   // still in new/ (not yet seen by any client)
}

// Generator produces a deterministic sequence of messages.
type Generator struct {
	rng    *rand.Rand
	seed   int64
	opt    Options
	n      int
	date   time.Time
	recent []*Message // candidates for replies
}

// New returns a generator for the given seed.
func New(seed int64, opt Options) *Generator {
	if opt.MinSize <= 0 {
		opt.MinSize = 1024
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = 10 << 20
	}
	if opt.MaxSize < opt.MinSize {
		opt.MaxSize = opt.MinSize
	}
	if opt.Start.IsZero() {
		opt.Start = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)
	}
	return &Generator{rng: rand.New(rand.NewSource(seed)), seed: seed, opt: opt, date: opt.Start}
}

// sizeBuckets is the size distribution: share (per mille) and range.
// Roughly what a business mailbox holds: mostly short text, some HTML
// newsletters, a tail of office documents and photos.
var sizeBuckets = []struct {
	perMille int
	lo, hi   int
}{
	{550, 1 << 10, 4 << 10},
	{250, 4 << 10, 16 << 10},
	{140, 16 << 10, 64 << 10},
	{50, 64 << 10, 512 << 10},
	{9, 512 << 10, 2 << 20},
	{1, 2 << 20, 10 << 20},
}

func (g *Generator) pickSize() int {
	r := g.rng.Intn(1000)
	for _, b := range sizeBuckets {
		if r < b.perMille {
			// log-uniform inside the bucket
			lo, hi := float64(b.lo), float64(b.hi)
			f := lo * math.Pow(hi/lo, g.rng.Float64())
			s := int(f)
			if s < g.opt.MinSize {
				s = g.opt.MinSize
			}
			if s > g.opt.MaxSize {
				s = g.opt.MaxSize
			}
			return s
		}
		r -= b.perMille
	}
	return g.opt.MinSize
}

var firstNames = []string{"Alice", "Bob", "Carol", "David", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy",
	"Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë",
	"Jürgen", "François", "Søren", "Małgorzata", "İlkay", "José", "Åsa", "Björn", "Zhang Wěi", "Ольга"}
var lastNames = []string{"Smith", "Jones", "Müller", "Dubois", "García", "Rossi", "Novák", "Kowalski",
	"Øster", "Nakamura", "Petrov", "O'Brien", "Larsen", "Brontë", "Żak", "Иванова"}
var domains = []string{"example.com", "example.org", "example.net", "mail.example", "corp.example"}
var topics = []string{"quarterly report", "meeting notes", "budget review", "server migration",
	"holiday schedule", "invoice", "project kickoff", "release plan", "coffee machine", "security audit",
	"Änderungen am Vertrag", "réunion de lundi", "présentation client", "Überstunden", "año nuevo",
	"报告", "встреча в пятницу", "newsletter", "backup failures", "new hire onboarding"}
var words = strings.Fields(`the of and to in a is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has would when if so no
will can more other its into only new some could time these two may first then do any like my now over
such our man me even most made after also did many before must through back years where much your way
well down should because each just those people how too little state good very make world still own
see men work long get here between both life being under never day same another know while last might
us great old year off come since against go came right used take three mail server mailbox message
folder client quota backup meeting report budget invoice deadline schedule agenda review draft
attachment spreadsheet customer contract delivery network release migration`)

func (g *Generator) person() string {
	first := firstNames[g.rng.Intn(len(firstNames))]
	last := lastNames[g.rng.Intn(len(lastNames))]
	local := strings.ToLower(asciiFold(first) + "." + asciiFold(last))
	addr := local + "@" + domains[g.rng.Intn(len(domains))]
	return encodePhrase(first+" "+last) + " <" + addr + ">"
}

// asciiFold keeps the ASCII letters of s, for use in addresses.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

// encodePhrase returns a display name as an RFC 2047 encoded-word when it
// is not plain ASCII, else as a quoted string when it needs quoting.
func encodePhrase(s string) string {
	for _, r := range s {
		if r >= 0x80 {
			return mime.BEncoding.Encode("UTF-8", s)
		}
	}
	if strings.ContainsAny(s, `'.,"`) {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

func encodeText(s string) string {
	for _, r := range s {
		if r >= 0x80 {
			return mime.QEncoding.Encode("UTF-8", s)
		}
	}
	return s
}

// Next returns the description of the next message of the sequence.
func (g *Generator) Next() *Message {
	g.n++
	m := &Message{Index: g.n, Seed: g.seed}
	// Time moves forward by 1..180 minutes; one message in 20 arrives
	// out of order (late delivery), which SORT (DATE) must handle.
	g.date = g.date.Add(time.Duration(1+g.rng.Intn(180)) * time.Minute)
	m.Date = g.date
	if g.rng.Intn(20) == 0 {
		m.Date = m.Date.Add(-time.Duration(g.rng.Intn(72*60)) * time.Minute)
	}
	m.MessageID = fmt.Sprintf("<%d.%d.%x@bench.example>", g.seed, g.n, g.rng.Uint32())
	m.From = g.person()
	m.To = g.person()
	if g.rng.Intn(3) == 0 {
		m.Cc = g.person() + ", " + g.person()
	}
	if len(g.recent) > 0 && g.rng.Intn(100) < 40 {
		p := g.recent[g.rng.Intn(len(g.recent))]
		m.InReplyTo = p.MessageID
		m.Refs = append(append([]string{}, p.Refs...), p.MessageID)
		if len(m.Refs) > 20 { // clients trim long chains (RFC 5322 §3.6.4)
			m.Refs = append(m.Refs[:1:1], m.Refs[len(m.Refs)-19:]...)
		}
		base := strings.TrimPrefix(p.Subject, "Re: ")
		if g.rng.Intn(10) == 0 {
			m.Subject = "Fwd: " + base
		} else {
			m.Subject = "Re: " + base
		}
	} else {
		m.Subject = fmt.Sprintf("%s #%d", topics[g.rng.Intn(len(topics))], g.n)
	}
	if len(g.recent) < 200 {
		g.recent = append(g.recent, m)
	} else {
		g.recent[g.rng.Intn(len(g.recent))] = m
	}
	m.Size = g.pickSize()
	switch {
	case m.Size > 48<<10:
		m.Kind = 2
	case g.rng.Intn(4) == 0:
		m.Kind = 1
	default:
		m.Kind = 0
	}
	// Every hundredth message, starting with the first, so even a tiny
	// data set has a SEARCH BODY hit.
	m.Rare = g.n%100 == 1
	// Flags: most old mail has been read; some answered or flagged.
	f := ""
	if g.rng.Intn(100) < 3 {
		f += "D"
	}
	if g.rng.Intn(100) < 5 {
		f += "F"
	}
	if g.rng.Intn(100) < 12 {
		f += "R"
	}
	if g.rng.Intn(100) < 85 {
		f += "S"
	}
	m.Flags = f
	return m
}

// WriteTo writes the message (LF line ends) to w.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 32<<10)}
	rng := rand.New(rand.NewSource(m.Seed*1000003 + int64(m.Index)))
	boundary := fmt.Sprintf("=_bench_%d_%x", m.Index, rng.Uint32())
	hdr := func(k, v string) { fmt.Fprintf(cw, "%s: %s\n", k, v) }
	hdr("Return-Path", "<"+addrOf(m.From)+">")
	fmt.Fprintf(cw, "Received: from mx.bench.example (mx.bench.example [192.0.2.%d])\n\tby imap.bench.example with ESMTPS id %x\n\tfor <%s>; %s\n",
		1+rng.Intn(250), rng.Uint64(), addrOf(m.To), m.Date.Add(time.Duration(rng.Intn(60))*time.Second).Format(time.RFC1123Z))
	hdr("Date", m.Date.Format(time.RFC1123Z))
	hdr("From", m.From)
	hdr("To", m.To)
	if m.Cc != "" {
		hdr("Cc", m.Cc)
	}
	hdr("Subject", encodeText(m.Subject))
	hdr("Message-ID", m.MessageID)
	if m.InReplyTo != "" {
		hdr("In-Reply-To", m.InReplyTo)
		// fold References one id per line (RFC 5322 §2.2.3)
		hdr("References", strings.Join(m.Refs, "\n "))
	}
	hdr("MIME-Version", "1.0")
	hdr("X-Mailer", "msggen (gocourier benchmark)")
	switch m.Kind {
	case 0:
		hdr("Content-Type", "text/plain; charset=UTF-8")
		hdr("Content-Transfer-Encoding", "8bit")
		cw.WriteString("\n")
		writeText(cw, rng, m.Size-int(cw.n), m.Rare)
	case 1:
		hdr("Content-Type", "multipart/alternative; boundary=\""+boundary+"\"")
		cw.WriteString("\nThis is a multi-part message in MIME format.\n")
		rest := m.Size - int(cw.n) - 300
		fmt.Fprintf(cw, "\n--%s\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n", boundary)
		writeText(cw, rng, rest/3, m.Rare)
		fmt.Fprintf(cw, "\n--%s\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n<html><body>\n", boundary)
		writeHTML(cw, rng, rest-rest/3)
		fmt.Fprintf(cw, "</body></html>\n\n--%s--\n", boundary)
	default:
		hdr("Content-Type", "multipart/mixed; boundary=\""+boundary+"\"")
		cw.WriteString("\nThis is a multi-part message in MIME format.\n")
		fmt.Fprintf(cw, "\n--%s\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n", boundary)
		writeText(cw, rng, 600+rng.Intn(3000), m.Rare)
		nAtt := 1 + rng.Intn(3)
		for i := 0; i < nAtt; i++ {
			left := m.Size - int(cw.n) - 200*(nAtt-i)
			share := left / (nAtt - i)
			if share < 512 {
				share = 512
			}
			typ, name := attachmentType(rng, i)
			fmt.Fprintf(cw, "\n--%s\nContent-Type: %s; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n",
				boundary, typ, name, name)
			writeBase64(cw, rng, share*3/4)
		}
		fmt.Fprintf(cw, "\n--%s--\n", boundary)
	}
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		return cw.n, fmt.Errorf("msggen: write message %d: %w", m.Index, err)
	}
	return cw.n, cw.err
}

func addrOf(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		return strings.TrimSuffix(s[i+1:], ">")
	}
	return s
}

func attachmentType(rng *rand.Rand, i int) (string, string) {
	switch rng.Intn(4) {
	case 0:
		return "application/pdf", fmt.Sprintf("report-%d.pdf", i+1)
	case 1:
		return "image/jpeg", fmt.Sprintf("IMG_%04d.jpg", rng.Intn(10000))
	case 2:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", fmt.Sprintf("budget-%d.xlsx", i+1)
	default:
		return "application/zip", fmt.Sprintf("archive-%d.zip", i+1)
	}
}

// writeText writes about n bytes of word-wrapped prose.
func writeText(w *countWriter, rng *rand.Rand, n int, rare bool) {
	if n < 64 {
		n = 64
	}
	start := w.n
	col := 0
	placed := !rare
	for int(w.n-start) < n {
		word := words[rng.Intn(len(words))]
		if !placed && int(w.n-start) > n/2 {
			word, placed = RareWord, true
		}
		if col+len(word) > 72 {
			w.WriteString("\n")
			col = 0
			if rng.Intn(8) == 0 {
				w.WriteString("\n")
			}
		} else if col > 0 {
			w.WriteString(" ")
			col++
		}
		w.WriteString(word)
		col += len(word)
	}
	if !placed {
		w.WriteString(" " + RareWord)
	}
	w.WriteString("\n")
}

func writeHTML(w *countWriter, rng *rand.Rand, n int) {
	start := w.n
	for int(w.n-start) < n {
		w.WriteString("<p>")
		for i := 0; i < 8+rng.Intn(10); i++ {
			w.WriteString(words[rng.Intn(len(words))])
			w.WriteString(" ")
		}
		w.WriteString("</p>\n")
	}
}

// writeBase64 writes n random octets base64-encoded in 76-column lines.
func writeBase64(w *countWriter, rng *rand.Rand, n int) {
	raw := make([]byte, 57) // 57 octets = one 76-character line
	line := make([]byte, 76)
	for n > 0 {
		k := len(raw)
		if n < k {
			k = n
		}
		rng.Read(raw[:k])
		base64.StdEncoding.Encode(line, raw[:k])
		w.Write(line[:base64.StdEncoding.EncodedLen(k)])
		w.WriteString("\n")
		n -= k
	}
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *countWriter) WriteString(s string) (int, error) { return c.Write([]byte(s)) }

// FileName is the Maildir file name of m (without directory), in the form
// Courier's deliverquota uses: time.MusecPpid.host,S=size[:2,flags]
// (reference §9.2). size must be the written size.
func (m *Message) FileName(size int64) string {
	base := fmt.Sprintf("%d.M%06dP%d_%d.bench.example,S=%d", m.Date.Unix(), m.Index%1000000, 4000+m.Seed%1000, m.Index, size)
	if m.New {
		return base
	}
	return base + ":2," + m.Flags
}

// MaildirStats summarises a written maildir.
type MaildirStats struct {
	Messages int
	Bytes    int64
}

// WriteMaildir creates a Maildir at dir (cur, new, tmp) holding n messages
// from New(seed, opt). The last newCount messages go to new/ (as if just
// delivered), the others to cur/ with their flags. Files get mode 0600;
// the caller chowns the tree. Nothing is fsynced: the data set is scratch.
func WriteMaildir(dir string, n, newCount int, seed int64, opt Options) (MaildirStats, error) {
	var st MaildirStats
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return st, fmt.Errorf("msggen: create maildir: %w", err)
		}
	}
	g := New(seed, opt)
	tmp := filepath.Join(dir, "tmp", "msggen.partial")
	for i := 0; i < n; i++ {
		m := g.Next()
		m.New = i >= n-newCount
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return st, fmt.Errorf("msggen: %w", err)
		}
		size, err := m.WriteTo(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return st, err
		}
		sub := "cur"
		if m.New {
			sub = "new"
		}
		dst := filepath.Join(dir, sub, m.FileName(size))
		if err := os.Rename(tmp, dst); err != nil {
			return st, fmt.Errorf("msggen: %w", err)
		}
		mt := m.Date
		_ = os.Chtimes(dst, mt, mt) // INTERNALDATE comes from the mtime
		st.Messages++
		st.Bytes += size
	}
	return st, nil
}
