package imapserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gocourier/internal/imapwire"
)

// Config configures a post-login session (reference §4).
type Config struct {
	Getenv     func(string) string
	Log        io.Writer
	User       string // AUTHENTICATED, for log lines
	IP, Port   string
	Autologout time.Duration // 30 min (§5 Timeouts)
	// IdleRescan is the periodic rescan in IDLE besides the watch
	// (IMAP_IDLE_TIMEOUT, 60 s); KeepAlive the "* OK Still here" period.
	IdleRescan time.Duration
	KeepAlive  time.Duration
	MaxAppend  int64
	// OnTimeout closes the input when the connection has no deadlines.
	OnTimeout func()
}

// viewMsg is one message as last reported to the client.
type viewMsg struct {
	uid    uint32
	flags  []string
	recent bool
	date   time.Time
}

// Session is one authenticated IMAP session.
type Session struct {
	cfg   Config
	c     *Conn
	in    io.Reader
	store Store

	mbox     Mailbox
	mboxName string
	readOnly bool
	view     []viewMsg
	keywords []string // keyword list last announced in FLAGS
	// synced is the store's message list the view last matched, and
	// syncHeld says that sync then kept expunged messages in the view
	// (EXPUNGE not allowed at that point): see syncTail.
	synced   []Message
	syncHeld bool
	// lastRescan: when sync last asked the store (passiveSyncGap).
	lastRescan time.Time
	sortc      *sortCache // SORT/THREAD header fields of the selected mailbox
	utf8       bool
	// RFC 7162 state (condstore.go): CONDSTORE enabled, QRESYNC
	// enabled, and NOMODSEQ for the selected mailbox.
	condstore, qresync, nomodseq bool
	selParams                    selectParams // of the SELECT being run
	// msSent is the MODSEQ the client last learnt per UID (CONDSTORE
	// sessions only), so that a change that left the flags as they
	// were is still reported (condstore.go).
	msSent map[uint32]uint64

	closing     error  // set when the session must end after this command
	lastVerb    string // the command name being run (handlers shared by verbs)
	start       time.Time
	headersSent int64
	bodySent    int64
}

// NewSession makes a session over r/w for store.
func NewSession(cfg Config, store Store, r io.Reader, w io.Writer) *Session {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Autologout == 0 {
		cfg.Autologout = 30 * time.Minute
	}
	if cfg.IdleRescan == 0 {
		cfg.IdleRescan = 60 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 5 * time.Minute
	}
	lim := imapwire.DefaultLimits
	if cfg.MaxAppend > 0 {
		lim.MaxAppend = cfg.MaxAppend
	}
	return &Session{cfg: cfg, c: NewConn(r, w, lim), in: r, store: store, start: time.Now()}
}

// Writer exposes the response writer (for startup BYE lines).
func (s *Session) Writer() *imapwire.Writer { return s.c.W }

var errLogout = errors.New("logout")

func (s *Session) logEnd(kind string) {
	// Courier adds ", starttls=1" whenever the session is on TLS
	// (IMAP_TLS=1, set by couriertls or after STARTTLS), reference §1.4.
	tls := ""
	if s.cfg.Getenv("IMAP_TLS") == "1" {
		tls = ", starttls=1"
	}
	fmt.Fprintf(s.cfg.Log, "%s, user=%s, ip=[%s], port=[%s], headers=%d, body=%d, rcvd=%d, sent=%d, time=%d%s\n",
		kind, s.cfg.User, s.cfg.IP, s.cfg.Port, s.headersSent, s.bodySent, s.c.Dec.BytesRead, s.c.W.BytesSent(),
		int(time.Since(s.start).Seconds()), tls)
}

