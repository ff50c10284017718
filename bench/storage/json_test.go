package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The harness reads this file: every run of every operation must come
// back in milliseconds under the implementation's name.
func TestSaveJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	cfg := Config{N: 100, Batch: 10, Runs: 2, CourierAppendSample: 3}
	res := Results{
		"our imapd":            {"reopen": {1500 * time.Microsecond, 2 * time.Millisecond}},
		"Courier 5.0.13 imapd": {"append 1000": {3 * time.Second}},
		"our storage API":      {},
	}
	if err := saveJSON(path, cfg, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got jsonResults
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.N != 100 || got.Batch != 10 || got.Runs != 2 || got.CourierAppendSample != 3 {
		t.Errorf("parameters: %+v", got)
	}
	if r := got.Ms["our imapd"]["reopen"]; len(r) != 2 || r[0] != 1.5 || r[1] != 2 {
		t.Errorf("our imapd reopen = %v", r)
	}
	if r := got.Ms["Courier 5.0.13 imapd"]["append 1000"]; len(r) != 1 || r[0] != 3000 {
		t.Errorf("Courier append = %v", r)
	}
	if _, ok := got.Ms["our storage API"]; !ok {
		t.Error("implementation without figures dropped")
	}
	if err := saveJSON(filepath.Join(t.TempDir(), "no", "such", "dir.json"), cfg, res); err == nil {
		t.Error("unwritable path accepted")
	}
}
