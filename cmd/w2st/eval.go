package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/data/tokenizer"
)

func printEval(w io.Writer, r *evalReport) {
	m := r.Metrics
	fmt.Fprintf(w, "%s: n %d  accuracy %.4f  auc %.4f  loss %.4f  ece %.4f", r.Data.Path, m.N, m.Accuracy, m.AUC, m.Loss, m.ECE)
	if r.DPD != nil {
		fmt.Fprintf(w, "  dpd %.4f  eod %.4f", *r.DPD, *r.EOD)
	}
	fmt.Fprintln(w)
}

// evalResult is eval's JSON output.
type evalResult struct {
	Command string            `json:"command"`
	Version string            `json:"version"`
	Time    time.Time         `json:"time"`
	Model   string            `json:"model"`
	Weights string            `json:"weights,omitempty"`
	Backend accel.Info        `json:"backend"`
	Flags   map[string]string `json:"flags"`
	Eval    *evalReport       `json:"eval"`
}

func evalCommand() *command {
	return &command{
		name:    "eval",
		summary: "evaluate a classifier on a Parquet file: accuracy, ROC AUC, loss, ECE (and trust metrics)",
		long: `Runs --model on --data and reports accuracy, ROC AUC (of P(class 1) for two classes),
mean cross-entropy against the label column, and the expected calibration error (15
equal-width bins). --property fairness adds the demographic parity difference and the
equalized odds difference between the groups of the group column.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			df := addDataFlags(fs)
			path := fs.String("data", "", "data, Parquet (required)")
			batchSize := fs.Int("batch-size", 64, "batch size")
			asJSON := fs.Bool("json", false, "print JSON")
			out := fs.String("out", "", "also write the JSON result to this file")
			bf := addBackendFlags(fs)
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				if *path == "" {
					return usageErrorf("--data is required")
				}
				if *batchSize < 1 {
					return usageErrorf("--batch-size must be >= 1")
				}
				m, err := df.resolveModel()
				if err != nil {
					return err
				}
				spec, err := bf.spec()
				if err != nil {
					return err
				}
				var tok *tokenizer.Tokenizer
				ds, err := df.loadDataset(*path, m, &tok, false)
				if err != nil {
					return err
				}
				backend, err := accel.Open(spec)
				if err != nil {
					return err
				}
				defer backend.Finalize()
				ctx, err := m.newContext()
				if err != nil {
					return err
				}
				rep, err := evaluate(backend, ctx, m, df, ds, df.groupList(), *batchSize, padID(tok, m.cfg))
				if err != nil {
					return err
				}
				res := evalResult{Command: "eval", Version: versionString(), Time: time.Now().UTC(), Model: df.model,
					Weights: m.weights, Backend: backend.Info, Flags: allFlags(fs), Eval: rep}
				if *out != "" {
					if err := writeJSONAtomic(*out, res); err != nil {
						return err
					}
				}
				if *asJSON {
					enc := json.NewEncoder(env.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				printEval(env.stdout, rep)
				return nil
			}
		},
	}
}
