package imapserver

import (
	"sort"
	"strings"
)

// matchPattern implements RFC 3501 §6.3.8 wildcards: '*' matches
// anything, '%' anything but the hierarchy separator '.'.
func matchPattern(pattern, name string) bool {
	return matchRec(pattern, name, 0)
}

func matchRec(p, n string, depth int) bool {
	if depth > 64 {
		return false
	}
	for len(p) > 0 {
		switch p[0] {
		case '*', '%':
			rest := p[1:]
			for i := 0; i <= len(n); i++ {
				if matchRec(rest, n[i:], depth+1) {
					return true
				}
				if i < len(n) && p[0] == '%' && n[i] == '.' {
					return false
				}
			}
			return false
		default:
			if len(n) == 0 || n[0] != p[0] {
				return false
			}
			p, n = p[1:], n[1:]
		}
	}
	return len(n) == 0
}

func (s *Session) cmdList(tag string, _ bool) error {
	lsub := s.lastVerb == "LSUB"
	d := s.c.Dec
	if !d.SP() {
		return s.badInvalid(tag)
	}
	// Courier parses a "(...)" selection list and ignores it (§4.2); we
	// honour SPECIAL-USE (RFC 6154 §2) and ignore the rest likewise.
	onlySpecial := false
	if b, ok := d.Peek(); ok && b == '(' && !lsub {
		if !d.List(func() bool {
			a, ok := d.Atom()
			onlySpecial = onlySpecial || strings.EqualFold(a, "SPECIAL-USE")
			return ok
		}) || !d.SP() {
			return s.badInvalid(tag)
		}
	}
	ref, ok := d.AString()
	if !ok || !d.SP() {
		return s.badInvalid(tag)
	}
	pat, ok := d.ListMailbox()
	if !ok {
		return s.badInvalid(tag)
	}
	if !lsub && d.Special(' ') {
		// "RETURN (...)" (RFC 5258 §3; RFC 6154 SPECIAL-USE): we always
		// return children and special-use attributes, so the options
		// are read and ignored (Courier refuses RETURN, §4.1).
		a, ok := d.Atom()
		if !ok || !strings.EqualFold(a, "RETURN") || !d.SP() ||
			!d.List(func() bool { _, ok := d.Atom(); return ok }) {
			return s.bad(tag)
		}
	}
	if ok, err := s.end(tag); !ok {
		return err
	}
	verb := "LIST"
	if lsub {
		verb = "LSUB"
	}
	if strings.Count(pat, "*")+strings.Count(pat, "%") > 10 {
		s.c.No(tag, "Too many wildcards.")
		return nil
	}
	if pat == "" && !lsub {
		// RFC 3501 §6.3.8: the hierarchy delimiter and root.
		s.c.W.Untagged(`LIST (\Noselect) "." ""`)
		s.c.OK(tag, verb+" completed")
		return nil
	}
	refName, ok1 := s.wireName(ref)
	patName, ok2 := s.wireName(pat)
	if !ok1 || !ok2 {
		s.c.OK(tag, verb+" completed")
		return nil
	}
	full := canonInbox(refName + patName)
	folders, err := s.store.Folders()
	if err != nil {
		s.c.No(tag, "Unable to list folders.")
		return nil
	}
	// Courier lists in readdir order with INBOX last; we list INBOX first,
	// then the rest in name order (DESIGN.md §5).
	sort.SliceStable(folders, func(i, j int) bool {
		a, b := folders[i].Name, folders[j].Name
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return a < b
	})
	info := map[string]FolderInfo{}
	for _, f := range folders {
		info[f.Name] = f
	}
	if !lsub {
		for _, f := range folders {
			if !matchPattern(full, f.Name) || (onlySpecial && f.SpecialUse == "") {
				continue
			}
			s.c.W.Untagged("LIST " + s.listFlags(f) + ` "." ` + s.outName(f.Name))
		}
		s.c.OK(tag, verb+" completed")
		return nil
	}
	subs, err := s.store.Subscriptions()
	if err != nil {
		s.c.No(tag, "Unable to list folders.")
		return nil
	}
	subs = append([]string(nil), subs...)
	sort.SliceStable(subs, func(i, j int) bool {
		a, b := canonInbox(subs[i]), canonInbox(subs[j])
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return a < b
	})
	subscribed := map[string]bool{}
	for _, n := range subs {
		subscribed[canonInbox(n)] = true
	}
	done := map[string]bool{}
	for _, n := range subs {
		n = canonInbox(n)
		if matchPattern(full, n) && !done[n] {
			done[n] = true
			f, ok := info[n]
			if !ok {
				f = FolderInfo{Name: n}
			}
			s.c.W.Untagged("LSUB " + s.listFlags(f) + ` "." ` + s.outName(n))
			continue
		}
		// RFC 3501 §6.3.9: a parent matched by '%' whose child is
		// subscribed is listed \Noselect.
		for i := strings.LastIndexByte(n, '.'); i > 0; i = strings.LastIndexByte(n[:i], '.') {
			p := n[:i]
			if done[p] || subscribed[p] || !matchPattern(full, p) {
				continue
			}
			done[p] = true
			s.c.W.Untagged(`LSUB (\Noselect \HasChildren) "." ` + s.outName(p))
		}
	}
	s.c.OK(tag, verb+" completed")
	return nil
}

func (s *Session) listFlags(f FolderInfo) string {
	var fl []string
	if f.NoSelect {
		fl = append(fl, `\Noselect`)
	}
	if f.Marked == 1 && (f.Name == "INBOX" || s.cfg.Getenv("IMAP_CHECK_ALL_FOLDERS") == "1") {
		fl = append(fl, `\Marked`)
	} else if f.Marked == 0 && (f.Name == "INBOX" || s.cfg.Getenv("IMAP_CHECK_ALL_FOLDERS") == "1") {
		fl = append(fl, `\Unmarked`)
	}
	switch {
	case f.Children:
		fl = append(fl, `\HasChildren`)
	case s.cfg.Getenv("IMAP_OBSOLETE_CLIENT") == "1":
		fl = append(fl, `\NoInferiors`)
	default:
		fl = append(fl, `\HasNoChildren`)
	}
	if f.SpecialUse != "" {
		fl = append(fl, f.SpecialUse)
	}
	return "(" + strings.Join(fl, " ") + ")"
}
