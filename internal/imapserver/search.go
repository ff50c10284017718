package imapserver

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"gocourier/internal/imapwire"
	"gocourier/internal/mime"
	"gocourier/internal/msgsearch"
)

// searchKey is one node of a parsed SEARCH program (RFC 3501 §6.4.4).
type searchKey struct {
	op    string // ALL, FLAG, NOFLAG, NOT, OR, AND, SEQ, UID, HEADER, BODY, TEXT, LARGER, SMALLER, BEFORE, ON, SINCE, SENTBEFORE, SENTON, SENTSINCE, NEW, OLD, RECENT
	arg   string
	field string
	num   int64
	date  time.Time
	set   imapwire.SeqSet
	kids  []*searchKey
}

var errBadCharset = errors.New("bad charset")

// searchParser holds CHARSET state while reading keys.
type searchParser struct {
	s       *Session
	charset string
	err     error
	modseq  bool // a MODSEQ key was read (RFC 7162 §3.1.5)
}

func (p *searchParser) str() (string, bool) {
	v, ok := p.s.c.Dec.AString()
	if !ok {
		return "", false
	}
	if p.charset != "" && !strings.EqualFold(p.charset, "UTF-8") && !strings.EqualFold(p.charset, "US-ASCII") {
		u, err := msgsearch.ToUTF8(p.charset, []byte(v))
		if err != nil {
			p.err = errBadCharset
			return v, true
		}
		v = u
	}
	return v, true
}

func (p *searchParser) date() (time.Time, bool) {
	d := p.s.c.Dec
	var v string
	var ok bool
	if b, okp := d.Peek(); okp && b == '"' {
		v, ok = d.Quoted()
	} else {
		v, ok = d.Atom()
	}
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2-Jan-2006", strings.TrimSpace(v), time.Local)
	if err != nil {
		return time.Time{}, d.Fail("bad date")
	}
	return t, true
}

func (p *searchParser) number() (int64, bool) {
	n, ok := p.s.c.Dec.Number64()
	return int64(n), ok
}

// keys reads one or more space-separated keys until ')' or end of line.
func (p *searchParser) keys() (*searchKey, bool) {
	d := p.s.c.Dec
	and := &searchKey{op: "AND"}
	for {
		k, ok := p.key()
		if !ok {
			return nil, false
		}
		and.kids = append(and.kids, k)
		b, okp := d.Peek()
		if !okp || b != ' ' {
			break
		}
		d.SP()
	}
	if len(and.kids) == 1 {
		return and.kids[0], true
	}
	return and, true
}

