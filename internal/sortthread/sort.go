package sortthread

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"gocourier/internal/mime"
	"gocourier/internal/msgsearch"
)

func parseKeys(words []string) ([]Key, error) {
	var keys []Key
	rev := false
	for _, w := range words {
		var k KeyKind
		switch strings.ToUpper(w) {
		case "REVERSE":
			if rev {
				return nil, fmt.Errorf("%w: REVERSE REVERSE", ErrBadKey)
			}
			rev = true
			continue
		case "ARRIVAL":
			k = Arrival
		case "CC":
			k = Cc
		case "DATE":
			k = Date
		case "FROM":
			k = From
		case "SIZE":
			k = Size
		case "SUBJECT":
			k = Subject
		case "TO":
			k = To
		default:
			return nil, fmt.Errorf("%w: %q", ErrBadKey, w)
		}
		keys = append(keys, Key{Kind: k, Reverse: rev})
		rev = false
	}
	if rev || len(keys) == 0 {
		return nil, fmt.Errorf("%w: empty or dangling REVERSE", ErrBadKey)
	}
	return keys, nil
}

func sentDate(m *Message) time.Time {
	if m.Date != "" {
		if t, err := msgsearch.ParseDate(m.Date); err == nil {
			return t.UTC()
		}
	}
	return m.Arrival.UTC()
}

// firstMailbox returns the addr-mailbox of the first address of a raw
// address field (RFC 5256 §3 CC/FROM/TO), "" when there is none. For a
// field that starts with a group, the first ENVELOPE address is the group
// start marker, whose addr-mailbox is the group name (RFC 3501 §7.4.2);
// Dovecot sorts by it as well (imaptest sort-addresses).
func firstMailbox(field string) string {
	if field == "" {
		return ""
	}
	for _, a := range mime.ParseAddressList(field) {
		if a.GroupEnd {
			continue
		}
		return a.Mailbox
	}
	return ""
}

// casemap returns s for i;ascii-casemap comparison (RFC 4790 §9.2):
// ASCII letters upper-cased, other octets unchanged.
func casemap(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// sortItem holds the precomputed keys of one message.
type sortItem struct {
	idx      int
	id       uint32
	arrival  time.Time
	date     time.Time
	size     int64
	subject  string
	from     string
	to, cc   string
	haveDate bool
}

func sortMessages(msgs []Message, keys []Key) []uint32 {
	items := make([]sortItem, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		it := sortItem{idx: i, id: m.ID, arrival: m.Arrival, size: m.Size}
		for _, k := range keys {
			switch k.Kind {
			case Date:
				it.date = sentDate(m)
			case Subject:
				s, _ := baseSubject(m.Subject)
				it.subject = casemap(s)
			case From:
				it.from = casemap(firstMailbox(m.From))
			case To:
				it.to = casemap(firstMailbox(m.To))
			case Cc:
				it.cc = casemap(firstMailbox(m.Cc))
			}
		}
		items[i] = it
	}
	sort.SliceStable(items, func(a, b int) bool {
		x, y := &items[a], &items[b]
		for _, k := range keys {
			c := 0
			switch k.Kind {
			case Arrival:
				c = x.arrival.Compare(y.arrival)
			case Date:
				c = x.date.Compare(y.date)
			case Size:
				c = cmpInt(x.size, y.size)
			case Subject:
				c = strings.Compare(x.subject, y.subject)
			case From:
				c = strings.Compare(x.from, y.from)
			case To:
				c = strings.Compare(x.to, y.to)
			case Cc:
				c = strings.Compare(x.cc, y.cc)
			}
			if k.Reverse {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		// Exact match: mailbox order (RFC 5256 §3).
		return x.idx < y.idx
	})
	out := make([]uint32, len(items))
	for i := range items {
		out[i] = items[i].id
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
