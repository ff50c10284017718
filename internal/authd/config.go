package authd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gocourier/internal/pwhash"
)

// Config is what authdaemond takes from authdaemonrc (reference §10.5).
type Config struct {
	// ModuleList is authmodulelist, in order. Modules we do not implement
	// are logged and skipped.
	ModuleList []string
	// Daemons is Courier's pre-forked child count. We serve each connection
	// in its own goroutine, so the value is read only for compatibility;
	// MaxConns bounds concurrency instead.
	Daemons int
	// AuthdaemonVar is the directory of the socket and the pid file.
	AuthdaemonVar string
	// DefaultOptions is merged into every account's OPTIONS.
	DefaultOptions string
	// DebugLogin is 0, 1 or 2; 2 logs passwords.
	DebugLogin int
	// UserDB is the text userdb, a file or a directory (our addition:
	// Courier compiles the path in).
	UserDB string
	// AuthCacheSize is AUTH_CACHE_SIZE (ours): how many successful
	// verifications of slow password hashes authd remembers
	// (pwhash.Cache); 0 turns the cache off. Default
	// pwhash.DefaultCacheSize.
	AuthCacheSize int
	// Vars holds every variable of the file, for modules added later.
	Vars map[string]string
}

// ParseShellVars reads an sh fragment of NAME=value lines as Courier's
// config files are written: '#' comments, values optionally in double or
// single quotes, a backslash-newline continues a line. Nothing is
// expanded; lines that are not assignments are ignored.
func ParseShellVars(r io.Reader) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	pending := ""
	for sc.Scan() {
		line := pending + sc.Text()
		pending = ""
		if strings.HasSuffix(line, "\\") && !strings.HasSuffix(line, "\\\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimPrefix(t, "export ")
		name, val, ok := strings.Cut(t, "=")
		if !ok || !validVarName(name) {
			continue
		}
		vars[name] = unquote(val)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("authd: config: %w", err)
	}
	return vars, nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// unquote handles the quoting used in Courier's config files: "..."
// (backslash escapes \" \\ \$ \`), '...', and bare words ending at an
// unquoted '#' preceded by a blank.
func unquote(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			for i++; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(v[i])
			}
		case c == '\'':
			for i++; i < len(v) && v[i] != '\''; i++ {
				b.WriteByte(v[i])
			}
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == ' ' || c == '\t':
			return b.String() // end of the word; the rest is a comment or junk
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// LoadConfig reads authdaemonrc. Missing settings get defaults:
// authmodulelist "authuserdb", authdaemonvar defaultVar, USERDB
// defaultUserDB.
func LoadConfig(path, defaultVar, defaultUserDB string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	defer f.Close()
	vars, err := ParseShellVars(f)
	if err != nil {
		return nil, fmt.Errorf("authd: %s: %w", path, err)
	}
	return configFromVars(vars, defaultVar, defaultUserDB), nil
}

func configFromVars(vars map[string]string, defaultVar, defaultUserDB string) *Config {
	c := &Config{Vars: vars, AuthdaemonVar: defaultVar, UserDB: defaultUserDB, Daemons: 5, AuthCacheSize: pwhash.DefaultCacheSize}
	if v, ok := vars["authmodulelist"]; ok {
		c.ModuleList = strings.Fields(v)
	} else {
		c.ModuleList = []string{"authuserdb"}
	}
	if n, err := strconv.Atoi(vars["daemons"]); err == nil && n > 0 {
		c.Daemons = n
	}
	if v := vars["authdaemonvar"]; v != "" {
		c.AuthdaemonVar = v
	}
	c.DefaultOptions = vars["DEFAULTOPTIONS"]
	if n, err := strconv.Atoi(vars["DEBUG_LOGIN"]); err == nil && n >= 0 {
		c.DebugLogin = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(vars["AUTH_CACHE_SIZE"])); err == nil {
		c.AuthCacheSize = max(n, 0)
	}
	if v := vars["USERDB"]; v != "" {
		c.UserDB = v
	}
	return c
}

// DefaultConfig is the configuration used when authdaemonrc is missing.
func DefaultConfig(defaultVar, defaultUserDB string) *Config {
	return configFromVars(map[string]string{}, defaultVar, defaultUserDB)
}

// MergeOptions merges DEFAULTOPTIONS into an account's options: the
// account's own options come first and win; a default whose name the
// account does not set is appended.
func MergeOptions(account, defaults string) string {
	var out []string
	have := map[string]bool{}
	for _, o := range strings.Split(account, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		k, _, _ := strings.Cut(o, "=")
		have[k] = true
		out = append(out, o)
	}
	for _, o := range strings.Split(defaults, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		k, _, _ := strings.Cut(o, "=")
		if !have[k] {
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}
