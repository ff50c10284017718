package imapserver

import (
	"strings"
	"time"
)

type idleLine struct {
	line string
	err  error
}

// cmdIdle implements RFC 2177. Changes are reported when the store's
// watch fires (inotify, milliseconds), on a periodic rescan
// (IdleRescan, Courier's IMAP_IDLE_TIMEOUT) and a "* OK Still here"
// keep-alive is sent every KeepAlive so NAT boxes keep the connection.
// The session ends after Autologout (≥ 29 min, RFC 2177 §3).
func (s *Session) cmdIdle(tag string, _ bool) error {
	if ok, err := s.end(tag); !ok {
		return err
	}
	var watch <-chan struct{}
	if s.mbox != nil {
		if ch, stop, err := s.mbox.Watch(); err == nil && ch != nil {
			watch = ch
			defer stop()
		}
	}
	s.sync(true)
	if err := s.c.W.Continue("entering idle mode"); err != nil {
		return err
	}
	lines := make(chan idleLine, 1)
	go func() {
		l, err := s.c.ReadLine(16384)
		lines <- idleLine{l, err}
	}()
	rescan := time.NewTicker(s.cfg.IdleRescan)
	defer rescan.Stop()
	keep := time.NewTicker(s.cfg.KeepAlive)
	defer keep.Stop()
	timeout := time.NewTimer(s.cfg.Autologout)
	defer timeout.Stop()
	for {
		select {
		case l := <-lines:
			if l.err != nil {
				return l.err
			}
			s.c.Dec.BytesRead += int64(len(l.line)) + 2
			s.sync(true)
			if strings.EqualFold(strings.TrimSpace(l.line), "DONE") {
				s.c.OK(tag, "IDLE completed")
				return nil
			}
			// Courier: any other line ends IDLE with NO and is lost
			// (§4.11); RFC 2177 only defines DONE.
			s.c.W.Tagged(tag, "BAD", textError)
			return s.c.countError()
		case _, ok := <-watch:
			if !ok {
				watch = nil
				continue
			}
			// Let a burst of events (tmp -> new, uiddb rewrite) settle.
			time.Sleep(5 * time.Millisecond)
			drain(watch)
			s.sync(true)
			if err := s.c.Flush(); err != nil {
				return err
			}
		case <-rescan.C:
			s.sync(true)
			if err := s.c.Flush(); err != nil {
				return err
			}
		case <-keep.C:
			s.c.W.Untagged("OK Still here")
			if err := s.c.Flush(); err != nil {
				return err
			}
		case <-timeout.C:
			return errIdleTimeout
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "idle timeout" }
func (timeoutErr) Timeout() bool { return true }

var errIdleTimeout error = timeoutErr{}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
