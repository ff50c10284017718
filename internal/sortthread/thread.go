package sortthread

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

func run(alg string, msgs []Message) ([]*Thread, error) {
	switch strings.ToUpper(alg) {
	case "ORDEREDSUBJECT":
		return orderedSubject(msgs), nil
	case "REFERENCES":
		return references(msgs), nil
	}
	return nil, ErrBadAlgorithm
}

// maxRefs bounds the References entries used per message.
const maxRefs = 256

// tmsg is the per-message data threading needs.
type tmsg struct {
	idx     int
	id      uint32
	date    time.Time
	subject string // base subject, i;ascii-casemap form
	reply   bool
}

func prepare(msgs []Message) []*tmsg {
	out := make([]*tmsg, len(msgs))
	for i := range msgs {
		s, re := baseSubject(msgs[i].Subject)
		out[i] = &tmsg{idx: i, id: msgs[i].ID, date: sentDate(&msgs[i]), subject: casemap(s), reply: re}
	}
	return out
}

// before orders by sent date, then mailbox order (RFC 5256 §2.2).
func before(a, b *tmsg) bool {
	if c := a.date.Compare(b.date); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}

func orderedSubject(msgs []Message) []*Thread {
	ms := prepare(msgs)
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].subject != ms[j].subject {
			return ms[i].subject < ms[j].subject
		}
		return before(ms[i], ms[j])
	})
	type group struct {
		first *tmsg
		t     *Thread
	}
	var groups []group
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && ms[j].subject == ms[i].subject {
			j++
		}
		// RFC 5256 §3 ORDEREDSUBJECT: the first message is the parent of
		// all the others, which are siblings; no grandchildren.
		t := &Thread{ID: ms[i].id}
		for _, m := range ms[i+1 : j] {
			t.Children = append(t.Children, &Thread{ID: m.id})
		}
		groups = append(groups, group{ms[i], t})
		i = j
	}
	sort.SliceStable(groups, func(a, b int) bool { return before(groups[a].first, groups[b].first) })
	out := make([]*Thread, len(groups))
	for i, g := range groups {
		out[i] = g.t
	}
	return out
}

// node is a REFERENCES container; msg nil marks a dummy.
type node struct {
	msg      *tmsg
	parent   *node
	children []*node
}

func (n *node) unlink() {
	p := n.parent
	if p == nil {
		return
	}
	for i, c := range p.children {
		if c == n {
			p.children = append(p.children[:i], p.children[i+1:]...)
			break
		}
	}
	n.parent = nil
}

// isAncestor reports whether a is n or one of n's ancestors.
func isAncestor(a, n *node) bool {
	for ; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

// link makes c a child of p unless that would make a loop.
func link(p, c *node) {
	// Only a container with children can be an ancestor of another one;
	// the common case (a new message) skips the walk up.
	if p == c || len(c.children) > 0 && isAncestor(c, p) {
		return
	}
	c.unlink()
	c.parent = p
	p.children = append(p.children, c)
}

// msgIDs extracts the <...> message ids of a field.
func msgIDs(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return out
		}
		id := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s[i:i+j+1])
		if len(id) > 2 {
			out = append(out, id)
		}
		s = s[i+j+1:]
	}
}

// key of a container for sorting: itself, or a dummy's first child.
func sortKey(n *node) *tmsg {
	for n.msg == nil && len(n.children) > 0 {
		n = n.children[0]
	}
	return n.msg
}

func sortNodes(ns []*node) {
	sort.SliceStable(ns, func(i, j int) bool {
		a, b := sortKey(ns[i]), sortKey(ns[j])
		if a == nil || b == nil {
			return b != nil
		}
		return before(a, b)
	})
}

func references(msgs []Message) []*Thread {
	ms := prepare(msgs)
	table := make(map[string]*node, len(msgs)*2)
	var created []*node // every container, in creation order
	get := func(id string) *node {
		n := table[id]
		if n == nil {
			n = &node{}
			table[id] = n
			created = append(created, n)
		}
		return n
	}
	// Step 1.
	for i, m := range ms {
		var c *node
		ids := msgIDs(msgs[i].MessageID)
		if len(ids) > 0 {
			if n := table[ids[0]]; n == nil || n.msg == nil {
				c = get(ids[0])
			}
		}
		if c == nil {
			// Missing, invalid or duplicate Message-ID: a unique one
			// (RFC 5256 §3 REFERENCES step 1.A).
			c = get("\x00" + strconv.Itoa(i))
		}
		c.msg = m
		refs := msgIDs(msgs[i].References)
		if len(refs) > maxRefs {
			// Bound the work on hostile headers; the last references
			// are the nearest ancestors.
			refs = refs[len(refs)-maxRefs:]
		}
		if len(refs) == 0 {
			if irt := msgIDs(msgs[i].InReplyTo); len(irt) > 0 {
				refs = irt[:1]
			}
		}
		// 1.B: chain the references, keeping existing links.
		for k := 0; k+1 < len(refs); k++ {
			p, ch := get(refs[k]), get(refs[k+1])
			if ch.parent == nil && p != ch {
				link(p, ch)
			}
		}
		// 1.C: the last reference is the parent of this message.
		if c.parent != nil {
			c.unlink()
		}
		if len(refs) > 0 {
			if p := get(refs[len(refs)-1]); p != c {
				link(p, c)
			}
		}
	}
	// Step 2: the root set, every container without a parent.
	var roots []*node
	for _, c := range created {
		if c.parent == nil {
			roots = append(roots, c)
		}
	}
	// Step 3: drop the id table.
	table = nil
	// Step 4: prune dummies.
	roots = prune(roots, true)
	// Step 5: sort the root set by sent date.
	for _, r := range roots {
		if r.msg == nil {
			sortNodes(r.children)
		}
	}
	sortNodes(roots)
	// Step 6: merge threads with the same base subject.
	roots = mergeSubjects(roots)
	// Step 7: sort every level.
	var sortAll func(ns []*node)
	sortAll = func(ns []*node) {
		for _, n := range ns {
			sortAll(n.children)
		}
		sortNodes(ns)
	}
	sortAll(roots)
	out := make([]*Thread, 0, len(roots))
	for _, r := range roots {
		out = append(out, toThread(r))
	}
	return out
}