// Run sends greeting (already formatted, e.g. "a OK LOGIN Ok.") and serves
// commands until LOGOUT or disconnect.
func (s *Session) Run(greeting string) error {
	defer func() {
		if s.mbox != nil {
			s.mbox.Close()
		}
	}()
	s.c.W.Line(greeting)
	if err := s.c.Flush(); err != nil {
		s.logEnd("INFO: DISCONNECTED")
		return err
	}
	for {
		s.c.SetTimeout(s.in, s.cfg.Autologout, s.cfg.OnTimeout)
		cmd, ok, err := s.c.ReadCommand()
		s.c.StopTimer()
		if err == nil && ok {
			err = s.dispatch(cmd)
		}
		if errors.Is(err, errLogout) {
			s.c.Flush()
			s.logEnd("INFO: LOGOUT")
			return nil
		}
		if err != nil {
			if isTimeout(err) {
				s.c.W.Untagged("BYE " + textInactive)
				s.c.Flush()
				s.logEnd("INFO: TIMEOUT")
				return nil
			}
			s.c.FatalBye(err)
			s.c.Flush()
			s.logEnd("INFO: DISCONNECTED")
			return err
		}
		if err := s.c.Flush(); err != nil {
			s.logEnd("INFO: DISCONNECTED")
			return err
		}
		// Work the storage deferred until the client has its answer.
		if a, ok := s.mbox.(AfterReplier); ok {
			a.AfterReply()
		}
		if s.closing != nil {
			s.logEnd("INFO: DISCONNECTED")
			return s.closing
		}
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// handler parses its arguments (after the command name) and runs.
type handler func(s *Session, tag string, uid bool) error

var commands map[string]handler

func init() {
	commands = map[string]handler{
		"CAPABILITY":   (*Session).cmdCapability,
		"NOOP":         (*Session).cmdNoop,
		"CHECK":        (*Session).cmdCheck,
		"LOGOUT":       (*Session).cmdLogout,
		"SELECT":       (*Session).cmdSelect,
		"EXAMINE":      (*Session).cmdSelect,
		"CREATE":       (*Session).cmdCreate,
		"DELETE":       (*Session).cmdDelete,
		"RENAME":       (*Session).cmdRename,
		"SUBSCRIBE":    (*Session).cmdSubscribe,
		"UNSUBSCRIBE":  (*Session).cmdSubscribe,
		"LIST":         (*Session).cmdList,
		"LSUB":         (*Session).cmdList,
		"NAMESPACE":    (*Session).cmdNamespace,
		"STATUS":       (*Session).cmdStatus,
		"APPEND":       (*Session).cmdAppend,
		"CLOSE":        (*Session).cmdClose,
		"UNSELECT":     (*Session).cmdClose,
		"EXPUNGE":      (*Session).cmdExpunge,
		"FETCH":        (*Session).cmdFetch,
		"STORE":        (*Session).cmdStore,
		"COPY":         (*Session).cmdCopy,
		"MOVE":         (*Session).cmdCopy,
		"SEARCH":       (*Session).cmdSearch,
		"SORT":         (*Session).cmdSort,
		"THREAD":       (*Session).cmdThread,
		"IDLE":         (*Session).cmdIdle,
		"ENABLE":       (*Session).cmdEnable,
		"ID":           (*Session).cmdID,
		"GETQUOTAROOT": (*Session).cmdGetQuotaRoot,
		"GETQUOTA":     (*Session).cmdGetQuota,
		"SETQUOTA":     (*Session).cmdSetQuota,
		"MYRIGHTS":     (*Session).cmdMyRights,
		"GETACL":       (*Session).cmdGetACL,
		"SETACL":       (*Session).cmdSetACL,
		"DELETEACL":    (*Session).cmdSetACL,
		"LISTRIGHTS":   (*Session).cmdListRights,
	}
}

// IsSessionCommand reports whether name (upper case) is a command of the
// authenticated or selected state, so that the pre-auth stage can answer
// it with Courier's "not now" NO instead of an unknown command's BAD
// (reference §3.2).
func IsSessionCommand(name string) bool {
	_, ok := commands[name]
	return ok
}

// needsSelected lists commands valid only in the selected state.
var needsSelected = map[string]bool{
	"CLOSE": true, "UNSELECT": true, "EXPUNGE": true, "FETCH": true, "STORE": true,
	"COPY": true, "MOVE": true, "SEARCH": true, "SORT": true, "THREAD": true, "CHECK": true,
}

// uidCommands are valid after UID (RFC 3501 §6.4.8, RFC 4315, RFC 6851).
var uidCommands = map[string]bool{
	"FETCH": true, "STORE": true, "COPY": true, "MOVE": true, "SEARCH": true,
	"SORT": true, "THREAD": true, "EXPUNGE": true,
}

// aclCommands exist only when IMAP_ACL=1 (reference §3.1).
var aclCommands = map[string]bool{"MYRIGHTS": true, "GETACL": true, "SETACL": true, "DELETEACL": true, "LISTRIGHTS": true}

func (s *Session) dispatch(cmd Command) error {
	name := cmd.Name
	uid := false
	if name == "UID" {
		if !s.c.Dec.SP() {
			return s.c.SyntaxError(cmd.Tag)
		}
		sub, ok := s.c.Dec.Atom()
		if !ok {
			return s.c.SyntaxError(cmd.Tag)
		}
		name = strings.ToUpper(sub)
		if !uidCommands[name] {
			return s.rejectLine(cmd.Tag)
		}
		uid = true
	}
	switch name {
	case "LOGIN", "AUTHENTICATE", "STARTTLS":
		// Valid only before login: Courier's generic NO (§3.4).
		return s.rejectLine(cmd.Tag)
	}
	h, ok := commands[name]
	if !ok || (aclCommands[name] && s.cfg.Getenv("IMAP_ACL") != "1") ||
		(name == "ID" && s.cfg.Getenv("IMAP_ID_FIELDS") == "") ||
		((name == "SORT" || name == "THREAD") && s.cfg.Getenv("IMAP_DISABLETHREADSORT") == "1") {
		// Unknown command: RFC 3501 §7.1.5 BAD.
		if err := s.c.Dec.DiscardLine(); err != nil {
			return err
		}
		return s.c.GenericBad(cmd.Tag)
	}
	if needsSelected[name] && s.mbox == nil {
		return s.rejectLine(cmd.Tag)
	}
	s.lastVerb = name
	return h(s, cmd.Tag, uid)
}

// rejectLine answers a well-formed command that is not valid now with
// Courier's NO (reference §5; RFC 3501 allows NO or BAD for wrong state).
func (s *Session) rejectLine(tag string) error {
	if err := s.c.Dec.DiscardLine(); err != nil {
		return err
	}
	return s.c.GenericNo(tag)
}

// end reads the end of the command line; false means BAD was answered.
func (s *Session) end(tag string) (bool, error) { return s.c.EndOfCommand(tag) }

func (s *Session) bad(tag string) error { return s.c.SyntaxError(tag) }
