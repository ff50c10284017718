package sysconf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const distV1 = `##VERSION: v1
#
# header comment
#
##NAME: ADDRESS:0
#
# bind address
#

ADDRESS=0

##NAME: PORT:1
#
# port

PORT=143

##NAME: OLDTHING:0
#

OLDTHING=1
`

const distV2 = `##VERSION: v2
#
# header comment, new text
#
##NAME: ADDRESS:0
#
# bind address (new comment)
#

ADDRESS=0

##NAME: PORT:2
#
# port, revision raised

PORT=1143

##NAME: NEWTHING:0
#

NEWTHING=yes
`

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		version    string
		hasVersion bool
		blocks     []string // name:rev
		values     map[string]string
	}{
		{name: "dist", in: distV1, version: "v1", hasVersion: true,
			blocks: []string{"ADDRESS:0", "PORT:1", "OLDTHING:0"},
			values: map[string]string{"ADDRESS": "\nADDRESS=0\n", "PORT": "\nPORT=143\n", "OLDTHING": "\nOLDTHING=1"}},
		{name: "empty", in: ""},
		{name: "no version", in: "A=1\n##NAME: A:0\nA=2\n", blocks: []string{"A:0"}, values: map[string]string{"A": "A=2"}},
		{name: "version after first block ignored", in: "##NAME: A:0\n##VERSION: x\nA=1\n", blocks: []string{"A:0"}},
		{name: "version after line 20 ignored", in: strings.Repeat("#\n", 20) + "##VERSION: late\n"},
		{name: "empty version id", in: "##VERSION:\n", hasVersion: true},
		{name: "name without revision", in: "##NAME: A\nA=1\n", blocks: []string{"A:"}},
		{name: "name with colons", in: "##NAME: A:B:3\nx\n", blocks: []string{"A:B:3"}},
		{name: "empty name is not a block", in: "##NAME: :1\n", blocks: nil},
		{name: "blank line after NAME starts value", in: "##NAME: A:0\n\n# not comment\nA=1\n", blocks: []string{"A:0"},
			values: map[string]string{"A": "\n# not comment\nA=1"}},
		{name: "no trailing newline", in: "##VERSION: z\n##NAME: A:0\nA=1", version: "z", hasVersion: true, blocks: []string{"A:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if f.Version != tt.version || f.HasVersion != tt.hasVersion {
				t.Errorf("version = %q,%v want %q,%v", f.Version, f.HasVersion, tt.version, tt.hasVersion)
			}
			var got []string
			for _, b := range f.Blocks {
				got = append(got, b.Name+":"+b.Revision)
				if want, ok := tt.values[b.Name]; ok {
					if v := strings.Join(b.Value, "\n"); v != want {
						t.Errorf("%s value = %q want %q", b.Name, v, want)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.blocks, ",") {
				t.Errorf("blocks = %v want %v", got, tt.blocks)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, in := range []string{distV1, distV2, "", "A=1\n", "##NAME: A:0\n#c\n\nA=1\n\n"} {
		f, _ := Parse(strings.NewReader(in))
		if got := string(f.Bytes()); got != in {
			t.Errorf("round trip changed %q into %q", in, got)
		}
	}
}

func TestMerge(t *testing.T) {
	old, _ := Parse(strings.NewReader(strings.Replace(distV1, "ADDRESS=0", "ADDRESS=127.0.0.1", 1)))
	old.Blocks[1].Value = []string{"", "PORT=9999"} // admin changed PORT too
	dist, _ := Parse(strings.NewReader(distV2))
	merged, changes := Merge(old, dist)
	out := string(merged.Bytes())
	for _, want := range []string{"##VERSION: v2", "ADDRESS=127.0.0.1", "PORT=1143", "NEWTHING=yes", "# bind address (new comment)"} {
		if !strings.Contains(out, want) {
			t.Errorf("merged file lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"OLDTHING", "PORT=9999", "ADDRESS=0\n", "##VERSION: v1"} {
		if strings.Contains(out, bad) {
			t.Errorf("merged file still has %q:\n%s", bad, out)
		}
	}
	want := map[string]ChangeKind{"ADDRESS": Kept, "PORT": Reset, "NEWTHING": Added, "OLDTHING": Removed}
	if len(changes) != len(want) {
		t.Fatalf("changes = %v", changes)
	}
	for _, c := range changes {
		if want[c.Name] != c.Kind {
			t.Errorf("%s: kind %v want %v", c.Name, c.Kind, want[c.Name])
		}
	}
}

func TestMergeDuplicateOldNameFirstWins(t *testing.T) {
	old, _ := Parse(strings.NewReader("##VERSION: a\n##NAME: A:0\nA=first\n##NAME: A:0\nA=second\n"))
	dist, _ := Parse(strings.NewReader("##VERSION: b\n##NAME: A:0\nA=dist\n"))
	m, _ := Merge(old, dist)
	if got := string(m.Bytes()); got != "##VERSION: b\n##NAME: A:0\nA=first\n" {
		t.Errorf("got %q", got)
	}
}

func write(t *testing.T, path, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstall(t *testing.T) {
	tests := []struct {
		name       string
		existing   *string
		dist       string
		action     Action
		wantTarget string
		wantBak    *string
	}{
		{name: "absent target gets dist", dist: distV1, action: Created, wantTarget: distV1},
		{name: "same version untouched", existing: ptr(strings.Replace(distV1, "PORT=143", "PORT=1", 1)), dist: distV1,
			action: UpToDate, wantTarget: strings.Replace(distV1, "PORT=143", "PORT=1", 1)},
		{name: "no version replaced with backup", existing: ptr("PORT=1\n"), dist: distV2, action: Replaced,
			wantTarget: distV2, wantBak: ptr("PORT=1\n")},
		{name: "merge keeps admin value", existing: ptr(strings.Replace(distV1, "ADDRESS=0", "ADDRESS=10.0.0.1", 1)), dist: distV2,
			action: Merged, wantTarget: strings.Replace(distV2, "ADDRESS=0", "ADDRESS=10.0.0.1", 1),
			wantBak: ptr(strings.Replace(distV1, "ADDRESS=0", "ADDRESS=10.0.0.1", 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "imapd")
			write(t, target+".dist", tt.dist, 0644)
			if tt.existing != nil {
				write(t, target, *tt.existing, 0640)
			}
			res, err := Install(target + ".dist")
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != tt.action {
				t.Errorf("action = %v want %v", res.Action, tt.action)
			}
			if got := read(t, target); got != tt.wantTarget {
				t.Errorf("target =\n%s\nwant\n%s", got, tt.wantTarget)
			}
			_, err = os.Stat(target + ".bak")
			if tt.wantBak == nil && err == nil {
				t.Errorf("unexpected .bak")
			}
			if tt.wantBak != nil {
				if got := read(t, target+".bak"); got != *tt.wantBak {
					t.Errorf(".bak = %q want %q", got, *tt.wantBak)
				}
			}
			if tt.existing != nil {
				st, _ := os.Stat(target)
				if st.Mode().Perm() != 0640 {
					t.Errorf("mode %v, want the old file's 0640", st.Mode().Perm())
				}
			}
			// Running again must change nothing (idempotent re-run).
			before := read(t, target)
			res2, err := Install(target + ".dist")
			if err != nil {
				t.Fatal(err)
			}
			if res2.Action != UpToDate || read(t, target) != before {
				t.Errorf("second run: %v, file changed=%v", res2.Action, read(t, target) != before)
			}
		})
	}
}

func TestInstallErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Install(filepath.Join(dir, "imapd")); err == nil {
		t.Error("name without .dist accepted")
	}
	if _, err := Install(filepath.Join(dir, "missing.dist")); err == nil {
		t.Error("missing dist accepted")
	}
	write(t, filepath.Join(dir, "nov.dist"), "A=1\n", 0644)
	if _, err := Install(filepath.Join(dir, "nov.dist")); err == nil {
		t.Error("dist without ##VERSION accepted")
	}
	os.Mkdir(filepath.Join(dir, "d"), 0755)
	write(t, filepath.Join(dir, "d.dist"), distV1, 0644)
	if _, err := Install(filepath.Join(dir, "d.dist")); err == nil {
		t.Error("directory target accepted")
	}
	big := bytes.Repeat([]byte("#\n"), MaxFileSize)
	os.WriteFile(filepath.Join(dir, "big.dist"), big, 0644)
	if _, err := Install(filepath.Join(dir, "big.dist")); err == nil {
		t.Error("oversized dist accepted")
	}
}

func ptr(s string) *string { return &s }

func FuzzParse(f *testing.F) {
	f.Add(distV1)
	f.Add(distV2)
	f.Add("##NAME:\n##NAME: a:b:c\n##VERSION:\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		want := in
		if want != "" && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if got := string(p.Bytes()); got != want {
			t.Fatalf("round trip %q -> %q", in, got)
		}
		names := map[string]bool{}
		for _, b := range p.Blocks {
			if names[b.Name] {
				return // duplicates: the first block's value wins by design
			}
			names[b.Name] = true
		}
		m, _ := Merge(p, p)
		if string(m.Bytes()) != string(p.Bytes()) {
			t.Fatalf("self-merge changed the file")
		}
	})
}
