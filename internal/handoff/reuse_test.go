package handoff

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSpawnEncodeDecode(t *testing.T) {
	good := &Spawn{UID: 1000, GID: 100, Dir: "/home/u", Path: "/usr/lib/courier-imap/bin/imapd",
		Args: []string{"/usr/lib/courier-imap/bin/imapd", "Maildir"}, Env: []string{"AUTHENTICATED=u", "EMPTY=", "Q=a=b"}}
	p, err := EncodeSpawn(good)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSpawn(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != good.UID || got.GID != good.GID || got.Dir != good.Dir || got.Path != good.Path ||
		!slices.Equal(got.Args, good.Args) || !slices.Equal(got.Env, good.Env) {
		t.Fatalf("round trip: %+v, want %+v", got, good)
	}
	bad := []struct {
		name string
		sp   Spawn
	}{
		{"negative uid", Spawn{UID: -1, GID: 1, Dir: "/", Path: "/p"}},
		{"no dir", Spawn{UID: 1, GID: 1, Path: "/p"}},
		{"no program", Spawn{UID: 1, GID: 1, Dir: "/"}},
		{"NUL in argument", Spawn{UID: 1, GID: 1, Dir: "/", Path: "/p", Args: []string{"a\x00b"}}},
		{"variable without =", Spawn{UID: 1, GID: 1, Dir: "/", Path: "/p", Env: []string{"X"}}},
		{"too big", Spawn{UID: 1, GID: 1, Dir: "/", Path: "/p", Env: []string{"X=" + strings.Repeat("y", MaxSpawn)}}},
	}
	for _, tc := range bad {
		if _, err := EncodeSpawn(&tc.sp); err == nil {
			t.Errorf("%s: encoded", tc.name)
		}
	}
	for _, p := range []string{"", "D", "S", "S1\x00", "S1\x002\x00/\x00/p\x00", "S1\x002\x00/\x00/p\x005\x00a\x00",
		"S01\x002\x00/\x00/p\x000\x00", "S-1\x002\x00/\x00/p\x000\x00", "S1\x002\x00/\x00/p\x000\x00X\x00", "S1\x002\x00/\x00/p\x000\x00A=b"} {
		if _, err := DecodeSpawn([]byte(p)); err == nil {
			t.Errorf("DecodeSpawn(%q) accepted", p)
		}
	}
}

func FuzzDecodeSpawn(f *testing.F) {
	p, _ := EncodeSpawn(&Spawn{UID: 1, GID: 2, Dir: "/h", Path: "/p", Args: []string{"/p", "M"}, Env: []string{"A=b"}})
	f.Add(p)
	f.Add([]byte("S"))
	f.Fuzz(func(t *testing.T, p []byte) {
		sp, err := DecodeSpawn(p)
		if err != nil {
			return
		}
		q, err := EncodeSpawn(sp)
		if err != nil || string(q) != string(p) {
			t.Fatalf("round trip: %q -> %+v -> %q, %v", p, sp, q, err)
		}
	})
}

// The stage's Done and Spawn and couriertcpd's ReadResult and Reply, over a
// real socketpair: the socket travels with the request, fds 0 and 1 end on
// /dev/null after Done and after a started Spawn, and a refused Spawn
// leaves the client where it was.
func TestStageRoundTrip(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	tcpd, ctl := pair[0], pair[1]
	defer unix.Close(tcpd)
	// Save and restore the test's own fds 0 and 1.
	save0, _ := unix.Dup(0)
	save1, _ := unix.Dup(1)
	defer func() { unix.Dup2(save0, 0); unix.Dup2(save1, 1); unix.Close(save0); unix.Close(save1) }()

	t.Setenv(EnvFD, "9999")
	t.Setenv(EnvReuse, "1")
	t.Setenv("CHANGED", "start")
	t.Setenv("REMOVED", "start")
	if err := unix.Dup2(ctl, 9999); err != nil {
		t.Fatal(err)
	}
	unix.Close(ctl)
	st, err := Open()
	if err != nil || !st.Reusable() {
		t.Fatalf("Open: %v, reusable %v", err, st.Reusable())
	}
	defer st.Close()
	t.Setenv("KEPT", "1")
	client := func() (int, int) {
		s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s[0], s[1]
	}
	ino := func(fd int) uint64 {
		var st unix.Stat_t
		unix.Fstat(fd, &st)
		return st.Ino
	}
	buf := make([]byte, MaxSpawn+1)

	// Connection 1 sets a variable, then ends with Done.
	ours, theirs := client()
	if err := Send(tcpd, theirs, []string{"ONE=1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Next(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("ONE") != "1" || ino(0) != ino(theirs) {
		t.Fatal("connection 1 not installed")
	}
	unix.Close(theirs)
	// What a connection might leave behind: a variable of its own, and
	// start-up ones changed or removed.
	os.Setenv("LEFTOVER", "x")
	os.Setenv("CHANGED", "connection 1")
	os.Unsetenv("REMOVED")
	if err := st.Done(); err != nil {
		t.Fatal(err)
	}
	res, err := ReadResult(tcpd, buf)
	if err != nil || res.Spawn != nil || res.Conn != -1 {
		t.Fatalf("ReadResult after Done: %+v, %v", res, err)
	}
	if ino(0) == ino(ours) {
		t.Error("fd 0 still on the client after Done")
	}

	// Connection 2 starts with the start-up environment, and is refused
	// once, then started.
	_, theirs = client()
	if err := Send(tcpd, theirs, []string{"TWO=2"}); err != nil {
		t.Fatal(err)
	}
	sockIno := ino(theirs)
	unix.Close(theirs)
	if err := st.Next(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("ONE") != "" || os.Getenv("LEFTOVER") != "" || os.Getenv("TWO") != "2" || os.Getenv("KEPT") != "" {
		// KEPT was set after Open: not part of the start-up environment.
		t.Errorf("environment not reset: ONE=%q LEFTOVER=%q TWO=%q KEPT=%q", os.Getenv("ONE"), os.Getenv("LEFTOVER"), os.Getenv("TWO"), os.Getenv("KEPT"))
	}
	if os.Getenv("CHANGED") != "start" || os.Getenv("REMOVED") != "start" {
		t.Errorf("start-up variables not restored: CHANGED=%q REMOVED=%q", os.Getenv("CHANGED"), os.Getenv("REMOVED"))
	}
	sp := &Spawn{UID: 5, GID: 6, Dir: "/", Path: "/bin/true", Args: []string{"true"}, Env: []string{"A=1"}}
	go func() {
		r, err := ReadResult(tcpd, make([]byte, MaxSpawn+1))
		if err == nil {
			unix.Close(r.Conn)
		}
		Reply(tcpd, errors.New("no such home"))
		r, err = ReadResult(tcpd, make([]byte, MaxSpawn+1))
		if err != nil || r.Spawn == nil || r.Spawn.UID != 5 || ino(r.Conn) != sockIno {
			Reply(tcpd, errors.New("bad second request"))
			return
		}
		unix.Close(r.Conn)
		Reply(tcpd, nil)
	}()
	if err := st.Spawn(sp); err == nil || !strings.Contains(err.Error(), "no such home") || errors.Is(err, ErrNotSent) {
		t.Fatalf("refused Spawn: %v", err)
	}
	if ino(0) != sockIno {
		t.Fatal("a refused Spawn moved the client away")
	}
	if err := st.Spawn(sp); err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	if ino(0) == sockIno || ino(1) == sockIno {
		t.Error("fds 0/1 still on the client after a started Spawn")
	}
}

// resetEnv runs for every connection a login stage serves: once its maps
// exist it allocates only os.Environ's copy and what os.Setenv itself
// needs, however large the environment (the rc scripts export every
// setting of the config files).
func TestResetEnvAllocations(t *testing.T) {
	for i := 0; i < 100; i++ {
		t.Setenv(fmt.Sprintf("RESETENV_TEST_%d", i), "value")
	}
	st := &Stage{base: os.Environ()}
	st.resetEnv()
	allocs := testing.AllocsPerRun(50, func() {
		os.Setenv("RESETENV_TEST_7", "changed by a connection")
		st.resetEnv()
	})
	// os.Environ's slice; os.Setenv twice (the change above and the
	// restore), each a key=value string.
	if allocs > 3 {
		t.Errorf("resetEnv: %v allocations per call, want at most 3", allocs)
	}
	if os.Getenv("RESETENV_TEST_7") != "value" {
		t.Errorf("RESETENV_TEST_7=%q after resetEnv", os.Getenv("RESETENV_TEST_7"))
	}
}
