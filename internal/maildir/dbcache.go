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
	id, ok := fileIdent(path)
	if !ok {
		c.ok = false
		return
	}
	c.path, c.ident, c.db, c.ok = path, id, db, true
}

// putIdent records db as the content of path with the identity id,
// taken by the caller before and after reading it.
func (c *dbCache) putIdent(path string, id [4]int64, db uiddb.DB) {
	c.path, c.ident, c.db, c.ok = path, id, db, true
}

func (c *dbCache) forget() { c.ok = false }