func (p *searchParser) key() (*searchKey, bool) {
	d := p.s.c.Dec
	b, ok := d.Peek()
	if !ok {
		return nil, d.Fail("missing search key")
	}
	if b == '(' {
		d.Special('(')
		if !d.Nest() {
			return nil, false
		}
		k, ok := p.keys()
		d.Unnest()
		if !ok || !d.ExpectSpecial(')') {
			return nil, false
		}
		return k, true
	}
	if b == '*' || (b >= '0' && b <= '9') {
		set, ok := d.SeqSet()
		return &searchKey{op: "SEQ", set: set}, ok
	}
	a, ok := d.Atom()
	if !ok {
		return nil, false
	}
	a = strings.ToUpper(a)
	flag := func(f string, neg bool) (*searchKey, bool) {
		if neg {
			return &searchKey{op: "NOFLAG", arg: f}, true
		}
		return &searchKey{op: "FLAG", arg: f}, true
	}
	sp := func() bool { return d.SP() }
	switch a {
	case "ALL", "NEW", "OLD", "RECENT":
		return &searchKey{op: a}, true
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN":
		return flag(`\`+a[:1]+strings.ToLower(a[1:]), false)
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		return flag(`\`+a[2:3]+strings.ToLower(a[3:]), true)
	case "KEYWORD", "UNKEYWORD":
		if !sp() {
			return nil, false
		}
		kw, ok := d.Atom()
		return &searchKey{op: map[bool]string{true: "FLAG", false: "NOFLAG"}[a == "KEYWORD"], arg: kw}, ok
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		if !sp() {
			return nil, false
		}
		v, ok := p.str()
		return &searchKey{op: "HEADER", field: a, arg: v}, ok
	case "HEADER":
		if !sp() {
			return nil, false
		}
		f, ok := d.AString()
		if !ok || !sp() {
			return nil, false
		}
		v, ok := p.str()
		return &searchKey{op: "HEADER", field: f, arg: v}, ok
	case "BODY", "TEXT":
		if !sp() {
			return nil, false
		}
		v, ok := p.str()
		return &searchKey{op: a, arg: v}, ok
	case "LARGER", "SMALLER":
		if !sp() {
			return nil, false
		}
		n, ok := p.number()
		return &searchKey{op: a, num: n}, ok
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		if !sp() {
			return nil, false
		}
		t, ok := p.date()
		return &searchKey{op: a, date: t}, ok
	case "UID":
		if !sp() {
			return nil, false
		}
		set, ok := d.SeqSet()
		return &searchKey{op: "UID", set: set}, ok
	case "NOT":
		if !sp() {
			return nil, false
		}
		k, ok := p.key()
		return &searchKey{op: "NOT", kids: []*searchKey{k}}, ok
	case "OR":
		if !sp() {
			return nil, false
		}
		k1, ok := p.key()
		if !ok || !sp() {
			return nil, false
		}
		k2, ok := p.key()
		return &searchKey{op: "OR", kids: []*searchKey{k1, k2}}, ok
	case "MODSEQ":
		return p.parseModSeqKey()
	}
	return nil, d.Fail("unknown search key %s", a)
}

// searchProgram parses "[CHARSET x] keys" (the search-criteria).
func (s *Session) searchProgram(p *searchParser) (*searchKey, bool) {
	d := s.c.Dec
	if b, ok := d.Peek(); ok && (b == 'C' || b == 'c') {
		// CHARSET is the only key starting with "CHARSET"; peek further
		// by parsing as a key would lose it, so use a small lookahead:
		// any key starting with 'C' is CC or CHARSET.
		a, ok := d.Atom()
		if !ok {
			return nil, false
		}
		switch strings.ToUpper(a) {
		case "CHARSET":
			if !d.SP() {
				return nil, false
			}
			cs, ok := d.AString()
			if !ok || !d.SP() {
				return nil, false
			}
			p.charset = cs
			if !strings.EqualFold(cs, "UTF-8") && !strings.EqualFold(cs, "US-ASCII") {
				if _, err := msgsearch.ToUTF8(cs, nil); err != nil {
					p.err = errBadCharset
				}
			}
		case "CC":
			if !d.SP() {
				return nil, false
			}
			v, ok := p.str()
			if !ok {
				return nil, false
			}
			first := &searchKey{op: "HEADER", field: "CC", arg: v}
			if b, ok := d.Peek(); !ok || b != ' ' {
				return first, true
			}
			d.SP()
			rest, ok := p.keys()
			return &searchKey{op: "AND", kids: []*searchKey{first, rest}}, ok
		default:
			return nil, d.Fail("unknown search key")
		}
	}
	return p.keys()
}

// searchCtx evaluates keys for one message.
type searchCtx struct {
	s   *Session
	i   int
	m   *msgCtx
	hdr *mime.Header
	err error
}

func (c *searchCtx) header() mime.Header {
	if c.hdr != nil {
		return *c.hdr
	}
	h, err := c.m.header()
	if err != nil {
		c.err = err
	}
	c.hdr = &h
	return h
}

func sameDay(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	switch {
	case ay != by:
		return cmpInt(ay, by)
	case am != bm:
		return cmpInt(int(am), int(bm))
	}
	return cmpInt(ad, bd)
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func (c *searchCtx) match(k *searchKey) bool {
	v := &c.s.view[c.i]
	switch k.op {
	case "ALL":
		return true
	case "AND":
		for _, kid := range k.kids {
			if !c.match(kid) {
				return false
			}
		}
		return true
	case "OR":
		return c.match(k.kids[0]) || c.match(k.kids[1])
	case "NOT":
		return !c.match(k.kids[0])
	case "FLAG":
		return hasFlag(v.flags, k.arg)
	case "NOFLAG":
		return !hasFlag(v.flags, k.arg)
	case "NEW":
		return v.recent && !hasFlag(v.flags, `\Seen`)
	case "OLD":
		return !v.recent
	case "RECENT":
		return v.recent
	case "MODSEQ": // RFC 7162 §3.1.5
		return c.s.modseqOf(c.i) >= uint64(k.num)
	case "SEQ":
		return k.set.Resolve(uint32(len(c.s.view))).Contains(uint32(c.i + 1))
	case "UID":
		var max uint32
		if n := len(c.s.view); n > 0 {
			max = c.s.view[n-1].uid
		}
		return k.set.Resolve(max).Contains(v.uid)
	case "BEFORE":
		return sameDay(c.s.msgDate(c.i), k.date) < 0
	case "ON":
		return sameDay(c.s.msgDate(c.i), k.date) == 0
	case "SINCE":
		return sameDay(c.s.msgDate(c.i), k.date) >= 0
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		t, err := msgsearch.ParseDate(c.header().Get("Date"))
		if err != nil {
			return false
		}
		cmp := sameDay(t, k.date)
		return (k.op == "SENTBEFORE" && cmp < 0) || (k.op == "SENTON" && cmp == 0) || (k.op == "SENTSINCE" && cmp >= 0)
	case "LARGER", "SMALLER":
		n := c.m.size()
		if n < 0 {
			return false
		}
		if k.op == "LARGER" {
			return n > k.num
		}
		return n < k.num
	case "HEADER":
		return msgsearch.HeaderContains(c.header(), k.field, k.arg)
	case "BODY", "TEXT":
		root, err := c.m.tree()
		if err != nil {
			return false
		}
		var ok bool
		if k.op == "BODY" {
			ok, err = msgsearch.BodyContains(c.m.r, c.m.r.Size(), root, k.arg)
		} else {
			ok, err = msgsearch.TextContains(c.m.r, c.m.r.Size(), root, k.arg)
		}
		return err == nil && ok
	}
	return false
}

// runSearch returns the view indexes matching prog.
func (s *Session) runSearch(prog *searchKey) []int {
	var out []int
	for i := range s.view {
		c := &searchCtx{s: s, i: i, m: &msgCtx{s: s, uid: s.view[i].uid}}
		if c.match(prog) {
			out = append(out, i)
		}
		c.m.close()
	}
	return out
}

func (s *Session) charsetError(tag string, p *searchParser) {
	if s.utf8 {
		s.c.W.Tagged(tag, "BAD", "[BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support")
		return
	}
	s.c.No(tag, "[BADCHARSET] The requested character set is not supported.")
}

func (s *Session) cmdSearch(tag string, uid bool) error {
	d := s.c.Dec
	if !d.SP() {
		return s.bad(tag)
	}
	// RFC 4731 ESEARCH: SEARCH RETURN (opts) criteria. RECENT is the
	// other key starting with 'R' (RFC 3501 §6.4.4); the atom read to tell
	// them apart is then the first search key.
	var ret []string
	var lead *searchKey
	esearch := false
	if b, ok := d.Peek(); ok && (b == 'R' || b == 'r') {
		a, ok := d.Atom()
		switch {
		case ok && strings.EqualFold(a, "RECENT"):
			lead = &searchKey{op: "RECENT"}
		case ok && !strings.EqualFold(a, "RETURN"):
			d.Fail("unknown search key %s", a)
			return s.bad(tag)
		case !ok || !d.SP():
			return s.bad(tag)
		default:
			esearch = true
			if !d.List(func() bool {
				o, ok := d.Atom()
				o = strings.ToUpper(o)
				switch o {
				case "MIN", "MAX", "ALL", "COUNT":
					ret = append(ret, o)
					return ok
				}
				return d.Fail("bad RETURN option")
			}) || !d.SP() {
				return s.bad(tag)
			}
			if len(ret) == 0 {
				ret = []string{"ALL"}
			}
		}
	}
	p := &searchParser{s: s}
	var prog *searchKey
	ok := true
	if lead == nil {
		prog, ok = s.searchProgram(p)
	} else if b, _ := d.Peek(); b == ' ' {
		d.SP()
		var rest *searchKey
		rest, ok = p.keys()
		prog = &searchKey{op: "AND", kids: []*searchKey{lead, rest}}
	} else {
		prog = lead
	}
	if !ok {
		return s.bad(tag)
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	if p.err != nil || (s.utf8 && p.charset != "" && !strings.EqualFold(p.charset, "UTF-8")) {
		s.charsetError(tag, p)
		return nil
	}
	if p.modseq {
		s.enableCondstore()
	}
	s.syncPassive(uid)
	idx := s.runSearch(prog)
	nums := make([]uint32, len(idx))
	for k, i := range idx {
		if uid {
			nums[k] = s.view[i].uid
		} else {
			nums[k] = uint32(i + 1)
		}
	}
	if esearch {
		line := `ESEARCH (TAG ` + imapwire.QuoteOrLiteral(tag) + `)`
		if uid {
			line += " UID"
		}
		for _, o := range ret {
			switch o {
			case "MIN":
				if len(nums) > 0 {
					line += " MIN " + strconv.FormatUint(uint64(nums[0]), 10)
				}
			case "MAX":
				if len(nums) > 0 {
					line += " MAX " + strconv.FormatUint(uint64(nums[len(nums)-1]), 10)
				}
			case "COUNT":
				line += " COUNT " + strconv.Itoa(len(nums))
			case "ALL":
				if len(nums) > 0 {
					line += " ALL " + imapwire.CompressUIDs(nums)
				}
			}
		}
		if ms := s.searchModSeq(idx, ret); p.modseq && ms != "" {
			line += " MODSEQ " + ms
		}
		s.c.W.Untagged(line)
	} else {
		var sb strings.Builder
		sb.WriteString("* SEARCH")
		for _, n := range nums {
			sb.WriteByte(' ')
			sb.WriteString(strconv.FormatUint(uint64(n), 10))
		}
		if ms := s.searchModSeq(idx, nil); p.modseq && ms != "" {
			sb.WriteString(" (MODSEQ " + ms + ")") // RFC 7162 §3.1.5
		}
		sb.WriteString("\r\n")
		s.c.W.Raw(sb.String())
	}
	s.c.OK(tag, "SEARCH done.")
	return nil
}
