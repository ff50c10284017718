package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

// Machine-readable output for the benchmark harness (go run ./bench
// storage, issue 8), which folds these figures into BENCHMARKS.md.

var jsonOut = flag.String("json", "", "also write every run's figures as JSON to this file (read by go run ./bench)")

// jsonResults is the -json file: per implementation, per operation, the
// duration of each run in milliseconds (Courier's APPEND already scaled
// to Batch when CourierAppendSample is set).
type jsonResults struct {
	N                   int                             `json:"n"`
	Batch               int                             `json:"batch"`
	Runs                int                             `json:"runs"`
	CourierAppendSample int                             `json:"courier_append_sample"`
	Ms                  map[string]map[string][]float64 `json:"ms"`
}

// writeJSON writes res to the -json file, if one was asked for; on error
// it exits like the rest of main.
func writeJSON(cfg Config, res Results) {
	if *jsonOut == "" {
		return
	}
	if err := saveJSON(*jsonOut, cfg, res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func saveJSON(path string, cfg Config, res Results) error {
	out := jsonResults{N: cfg.N, Batch: cfg.Batch, Runs: cfg.Runs, CourierAppendSample: cfg.CourierAppendSample,
		Ms: map[string]map[string][]float64{}}
	for impl, ops := range res {
		out.Ms[impl] = map[string][]float64{}
		for op, ds := range ops {
			for _, d := range ds {
				out.Ms[impl][op] = append(out.Ms[impl][op], float64(d)/float64(time.Millisecond))
			}
		}
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}
