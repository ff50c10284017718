package userdb

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Source serves the current DB of a userdb path and reloads it when a
// file's size or mtime changes (checked at most once per CheckInterval) or
// when Reload is called (SIGHUP). A reload that fails (unreadable file,
// syntax error, duplicate) is reported to Log and the last good DB stays
// in service, so a typo never locks every user out.
type Source struct {
	Path          string
	CheckInterval time.Duration    // default 1 s
	Log           func(msg string) // default: discard
	Now           func() time.Time // for tests

	mu        sync.Mutex
	db        *DB
	sig       string // signature of the files the DB was loaded from
	badSig    string // signature of the last failed load (no repeated log lines)
	lastCheck time.Time
}

// NewSource returns a Source for path; it does not load yet.
func NewSource(path string) *Source {
	return &Source{Path: path, CheckInterval: time.Second}
}

func (s *Source) log(format string, args ...any) {
	if s.Log != nil {
		s.Log(fmt.Sprintf(format, args...))
	}
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// signature describes the files: names, sizes, mtimes (and the directory's
// own mtime, which changes when files are added or removed).
func signature(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d %d;", path, st.Size(), st.ModTime().UnixNano())
	if st.IsDir() {
		files, err := Files(path)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			fst, err := os.Stat(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "%s %d %d;", f, fst.Size(), fst.ModTime().UnixNano())
		}
	}
	return b.String(), nil
}

// DB returns the current database, reloading first if the files changed
// and the last check is older than CheckInterval. It returns an error only
// when no good copy was ever loaded.
func (s *Source) DB() (*DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	interval := s.CheckInterval
	if interval <= 0 {
		interval = time.Second
	}
	now := s.now()
	if s.db == nil || now.Sub(s.lastCheck) >= interval || now.Before(s.lastCheck) {
		s.lastCheck = now
		s.reloadLocked(false)
	}
	if s.db == nil {
		return nil, fmt.Errorf("userdb: %s: no usable copy loaded", s.Path)
	}
	return s.db, nil
}

// Reload forces a re-read (SIGHUP). It returns the load error, if any; the
// previous DB stays in service on error.
func (s *Source) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastCheck = s.now()
	return s.reloadLocked(true)
}

func (s *Source) reloadLocked(force bool) error {
	sig, err := signature(s.Path)
	if err != nil {
		if sig != s.badSig || force {
			s.log("userdb: cannot read %s: %v (keeping the last good copy)", s.Path, err)
		}
		s.badSig = sig
		return fmt.Errorf("userdb: %w", err)
	}
	if !force && s.db != nil && sig == s.sig {
		return nil
	}
	if !force && sig == s.badSig {
		return nil // same broken files as last time; already logged
	}
	db, err := Load(s.Path)
	if err != nil {
		s.badSig = sig
		s.log("%v (keeping the last good copy)", err)
		return err
	}
	s.db, s.sig, s.badSig = db, sig, ""
	return nil
}
