package maildir

import (
	"syscall"

	"gocourier/internal/maildir/uiddb"
)

// dbCache keeps the last uiddb this handle wrote, keyed by the file's
// identity (inode, size, mtime, ctime), so that consecutive APPENDs to a
// big folder do not re-parse it. Any rewrite by anyone else changes the
// identity (rename gives a new inode and times), and the file is parsed
// again.
type dbCache struct {
	path  string
	ident [4]int64
	db    uiddb.DB
	ok    bool
	// lines: the file's entry lines as written (uiddb.AppendLines of
	// db.Entries), when this handle wrote it; nil otherwise.
	lines []byte
}

func fileIdent(path string) ([4]int64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return [4]int64{}, false
	}
	return [4]int64{int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}, true
}

func (c *dbCache) get(path string) (uiddb.DB, bool) {
	if !c.ok || c.path != path {
		return uiddb.DB{}, false
	}
	id, ok := fileIdent(path)
	if !ok || id != c.ident {
		c.ok = false
		return uiddb.DB{}, false
	}
	// The caller appends to Entries: give it its own slice header with
	// no spare capacity shared with the cached copy.
	db := c.db
	db.Entries = db.Entries[:len(db.Entries):len(db.Entries)]
	return db, true
}

func (c *dbCache) put(path string, db uiddb.DB) {
	c.putLines(path, db, nil)
}

// putLines is put, with the entry lines the file holds (see lines).
func (c *dbCache) putLines(path string, db uiddb.DB, lines []byte) {
	id, ok := fileIdent(path)
	if !ok {
		c.ok, c.lines = false, nil
		return
	}
	c.path, c.ident, c.db, c.ok, c.lines = path, id, db, true, lines
}

// take is get for a commit, which appends to the entries and their lines
// and puts the result back: it hands over the slices with their spare
// capacity (a copy of every entry and a new formatting of every line per
// APPEND was most of an APPEND's CPU in a 20,000-message folder) and
// empties the cache, so nothing else can see them change.
func (c *dbCache) take(path string) (uiddb.DB, []byte, bool) {
	if !c.ok || c.path != path {
		return uiddb.DB{}, nil, false
	}
	id, ok := fileIdent(path)
	c.ok = false
	if !ok || id != c.ident {
		c.lines = nil
		return uiddb.DB{}, nil, false
	}
	db, lines := c.db, c.lines
	c.db, c.lines = uiddb.DB{}, nil
	return db, lines, true
}

// putIdent records db as the content of path with the identity id,
// taken by the caller before and after reading it.
func (c *dbCache) putIdent(path string, id [4]int64, db uiddb.DB) {
	c.path, c.ident, c.db, c.ok, c.lines = path, id, db, true, nil
}

func (c *dbCache) forget() { c.ok, c.lines = false, nil }