// prune implements step 4 (bottom-up): dummies without children vanish,
// dummies with children are replaced by them, except a root-level dummy
// with several children.
func prune(ns []*node, root bool) []*node {
	out := ns[:0:0]
	for _, n := range ns {
		n.children = prune(n.children, false)
		if n.msg != nil {
			out = append(out, n)
			continue
		}
		switch {
		case len(n.children) == 0:
		case !root || len(n.children) == 1:
			for _, c := range n.children {
				c.parent = n.parent
				out = append(out, c)
			}
		default:
			out = append(out, n)
		}
	}
	return out
}

// subjectOf returns the message giving a container its subject.
func subjectOf(n *node) *tmsg {
	if n.msg != nil {
		return n.msg
	}
	if len(n.children) > 0 {
		return n.children[0].msg
	}
	return nil
}

// mergeSubjects implements step 6.
func mergeSubjects(roots []*node) []*node {
	table := make(map[string]*node)
	for _, r := range roots {
		m := subjectOf(r)
		if m == nil || m.subject == "" {
			continue
		}
		old := table[m.subject]
		if old == nil ||
			r.msg == nil && old.msg != nil ||
			old.msg != nil && old.msg.reply && r.msg != nil && !r.msg.reply {
			table[m.subject] = r
		}
	}
	removed := make(map[*node]bool)
	replace := make(map[*node]*node)
	for _, r := range roots {
		if r.parent != nil || removed[r] {
			continue // already merged into another thread
		}
		m := subjectOf(r)
		if m == nil || m.subject == "" {
			continue
		}
		t := table[m.subject]
		if t == nil || t == r {
			continue
		}
		removed[r] = true
		switch {
		case t.msg == nil && r.msg == nil:
			for _, c := range r.children {
				c.parent = t
			}
			t.children = append(t.children, r.children...)
			r.children = nil
		case t.msg == nil:
			r.parent = t
			t.children = append(t.children, r)
		case r.msg == nil:
			// The table holds a message and this is a dummy: by
			// construction of the table this cannot happen (dummies
			// win); keep both as siblings under this dummy.
			t2 := t
			r.children = append(r.children, t2)
			t2.parent = r
			removed[r] = false
			removed[t2] = true
			table[m.subject] = r
		case !t.msg.reply && r.msg.reply:
			r.parent = t
			t.children = append(t.children, r)
		case t.msg.reply && !r.msg.reply:
			// Misordered: the table entry becomes our child, we take
			// its place.
			t.parent = r
			r.children = append(r.children, t)
			removed[r] = false
			removed[t] = true
			replace[t] = r
			table[m.subject] = r
		default:
			d := &node{children: []*node{t, r}}
			t.parent, r.parent = d, d
			replace[t] = d
			table[m.subject] = d
		}
	}
	out := roots[:0:0]
	for _, r := range roots {
		for replace[r] != nil && replace[r] != r {
			r = replace[r]
		}
		if removed[r] || r.parent != nil {
			continue
		}
		dup := false
		for _, o := range out {
			if o == r {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

func toThread(n *node) *Thread {
	t := &Thread{}
	if n.msg != nil {
		t.ID = n.msg.id
	}
	for _, c := range n.children {
		t.Children = append(t.Children, toThread(c))
	}
	return t
}

func format(threads []*Thread) string {
	var b strings.Builder
	for _, t := range threads {
		b.WriteByte('(')
		formatNode(&b, t)
		b.WriteByte(')')
	}
	return b.String()
}

// formatNode writes a node and its descendants: a single child follows
// after a space, several children are each parenthesised (RFC 5256 §4).
func formatNode(b *strings.Builder, t *Thread) {
	for {
		if t.ID != 0 {
			b.WriteString(strconv.FormatUint(uint64(t.ID), 10))
		}
		switch len(t.Children) {
		case 0:
			return
		case 1:
			if t.ID != 0 {
				b.WriteByte(' ')
			}
			t = t.Children[0]
			continue
		}
		if t.ID != 0 {
			b.WriteByte(' ')
		}
		for _, c := range t.Children {
			b.WriteByte('(')
			formatNode(b, c)
			b.WriteByte(')')
		}
		return
	}
}
