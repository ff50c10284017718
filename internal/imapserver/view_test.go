package imapserver

import (
	"math/rand"
	"reflect"
	"testing"

	"gocourier/internal/imapwire"
)

// naiveIndexes is the definition seqIndexes must agree with: every view
// entry tested against every range.
func naiveIndexes(view []viewMsg, r imapwire.SeqSet, uid bool) []int {
	var idx []int
	for i, m := range view {
		k := uint32(i + 1)
		if uid {
			k = m.uid
		}
		if r.Contains(k) {
			idx = append(idx, i)
		}
	}
	return idx
}

func TestSeqIndexesMatchNaive(t *testing.T) {
	view := []viewMsg{{uid: 3}, {uid: 4}, {uid: 9}, {uid: 10}, {uid: 11}, {uid: 40}, {uid: 41}}
	s := &Session{view: view}
	cases := []struct {
		name string
		set  imapwire.SeqSet
	}{
		{"single", imapwire.SeqSet{{Lo: 4, Hi: 4}}},
		{"star", imapwire.SeqSet{{Lo: imapwire.Star, Hi: imapwire.Star}}},
		{"all", imapwire.SeqSet{{Lo: 1, Hi: imapwire.Star}}},
		{"overlapping", imapwire.SeqSet{{Lo: 2, Hi: 9}, {Lo: 5, Hi: 11}, {Lo: 10, Hi: 10}}},
		{"adjacent", imapwire.SeqSet{{Lo: 3, Hi: 3}, {Lo: 4, Hi: 4}, {Lo: 5, Hi: 5}}},
		{"unsorted", imapwire.SeqSet{{Lo: 41, Hi: 41}, {Lo: 3, Hi: 3}, {Lo: 10, Hi: 11}}},
		{"literal zero", imapwire.SeqSet{{Lo: 0xFFFFFFFF, Hi: 0xFFFFFFFF}}},
		{"zero as range end", imapwire.SeqSet{{Lo: 2, Hi: 0xFFFFFFFF}}},
		{"beyond", imapwire.SeqSet{{Lo: 100, Hi: 200}}},
		{"max adjacent", imapwire.SeqSet{{Lo: 0xFFFFFFFE, Hi: 0xFFFFFFFF}, {Lo: 1, Hi: 2}}},
	}
	for _, c := range cases {
		for _, uid := range []bool{false, true} {
			max := uint32(len(view))
			if uid {
				max = view[len(view)-1].uid
			}
			want := naiveIndexes(view, c.set.Resolve(max), uid)
			got, _ := s.seqIndexes(c.set, uid)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s uid=%v: got %v want %v", c.name, uid, got, want)
			}
		}
	}
	// Random sets against random views, including empty ones.
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 500; n++ {
		var v []viewMsg
		u := uint32(0)
		for i := rng.Intn(30); i > 0; i-- {
			u += uint32(1 + rng.Intn(4))
			v = append(v, viewMsg{uid: u})
		}
		var set imapwire.SeqSet
		for i := 1 + rng.Intn(5); i > 0; i-- {
			lo, hi := uint32(rng.Intn(60)), uint32(rng.Intn(60))
			if lo > hi {
				lo, hi = hi, lo
			}
			set = append(set, imapwire.Range{Lo: lo, Hi: hi})
		}
		s := &Session{view: v}
		for _, uid := range []bool{false, true} {
			max := uint32(len(v))
			if uid && len(v) > 0 {
				max = v[len(v)-1].uid
			}
			want := naiveIndexes(v, set.Resolve(max), uid)
			got, _ := s.seqIndexes(set, uid)
			if len(got) != 0 || len(want) != 0 {
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("view %v set %v uid=%v: got %v want %v", v, set, uid, got, want)
				}
			}
		}
	}
}

func TestSameFlagsShared(t *testing.T) {
	a := []string{`\Seen`, `\Flagged`}
	cases := []struct {
		name string
		x, y []string
		want bool
	}{
		{"same slice", a, a, true},
		{"same set other order", a, []string{`\Flagged`, `\Seen`}, true},
		{"case", a, []string{`\seen`, `\FLAGGED`}, true},
		{"differ", a, []string{`\Seen`, `\Deleted`}, false},
		{"length", a, a[:1], false},
		{"empty", nil, []string{}, true},
	}
	for _, c := range cases {
		if got := sameFlags(c.x, c.y); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}
