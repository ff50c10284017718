package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The storage workload (issue 3): a 100,000-message folder, driven by
// bench/storage, whose figures are folded into the report here.
//
// Invariants:
//   - bench/storage stays the one implementation of the measurement: the
//     harness builds it, runs it once for all servers (it interleaves its
//     runs of Courier's and our imapd itself, in PREAUTH mode on one
//     socket, so neither login stage nor network is measured) and reads
//     its -json output.
//   - The child runs in its own process group, is registered like a
//     server (stopAll kills it on a signal) and is killed after
//     storageTimeout; nothing outlives the harness.
//   - Dovecot is not measured here (bench/storage drives Courier's and
//     our imapd only); its column says so.

// storageImpl maps bench/storage's implementation names to servers.
var storageImpl = map[string]string{"courier": "Courier 5.0.13 imapd", "ours": "our imapd"}

// storageOps maps bench/storage's operations to metric keys.
var storageOps = []struct{ op, key string }{
	{"first open", "stfirst"},
	{"reopen", "streopen"},
	{"reopen+10", "streopen10"},
	{"append 1000", "stappend"},
	{"expunge 1000", "stexpunge"},
}

const storageDovecotNote = "dovecot: not measured (bench/storage drives Courier's and our imapd only)"

func storageTimeout(p params) time.Duration {
	return 5*time.Minute + time.Duration(p.runs)*5*time.Minute
}

// runStorage runs bench/storage for the available Courier and ours and
// returns each server's samples, one map per run.
func runStorage(e *benchEnv, p params, srvs []*server, logf func(string, ...any)) (map[string][]map[string]float64, error) {
	bins := map[string]string{"courier": "-", "ours": "-"}
	have := false
	for _, s := range srvs {
		if _, ok := bins[s.name]; ok && s.unavailable == "" && s.imapd != "" {
			bins[s.name] = s.imapd
			have = true
		}
	}
	if !have {
		return nil, errors.New("neither Courier's nor our imapd is available")
	}
	bin := filepath.Join(e.work, "bin", "storagebench")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-o", bin, "./bench/storage")
	build.Dir = e.repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./bench/storage: %w: %s", err, out)
	}
	work := filepath.Join(e.work, "storage")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	jsonPath := filepath.Join(work, "results.json")
	_ = os.Remove(jsonPath)
	argv := []string{bin, "-n", strconv.Itoa(p.storageMsgs), "-runs", strconv.Itoa(p.runs),
		"-batch", strconv.Itoa(p.storageBatch), "-courier-append-sample", strconv.Itoa(p.storageSample),
		"-work", work, "-courier", bins["courier"], "-ours", bins["ours"], "-json", jsonPath}
	r := &running{}
	cmd, err := startProc(r, filepath.Join(e.work, "logs", "storage.log"), os.Environ(), argv...)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(storageTimeout(p)):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = fmt.Errorf("killed after %v", storageTimeout(p))
		<-done
	}
	// Wait reaped it: stop only kills what is left of its group, and
	// the FAM server Courier's imapd (run as root here) forked away
	r.procs = nil
	r.stops = append(r.stops, func() { killFAM(-1, e.work) })
	r.stop()
	if err != nil {
		return nil, fmt.Errorf("bench/storage: %w (see %s)", err, filepath.Join(e.work, "logs", "storage.log"))
	}
	return readStorageJSON(jsonPath)
}

// storageJSON is the part of bench/storage's -json file the harness uses.
type storageJSON struct {
	Batch int                             `json:"batch"`
	Runs  int                             `json:"runs"`
	Ms    map[string]map[string][]float64 `json:"ms"`
}

// readStorageJSON converts bench/storage's milliseconds into the
// harness's samples: times in ms, APPEND as messages per second.
func readStorageJSON(path string) (map[string][]map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sj storageJSON
	if err := json.Unmarshal(b, &sj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sj.Batch <= 0 {
		return nil, fmt.Errorf("%s: no batch size", path)
	}
	out := map[string][]map[string]float64{}
	for srv, impl := range storageImpl {
		ops, ok := sj.Ms[impl]
		if !ok {
			continue
		}
		for i := 0; i < sj.Runs; i++ {
			vals := map[string]float64{}
			for _, so := range storageOps {
				xs := ops[so.op]
				if i >= len(xs) || xs[i] <= 0 {
					continue
				}
				v := xs[i]
				if so.key == "stappend" {
					v = float64(sj.Batch) / (v / 1000)
				}
				vals[so.key] = v
			}
			if len(vals) > 0 {
				out[srv] = append(out[srv], vals)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no figures", path)
	}
	return out, nil
}
