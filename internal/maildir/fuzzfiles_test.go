package maildir

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadCache: the snapshot cache (gocourierimapcache) is a file in the
// user's maildir, so hostile input: any body after a matching header is
// either refused or yields entries ascending by UID, all below the next
// UID, each with a name.
func FuzzReadCache(f *testing.F) {
	f.Add([]byte("1 a:2,S\n2 b:2, $Label1 Junk\n"), 2)
	f.Add([]byte("2 a\n1 b\n"), 2)
	f.Add([]byte("1 \n"), 1)
	f.Add([]byte("4294967295 x\n"), 1)
	f.Add([]byte(""), 0)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		dir := t.TempDir()
		m := &Maildir{root: dir, opts: Options{Keywords: true}}
		stamp := dirStamp{valid: true, cur: 1, new: 2, kw: 3, dbIno: 4, dbSize: 5, dbM: 6}
		const uidv, next = 7, 100
		data := append([]byte(cacheHeader(stamp, true, uidv, next, n)), body...)
		if err := os.WriteFile(filepath.Join(dir, cacheFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, ok := m.readCache(dir, stamp, false)
		if !ok {
			return
		}
		if res.uidv != uidv || res.next != next || len(res.entries) != n {
			t.Fatalf("header: %d %d %d entries, want %d", res.uidv, res.next, len(res.entries), n)
		}
		var prev uint32
		for _, e := range res.entries {
			if e.uid <= prev || e.uid >= next || e.name == "" {
				t.Fatalf("entry %d %q after %d", e.uid, e.name, prev)
			}
			prev = e.uid
		}
	})
}

// FuzzSyncMark: the durability marker (gocourieruiddbsync) is read before
// a session trusts a uiddb; whatever it holds, it either parses to three
// numbers that a marker written for them reproduces, or is refused.
func FuzzSyncMark(f *testing.F) {
	f.Add([]byte("12 345 1795716124289256000" + "                                   \n"))
	f.Add([]byte("1 2\n"))
	f.Add([]byte("-1 x 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, syncMarkFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		id, ok := readSyncMark(dir)
		if !ok {
			return
		}
		m := &Maildir{root: dir}
		m.writeSyncMark(dir, id)
		again, ok := readSyncMark(dir)
		if !ok || again != id {
			t.Fatalf("%q: %v, rewritten reads %v %v", data, id, again, ok)
		}
	})
}
