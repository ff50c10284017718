package imapserver

import (
	"testing"

	"gocourier/internal/imapwire"
)

func TestMissingLine(t *testing.T) {
	cases := []struct {
		name    string
		known   imapwire.SeqSet
		present []uint32
		max     uint32
		want    string
	}{
		{"none missing", imapwire.SeqSet{{Lo: 1, Hi: 3}}, []uint32{1, 2, 3}, 3, ""},
		{"holes", imapwire.SeqSet{{Lo: 1, Hi: 10}}, []uint32{2, 5, 6}, 10, "1,3:4,7:10"},
		{"clipped at max", imapwire.SeqSet{{Lo: 1, Hi: 4294967295}}, []uint32{1, 3}, 5, "2,4:5"},
		{"huge range is cheap", imapwire.SeqSet{{Lo: 1, Hi: 4294967295}}, nil, 4294967294, "1:4294967294"},
		{"overlapping known", imapwire.SeqSet{{Lo: 5, Hi: 8}, {Lo: 1, Hi: 6}}, []uint32{2}, 10, "1,3:6,7:8"},
		{"duplicate known", imapwire.SeqSet{{Lo: 3, Hi: 3}, {Lo: 3, Hi: 3}}, nil, 10, "3"},
		{"reversed range", imapwire.SeqSet{{Lo: 6, Hi: 4}}, []uint32{5}, 10, "4,6"},
		{"zero lo", imapwire.SeqSet{{Lo: 0, Hi: 2}}, nil, 10, "1:2"},
		{"literal zero matches nothing", imapwire.SeqSet{{Lo: 0xFFFFFFFF, Hi: 0xFFFFFFFF}}, nil, 10, ""},
		{"empty mailbox", imapwire.SeqSet{{Lo: 1, Hi: 5}}, nil, 0, ""},
	}
	for _, c := range cases {
		got := missingLine(c.known, c.present, c.max)
		want := ""
		if c.want != "" {
			want = "* VANISHED (EARLIER) " + c.want + "\r\n"
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", c.name, got, want)
		}
	}
}
