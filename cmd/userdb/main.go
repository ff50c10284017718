// Command userdb edits the text userdb (userdb(8)):
//
//	userdb [path/.../ | -f file ]name set field=value field...
//	userdb [path/.../ | -f file ]name unset field field...
//	userdb [path/.../ | -f file ]name del
//	userdb -show [path/... | -f file ] [name]
//
// The userdb is the USERDB setting of authdaemonrc (default
// $sysconfdir/userdb), a file or a directory of files; "path/name" picks
// the file path inside that directory. A "set" field without "=value"
// reads the value from standard input (with a prompt and no echo on a
// terminal), so passwords stay out of ps(1): userdbpw | userdb alice set systempw.
//
// Unlike Courier, no makeuserdb run is needed afterwards: authdaemond sees
// the change within a second. Deleting or unsetting something that does not
// exist succeeds silently, as in Courier.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gocourier/internal/authd"
	"gocourier/internal/login"
	"gocourier/internal/paths"
	"gocourier/internal/userdb"
)

func usage() {
	p := os.Args[0]
	fmt.Fprintf(os.Stderr, "Usage: %s [path/.../ | -f file ]name set field=value field=value...\n", p)
	fmt.Fprintf(os.Stderr, "       %s [path/.../ | -f file ]name unset field field...\n", p)
	fmt.Fprintf(os.Stderr, "       %s [path/.../ | -f file ]name del\n", p)
	fmt.Fprintf(os.Stderr, "       %s -show [path/... | -f file ] [name]\n", p)
	os.Exit(1)
}

// defaultUserDB is USERDB from authdaemonrc, else $sysconfdir/userdb.
func defaultUserDB() string {
	def := paths.Sysconfdir + "/userdb"
	if cfg, err := authd.LoadConfig(paths.AuthdaemonRC(), paths.AuthdaemonVar(), def); err == nil {
		return cfg.UserDB
	}
	return def
}

func main() {
	args := os.Args[1:]
	show := false
	if len(args) > 0 && args[0] == "-show" {
		show, args = true, args[1:]
	}
	file := ""
	if len(args) >= 2 && args[0] == "-f" {
		file, args = args[1], args[2:]
	}
	if show {
		os.Exit(doShow(file, args))
	}
	if len(args) < 2 {
		usage()
	}
	name, op, rest := args[0], args[1], args[2:]
	if file == "" {
		var err error
		file, name, err = resolve(defaultUserDB(), name)
		if err != nil {
			fail(err)
		}
	}
	var ed userdb.Edit
	switch op {
	case "set":
		if len(rest) == 0 {
			usage()
		}
		for _, a := range rest {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				prompt := k + ": "
				var err error
				if v, err = login.ReadSecret(os.Stdin, prompt); err != nil {
					fail(fmt.Errorf("reading %s: %w", k, err))
				}
			}
			if !userdb.ValidField(k) || !userdb.ValidValue(v) {
				fmt.Fprintln(os.Stderr, "Invalid field or value.")
				os.Exit(22) // Courier's userdb exits with EINVAL
			}
			ed.Set = append(ed.Set, userdb.Field{Name: k, Value: v})
		}
	case "unset":
		if len(rest) == 0 {
			usage()
		}
		ed.Unset = rest
	case "del":
		if len(rest) != 0 {
			usage()
		}
		ed.Delete = true
	default:
		usage()
	}
	if !userdb.ValidName(name) {
		fmt.Fprintln(os.Stderr, "Invalid field or value.")
		os.Exit(22)
	}
	err := userdb.Apply(file, name, ed)
	if errors.Is(err, userdb.ErrNotFound) {
		return
	}
	if err != nil {
		fail(err)
	}
	for _, e := range userdb.CheckPermissions(file) {
		fmt.Fprintf(os.Stderr, "userdb: warning: %v\n", e)
	}
}

// resolve maps "path/name" to a file inside a userdb directory.
func resolve(db, arg string) (file, name string, err error) {
	st, err := os.Stat(db)
	if err != nil && !os.IsNotExist(err) {
		return "", "", err
	}
	if err == nil && st.IsDir() {
		i := strings.LastIndexByte(arg, '/')
		if i <= 0 {
			return "", "", fmt.Errorf("%s is a directory: name the file, e.g. default/%s", db, arg)
		}
		rel := filepath.Clean(arg[:i])
		if strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			return "", "", fmt.Errorf("bad path %q", arg[:i])
		}
		file = filepath.Join(db, rel)
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return "", "", err
		}
		return file, arg[i+1:], nil
	}
	return db, arg, nil
}

func doShow(file string, args []string) int {
	if file == "" {
		db := defaultUserDB()
		file = db
		if len(args) > 0 {
			if st, err := os.Stat(db); err == nil && st.IsDir() {
				file, args = filepath.Join(db, filepath.Clean(args[0])), args[1:]
			}
		}
	}
	if len(args) > 1 {
		usage()
	}
	f, err := os.Open(file)
	if err != nil {
		fail(err)
	}
	defer f.Close()
	entries, err := userdb.Parse(f, file)
	if err != nil {
		fail(err)
	}
	for _, e := range entries {
		if len(args) == 0 {
			fmt.Println(e.Name)
			continue
		}
		if e.Name == args[0] {
			for _, fl := range e.Fields {
				fmt.Printf("%s=%s\n", fl.Name, fl.Value)
			}
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "userdb: %v\n", err)
	os.Exit(1)
}
