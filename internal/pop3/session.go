package pop3

import (
	"bufio"
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

// Seener is implemented by maildrops that flag a message as seen after
// RETR (Courier sets the maildir S flag; TOP does not).
type Seener interface {
	MarkSeen(i int)
}

// Releaser is implemented by maildrops that hold a lock for the session
// (RFC 1939 §8: one session per maildrop). QUIT releases it after UPDATE
// and before its answer; Release may be called again later.
type Releaser interface {
	Release() error
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
	// UnicodeType is the container type for UTF-8 messages sent to a
	// client that did not send UTF8 (MIME_UNICODE_MESSAGE_TYPE,
	// reference §6.2); "" means message/global (RFC 6532 §3.7).
	UnicodeType string
	Stats       Stats

	msgs    []MessageInfo
	deleted []bool
	rbuf    *bufio.Reader // reused for every RETR/TOP
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
			// The lock goes before the answer: a client that reconnects
			// as soon as it reads "+OK" (fetchmail polling, a benchmark
			// loop) must not find its own finished session still holding
			// the maildrop and get [IN-USE] (RFC 2449 §8.1.1).
			if r, ok := s.Drop.(Releaser); ok {
				if err := r.Release(); err != nil {
					c.Err("[SYS/TEMP] Cannot release the maildrop.")
					c.Flush()
					return Quit, fmt.Errorf("pop3: release: %w", err)
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
				wrap := s.wrapper(i)
				n, sent, err := s.send(i, -1, strconv.FormatInt(s.msgs[i].Size+int64(len(wrap)), 10)+" octets follow.", wrap)
				s.Stats.Retr += n
				if err != nil {
					return Disconnected, err
				}
				if sn, ok := s.Drop.(Seener); ok && sent {
					sn.MarkSeen(i)
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
				n, _, err := s.send(i, int(k), "Top of message follows.", "")
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
func (s *Session) send(i, k int, okText, prefix string) (n int64, sent bool, err error) {
	c := s.Conn
	rc, oerr := s.Drop.Open(i)
	if oerr != nil {
		if errors.Is(oerr, ErrGone) {
			c.Err("Message was removed by another process.")
		} else {
			c.Err("[SYS/TEMP] Cannot open message.")
		}
		return 0, false, nil
	}
	defer rc.Close()
	c.OK(okText)
	c.Writer().WriteString(prefix)
	if s.rbuf == nil {
		s.rbuf = bufio.NewReaderSize(nil, 64*1024)
	}
	n, err = writeMessageBuf(c.Writer(), s.rbuf, rc, k)
	n += int64(len(prefix))
	if err != nil {
		return n, false, err
	}
	c.End()
	return n, true, nil
}

// wrapper returns the MIME header that puts message i into a
// message/global container when it needs SMTPUTF8 and the client has not
// said UTF8 (RFC 6856 §3; Courier does the same, reference §6.2), so that
// a legacy client gets a valid MIME message rather than raw UTF-8
// headers. LIST and STAT keep the stored size, as Courier's do.
func (s *Session) wrapper(i int) string {
	if s.UTF8 || !s.msgs[i].UTF8 {
		return ""
	}
	t := s.UnicodeType
	if t == "" {
		t = "message/global"
	}
	return "MIME-Version: 1.0\r\nContent-Type: " + t + "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
