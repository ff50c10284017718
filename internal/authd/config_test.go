package authd

import (
	"strings"
	"testing"

	"gocourier/internal/pwhash"
)

func TestParseShellVars(t *testing.T) {
	in := `##NAME: authmodulelist:2
# comment
authmodulelist="authuserdb authpam"
daemons=5
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=2
DEFAULTOPTIONS="disableshared=1"
single='a "b" c'
bare=word # trailing comment
cont="a \
b"
esc="x\"y\$z"
not a var
1BAD=x
`
	vars, err := ParseShellVars(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"authmodulelist": "authuserdb authpam", "daemons": "5", "authdaemonvar": "/run/courier/authdaemon",
		"DEBUG_LOGIN": "2", "DEFAULTOPTIONS": "disableshared=1", "single": `a "b" c`, "bare": "word", "cont": "a b", "esc": `x"y$z`}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	if _, ok := vars["1BAD"]; ok {
		t.Error("invalid name accepted")
	}
	cfg := configFromVars(vars, "/def", "/etc/userdb")
	if len(cfg.ModuleList) != 2 || cfg.DebugLogin != 2 || cfg.AuthdaemonVar != "/run/courier/authdaemon" || cfg.UserDB != "/etc/userdb" || cfg.DefaultOptions != "disableshared=1" {
		t.Errorf("config %+v", cfg)
	}
	if mods := BuildModules(cfg, nil); len(mods) != 1 || mods[0].Name() != "authuserdb" {
		t.Errorf("modules %v", mods)
	}
}

func TestMergeOptions(t *testing.T) {
	tests := []struct{ acct, def, want string }{
		{"", "", ""},
		{"disableimap=1", "", "disableimap=1"},
		{"", "disableshared=1", "disableshared=1"},
		{"disableshared=0,group=a", "disableshared=1,disablewebmail=1", "disableshared=0,group=a,disablewebmail=1"},
		{" a=1 ,, b=2", "", "a=1,b=2"},
	}
	for _, tc := range tests {
		if got := MergeOptions(tc.acct, tc.def); got != tc.want {
			t.Errorf("MergeOptions(%q, %q) = %q, want %q", tc.acct, tc.def, got, tc.want)
		}
	}
}

func FuzzParseShellVars(f *testing.F) {
	f.Add("authmodulelist=\"authuserdb\"\n# c\nx='a b' # c\ny=\"a\\\"b\" \\\nz=1\n")
	f.Fuzz(func(t *testing.T, in string) {
		vars, err := ParseShellVars(strings.NewReader(in))
		if err != nil {
			return
		}
		for k := range vars {
			if !validVarName(k) {
				t.Fatalf("invalid name %q", k)
			}
		}
		_ = configFromVars(vars, "/v", "/u")
	})
}

func TestAuthCacheSize(t *testing.T) {
	tests := []struct {
		name, val string
		set       bool
		want      int
	}{
		{"default", "", false, pwhash.DefaultCacheSize},
		{"off", "0", true, 0},
		{"sized", "50", true, 50},
		{"spaces", " 7 ", true, 7},
		{"negative is off", "-3", true, 0},
		{"garbage keeps default", "lots", true, pwhash.DefaultCacheSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			if tc.set {
				vars["AUTH_CACHE_SIZE"] = tc.val
			}
			cfg := configFromVars(vars, "/v", "/u")
			if cfg.AuthCacheSize != tc.want {
				t.Fatalf("AuthCacheSize = %d, want %d", cfg.AuthCacheSize, tc.want)
			}
			mods := BuildModules(cfg, nil)
			c := mods[0].(*UserDBModule).Cache
			if (c == nil) != (tc.want == 0) {
				t.Fatalf("cache %v for size %d", c, tc.want)
			}
		})
	}
}
