package pop3

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// MessageInfo describes one message of the maildrop as fixed at login.
type MessageInfo struct {
	Size int64  // octets RETR sends (CRLF size, before dot-stuffing; RFC 1939 §5 LIST)
	UIDL string // unique-id, 1..70 chars 0x21..0x7E (RFC 1939 §7)
	UTF8 bool   // message needs SMTPUTF8 (RFC 6856); informative
}

// Maildrop is what the TRANSACTION and UPDATE states need from storage.
// Message numbers are 0-based indexes into the slice from Messages; they do
// not change during a session (RFC 1939 §5).
type Maildrop interface {
	Messages() []MessageInfo
	// Open returns the message text, stored with LF or CRLF line ends.
	// ErrGone (wrapped) means another process removed it meanwhile.
	Open(i int) (io.ReadCloser, error)
	// Delete removes the listed messages; called once, at QUIT.
	Delete(idx []int) error
}

// ErrGone reports a message removed by another process since login.
var ErrGone = errors.New("message no longer exists")

// Stats are counted for Courier's LOGOUT line (reference §1.4).
type Stats struct {
	Top, Retr int64 // bytes sent by TOP and RETR
}

// Session runs the TRANSACTION state of one logged-in client.
type Session struct {
	Conn        *Conn
	Drop        Maildrop
	Capa        Capabilities
	IdleTimeout time.Duration // RFC 1939 §3: at least 10 minutes
	UTF8        bool          // UTF8 command given (RFC 6856)
	Stats       Stats

	msgs    []MessageInfo
	deleted []bool
}

// Outcome says how a session ended.
type Outcome int

const (
	Quit         Outcome = iota // QUIT and UPDATE done
	Disconnected                // client went away (nothing deleted)
	TimedOut                    // idle timeout (nothing deleted)
)

// Serve runs commands until QUIT, EOF or timeout. It sends no greeting:
// the caller has sent "+OK logged in." (pop3d does it, reference §1.1).
// On QUIT it asks the maildrop to delete the marked messages and answers
// "+OK" only if that worked (RFC 1939 §6).
func (s *Session) Serve() (Outcome, error) {
	s.msgs = s.Drop.Messages()
	s.deleted = make([]bool, len(s.msgs))
	c := s.Conn
	for {
		c.SetTimeout(s.IdleTimeout)
		line, err := c.ReadLine()
		if errors.Is(err, ErrLineTooLong) {
			c.Err("Command line too long.")
			continue
		}
		if err != nil {
			if isTimeout(err) {
				c.Err("Disconnected for inactivity.")
				c.Flush()
				return TimedOut, nil
			}
			return Disconnected, nil
		}
		cmd, args := splitCommand(line)
		switch cmd {
		case "QUIT":
			var del []int
			for i, d := range s.deleted {
				if d {
					del = append(del, i)
				}
			}
			if len(del) > 0 {
				if err := s.Drop.Delete(del); err != nil {
					c.Err("[SYS/TEMP] Some deleted messages were not removed.")
					c.Flush()
					return Quit, fmt.Errorf("pop3: update: %w", err)
				}
			}
			c.OK("Bye-bye.")
			return Quit, c.Flush()
		case "STAT":
			if len(args) != 0 {
				c.Err("Invalid command.")
				continue
			}
			n, sz := 0, int64(0)
			for i, m := range s.msgs {
				if !s.deleted[i] {
					n++
					sz += m.Size
				}
			}
			c.OK(strconv.Itoa(n) + " " + strconv.FormatInt(sz, 10))
		case "LIST", "UIDL":
			if len(args) > 1 {
				c.Err("Invalid command.")
				continue
			}
			val := func(i int) string {
				if cmd == "LIST" {
					return strconv.FormatInt(s.msgs[i].Size, 10)
				}
				return s.msgs[i].UIDL
			}
			if len(args) == 1 {
				i, ok := s.msgno(args[0])
				if ok {
					c.OK(args[0] + " " + val(i))
				}
				continue
			}
			c.OK("Listing follows")
			w := c.Writer()
			for i := range s.msgs {
				if s.deleted[i] {
					continue
				}
				w.WriteString(strconv.Itoa(i + 1))
				w.WriteByte(' ')
				w.WriteString(val(i))
				w.WriteString("\r\n")
			}
			c.End()
		case "RETR":
			if len(args) != 1 {
				c.Err("Invalid command.")
				continue
			}
			if i, ok := s.msgno(args[0]); ok {
				n, err := s.send(i, -1, strconv.FormatInt(s.msgs[i].Size, 10)+" octets follow.")
				s.Stats.Retr += n
				if err != nil {
					return Disconnected, err
				}
			}
		case "TOP":
			if len(args) != 2 {
				c.Err("Invalid command.")
				continue
			}
			k, err := strconv.ParseUint(args[1], 10, 31)
			if err != nil {
				c.Err("Invalid line count.")
				continue
			}
			if i, ok := s.msgno(args[0]); ok {
				n, err := s.send(i, int(k), "Top of message follows.")
				s.Stats.Top += n
				if err != nil {
					return Disconnected, err
				}
			}
		case "DELE":
			if len(args) != 1 {
				c.Err("Invalid command.")
				continue
			}
			if i, ok := s.msgno(args[0]); ok {
				s.deleted[i] = true
				c.OK("Deleted.")
			}
		case "RSET":
			for i := range s.deleted {
				s.deleted[i] = false
			}
			c.OK("Deletion marks removed.")
		case "NOOP":
			c.OK("")
		case "CAPA":
			s.Capa.write(c)
		case "UTF8":
			s.UTF8 = true
			c.OK("UTF8 enabled")
		case "":
			c.Err("Empty command.")
		default:
			// LAST, APOP, USER, PASS, AUTH, STLS after login and
			// unknown words: Courier's answer (transcript 20 B).
			c.Err("Invalid command.")
		}
	}
}

// msgno parses a message number and checks it names a message that exists
// and is not marked deleted (RFC 1939 §5); on failure it has replied.
func (s *Session) msgno(arg string) (int, bool) {
	n, err := strconv.ParseUint(arg, 10, 31)
	if err != nil || n < 1 || int(n) > len(s.msgs) || s.deleted[n-1] {
		s.Conn.Err("Invalid message number.")
		return 0, false
	}
	return int(n - 1), true
}

// send streams message i (all of it, or its header and k body lines).
// Errors opening the message are answered with -ERR and the session goes
// on; an error while streaming breaks the response, so it is returned and
// the session must end.
func (s *Session) send(i, k int, okText string) (int64, error) {
	c := s.Conn
	rc, err := s.Drop.Open(i)
	if err != nil {
		if errors.Is(err, ErrGone) {
			c.Err("Message was removed by another process.")
		} else {
			c.Err("[SYS/TEMP] Cannot open message.")
		}
		return 0, nil
	}
	defer rc.Close()
	c.OK(okText)
	n, err := writeMessage(c.Writer(), rc, k)
	if err != nil {
		return n, err
	}
	c.End()
	return n, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
