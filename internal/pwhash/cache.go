package pwhash

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// DefaultCacheSize is the number of successful verifications a Cache keeps
// unless configured otherwise (authdaemonrc AUTH_CACHE_SIZE).
const DefaultCacheSize = 1024

// Cache remembers successful verifications of slow password hashes (the
// crypt(3) forms: sha-crypt, md5-crypt, bcrypt, yescrypt, scrypt, DES), so
// that a client that logs in again with the same password does not pay
// the 5,000 SHA-512 rounds again. It is the same idea as Dovecot's
// auth_cache, restricted to positive results.
//
// Invariants:
//   - Whether a password matches a stored hash is a pure function of the two
//     strings, so an entry can never go stale: a changed password changes the
//     stored hash, and the old entry simply stops being looked up.
//   - Only successes are kept. A failed verification always pays the full
//     hash, so guessing is exactly as slow as without the cache.
//     A hit is faster than a miss, but only the right password can hit,
//     and the caller's answer reveals that anyway: no timing oracle.
//   - Neither a password nor anything computable from it without the key
//     is kept: an entry is HMAC-SHA256(key, stored || 0 || password), with
//     the key drawn from crypto/rand when the Cache is made and never
//     written anywhere. It is indexed by HMAC-SHA256(key, stored), so an
//     account's hash has at most one entry and the password's tag is
//     compared in constant time.
//   - Memory is bounded: at most size entries of 64 bytes plus list and
//     map overhead, the least recently used dropped first.
//
// The trade-off: someone who can read authdaemond's memory as root could
// take the key and the tags and test guesses for the cached accounts with
// two HMACs each instead of the slow hash. Such a reader also sees every
// password in flight, so the cache is on by default; AUTH_CACHE_SIZE=0
// turns it off.
//
// A nil *Cache is valid and caches nothing.
type Cache struct {
	key  []byte
	size int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*cacheEntry
	// head is the most recently used entry, tail the least; the list is
	// doubly linked through the entries so promotion allocates nothing.
	head, tail *cacheEntry
	macs       sync.Pool // hash.Hash keyed with key

	verify func(password, stored string) (bool, error) // Verify; tests count calls
}

type cacheEntry struct {
	index      [sha256.Size]byte // HMAC(key, stored)
	tag        [sha256.Size]byte // HMAC(key, stored || 0 || password)
	prev, next *cacheEntry
}

// NewCache returns a cache of at most size successful verifications, or
// nil (no caching) when size <= 0.
func NewCache(size int) (*Cache, error) {
	if size <= 0 {
		return nil, nil
	}
	key := make([]byte, sha256.Size)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("pwhash: cache key: %w", err)
	}
	c := &Cache{key: key, size: size, entries: make(map[[sha256.Size]byte]*cacheEntry, min(size, 1024)), verify: Verify}
	c.macs.New = func() any { return hmac.New(sha256.New, c.key) }
	return c, nil
}

// Len returns the number of entries.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Verify is Verify (the package function) with the cache in front of the
// slow hash forms: a hit answers true without hashing; a miss hashes, and
// only a match is remembered. Cheap forms ({MD5}, {SHA}..., {PLAIN}) and
// over-long passwords bypass the cache.
func (c *Cache) Verify(password, stored string) (bool, error) {
	if c == nil || len(password) > MaxPassword || !slowForm(stored) {
		return Verify(password, stored)
	}
	index, tag := c.tags(password, stored)
	if c.lookup(index, tag) {
		return true, nil
	}
	ok, err := c.verify(password, stored)
	if ok && err == nil {
		c.add(index, tag)
	}
	return ok, err
}

// slowForm reports whether stored goes through crypt(3)-style hashing,
// the only forms worth caching.
func slowForm(stored string) bool {
	if strings.HasPrefix(stored, "{") {
		end := strings.IndexByte(stored, '}')
		if end < 0 || !strings.EqualFold(stored[1:end], "CRYPT") {
			return false
		}
		stored = stored[end+1:]
	}
	return strings.HasPrefix(stored, "$") || len(stored) == 13
}

// tags computes the index HMAC(key, stored) and the tag
// HMAC(key, stored || 0 || password). stored cannot contain a NUL (it
// comes from a text userdb field or a database column read as text), so
// the separator makes the concatenation unambiguous.
func (c *Cache) tags(password, stored string) (index, tag [sha256.Size]byte) {
	m := c.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(stored))
	m.Sum(index[:0])
	m.Write([]byte{0})
	m.Write([]byte(password))
	m.Sum(tag[:0])
	m.Reset()
	c.macs.Put(m)
	return index, tag
}

func (c *Cache) lookup(index, tag [sha256.Size]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[index]
	if e == nil || subtle.ConstantTimeCompare(e.tag[:], tag[:]) != 1 {
		return false
	}
	c.unlink(e)
	c.pushFront(e)
	return true
}

func (c *Cache) add(index, tag [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[index]; e != nil {
		// Another password for the same hash (DES crypt reads only 8
		// characters): keep the latest.
		e.tag = tag
		c.unlink(e)
		c.pushFront(e)
		return
	}
	if len(c.entries) >= c.size {
		old := c.tail
		c.unlink(old)
		delete(c.entries, old.index)
	}
	e := &cacheEntry{index: index, tag: tag}
	c.entries[index] = e
	c.pushFront(e)
}

func (c *Cache) unlink(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *Cache) pushFront(e *cacheEntry) {
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}
