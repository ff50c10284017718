package tcpd

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  string
		check func(*Options) bool
		bad   bool
	}{
		{"defaults", "143 /bin/imaplogin /bin/imapd Maildir", func(o *Options) bool {
			return o.MaxProcs == 40 && o.MaxPerIP == 4 && o.MaxPerC == 40 && o.Warn == 35 &&
				o.Ports == "143" && o.Program == "/bin/imaplogin" &&
				reflect.DeepEqual(o.Args, []string{"/bin/imaplogin", "/bin/imapd", "Maildir"})
		}, false},
		{"debian rc line", "-pid=/run/imapd.pid -stderrlogger=/sbin/courierlogger -stderrloggername=imapd " +
			"-maxprocs=40 -maxperip=20 -nodnslookup -noidentlookup -address=0 -access=/etc/imapaccess.dat " +
			"143 imaplogin imapd Maildir", func(o *Options) bool {
			return o.PidFile == "/run/imapd.pid" && o.MaxPerIP == 20 && o.Address == "0" &&
				o.StderrLoggerName == "imapd" && o.Access == "/etc/imapaccess.dat" && o.Program == "imaplogin"
		}, false},
		{"warn explicit", "-maxprocs=10 -warn=3 1 x", func(o *Options) bool { return o.Warn == 3 }, false},
		{"warn out of range uses default", "-maxprocs=10 -warn=11 1 x", func(o *Options) bool { return o.Warn == 8 }, false},
		{"denymsg empty is set", "-denymsg= 1 x", func(o *Options) bool { return o.HaveDenyMsg && o.DenyMsg == "" }, false},
		{"ignored dns options", "-drop -block=zen.example 1 x", func(o *Options) bool { return len(o.Ignored) == 2 }, false},
		{"double dash", "-- -1 x", func(o *Options) bool { return o.Ports == "-1" }, false},
		{"stop", "-pid=/p -stop", func(o *Options) bool { return o.Stop && o.Program == "" }, false},
		{"restart", "-pid=/p -restart", func(o *Options) bool { return o.Restart }, false},
		{"stop without pid", "-stop", nil, true},
		{"no program", "143", nil, true},
		{"nothing", "", nil, true},
		{"bad maxprocs", "-maxprocs=0 1 x", nil, true},
		{"bad maxperip", "-maxperip=abc 1 x", nil, true},
		{"unknown", "-frobnicate 1 x", nil, true},
		{"missing value", "-access 1 x", nil, true},
		{"timerslack default", "1 x", func(o *Options) bool { return o.TimerSlack == time.Millisecond }, false},
		{"timerslack duration", "-timerslack=250us 1 x", func(o *Options) bool { return o.TimerSlack == 250*time.Microsecond }, false},
		{"timerslack nanoseconds", "-timerslack=50000 1 x", func(o *Options) bool { return o.TimerSlack == 50*time.Microsecond }, false},
		{"timerslack off", "-timerslack=0 1 x", func(o *Options) bool { return o.TimerSlack == 0 }, false},
		{"timerslack at most 1s", "-timerslack=1s 1 x", func(o *Options) bool { return o.TimerSlack == time.Second }, false},
		{"timerslack over 1s", "-timerslack=1001ms 1 x", nil, true},
		{"timerslack negative", "-timerslack=-1 1 x", nil, true},
		{"timerslack junk", "-timerslack=soon 1 x", nil, true},
		{"timerslack without value", "-timerslack 1 x", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseArgs(strings.Fields(tc.args))
			if tc.bad {
				if err == nil {
					t.Fatalf("want error, got %+v", o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(o) {
				t.Fatalf("unexpected %+v", o)
			}
		})
	}
	if _, err := ParseArgs([]string{"143"}); !errors.Is(err, ErrUsage) {
		t.Errorf("missing program: %v, want ErrUsage", err)
	}
}

func TestParsePortList(t *testing.T) {
	lookup := func(n string) (int, error) {
		if n == "imap" {
			return 143, nil
		}
		return 0, errors.New("unknown service")
	}
	tests := []struct {
		list, def string
		want      []ListenSpec
		bad       bool
	}{
		{list: "143", want: []ListenSpec{{"", 143}}},
		{list: "143", def: "0", want: []ListenSpec{{"", 143}}},
		{list: "143", def: "127.0.0.1", want: []ListenSpec{{"127.0.0.1", 143}}},
		{list: "127.0.0.1.25,999", want: []ListenSpec{{"127.0.0.1", 25}, {"", 999}}},
		{list: "0.143", def: "10.0.0.1", want: []ListenSpec{{"10.0.0.1", 143}}},
		{list: "::1.993,imap", def: "::", want: []ListenSpec{{"::1", 993}, {"::", 143}}},
		{list: "fe80::1%lo.143", want: []ListenSpec{{"fe80::1%lo", 143}}},
		{list: "", bad: true},
		{list: "143,", bad: true},
		{list: "0", bad: true},
		{list: "70000", bad: true},
		{list: "pop3", bad: true},
		{list: "1.2.3.143", bad: true}, // "1.2.3" is not an IP address
		{list: "host.example.143", bad: true},
		{list: "127.0.0.1.", bad: true},
		{list: "143", def: "not-an-ip", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.list+"/"+tc.def, func(t *testing.T) {
			got, err := ParsePortList(tc.list, tc.def, lookup)
			if tc.bad {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func FuzzParsePortList(f *testing.F) {
	f.Add("143", "")
	f.Add("127.0.0.1.25,999", "0")
	f.Add("::1.993,imap", "::")
	f.Fuzz(func(t *testing.T, list, def string) {
		specs, err := ParsePortList(list, def, nil)
		if err != nil {
			return
		}
		if len(specs) == 0 {
			t.Fatal("no error and no ports")
		}
		for _, s := range specs {
			if s.Port < 1 || s.Port > 65535 {
				t.Fatalf("port %d", s.Port)
			}
			if s.Host != "" {
				if _, err := netip.ParseAddr(s.Host); err != nil {
					t.Fatalf("host %q accepted", s.Host)
				}
			}
		}
	})
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-maxprocs=3 -warn=1 143 prog")
	f.Add("-pid=x -stop")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseArgs(strings.Fields(s))
		if err != nil || o.Stop || o.Restart {
			return
		}
		if o.MaxProcs <= 0 || o.MaxPerIP <= 0 || o.MaxPerC <= 0 || o.Warn < 0 || o.Warn > o.MaxProcs || o.Program == "" {
			t.Fatalf("inconsistent options %+v", o)
		}
	})
}

func TestFormatIP(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1":        "::ffff:127.0.0.1",
		"::ffff:10.1.2.3":  "::ffff:10.1.2.3",
		"::1":              "::1",
		"2001:db8::1":      "2001:db8::1",
		"fe80::1%eth0":     "fe80::1",
		"::ffff:0.0.0.0":   "::ffff:0.0.0.0",
		"2001:DB8:0:0::AB": "2001:db8::ab",
	}
	for in, want := range tests {
		if got := FormatIP(netip.MustParseAddr(in)); got != want {
			t.Errorf("FormatIP(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestChildBaseEnv(t *testing.T) {
	in := []string{"A=1", "LISTEN_PID=3", "LISTEN_FDS=1", "LISTEN_FDNAMES=x", "NOTIFY_SOCKET=/run/n",
		"WATCHDOG_USEC=5", "WATCHDOG_PID=3", DaemonEnv + "=3", "LISTEN_PIDX=keep", "B="}
	got := ChildBaseEnv(in)
	if want := []string{"A=1", "LISTEN_PIDX=keep", "B=", "GOMAXPROCS=1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// An administrator's GOMAXPROCS is passed on unchanged.
	got = ChildBaseEnv([]string{"GOMAXPROCS=4", "A=1"})
	if want := []string{"GOMAXPROCS=4", "A=1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCBlock(t *testing.T) {
	a := cBlock(netip.MustParseAddr("10.1.2.3"))
	if a != cBlock(netip.MustParseAddr("::ffff:10.1.2.200")) {
		t.Error("same /24 (plain and mapped) must share a C block")
	}
	if a == cBlock(netip.MustParseAddr("10.1.3.3")) {
		t.Error("different /24 share a C block")
	}
}
