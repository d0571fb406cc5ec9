// Package demo is the one-command weak-to-strong demo: the fairness
// experiment on synthetic census data (data/synth, balanced to equal numbers
// of both labels) with tiny from-scratch GPT-NeoX models,
// all four strategies, two seeds, a word-level tokenizer built from the
// training pool (the real GPT-NeoX tokenizer is not shipped with w2st), and
// nothing downloaded. It shows the machinery, not the paper's effect.
package demo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/synth"
	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/cache"
	"github.com/w2st/w2st/pipeline/report"
)

// Setting is one size of the demo.
type Setting struct {
	Name         string
	TrainRows    int
	TestRows     int
	Weak, Strong string // model specs
	Seeds        []int64
	Hyper        pipeline.Hyper
	Lambda       float64
	Bias         float64 // the census generator's sex coefficient (synth.DefaultBias ≈ Adult's parity gap)
}

// Full is the default demo (under 5 minutes on 2 CPU cores).
func Full() Setting {
	h := pipeline.DefaultHyper()
	h.LR, h.Epochs, h.BatchSize, h.MaxLen, h.WarmupFrac = 1e-2, 3, 16, 128, 0.1
	return Setting{Name: "full", TrainRows: 1200, TestRows: 500,
		Weak:   "tiny:hidden=16,layers=1,heads=2,vocab=4096",
		Strong: "tiny:hidden=32,layers=1,heads=2,vocab=4096",
		Seeds:  []int64{0, 1}, Hyper: h, Lambda: 0.5, Bias: synth.DefaultBias}
}

// Quick is the CI setting: the same pipeline on a few hundred rows.
func Quick() Setting {
	s := Full()
	s.Name, s.TrainRows, s.TestRows = "quick", 192, 96
	s.Weak = "tiny:hidden=8,layers=1,heads=1,vocab=4096"
	s.Strong = "tiny:hidden=16,layers=1,heads=2,vocab=4096"
	s.Hyper.Epochs = 1
	return s
}

// Options configure Run.
type Options struct {
	Out     string // demo directory: data/, the experiment cache, report/
	Setting Setting
	Force   bool
	Code    string // w2st version (cache key)
	Backend string // description recorded in results
	Log     io.Writer
}

// Result is what Run produced.
type Result struct {
	Report   report.Files
	Markdown string
	Wall     time.Duration
}

// Run generates the data (once), runs the experiment and writes the report.
func Run(opts Options, learner pipeline.Learner) (Result, error) {
	start := time.Now()
	s := opts.Setting
	dataDir := filepath.Join(opts.Out, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("demo: %w", err)
	}
	trainPath := filepath.Join(dataDir, fmt.Sprintf("census-balanced-train-%d.parquet", s.TrainRows))
	testPath := filepath.Join(dataDir, fmt.Sprintf("census-balanced-test-%d.parquet", s.TestRows))
	for _, f := range []struct {
		path string
		rows func() []data.Example
	}{
		{trainPath, func() []data.Example { return balanced(s.TrainRows, s.Bias, 1, "train") }},
		{testPath, func() []data.Example { return balanced(s.TestRows, s.Bias, 2, "test") }},
	} {
		if _, err := os.Stat(f.path); err == nil && !opts.Force {
			continue
		}
		if err := parquetio.WriteFile(f.path, f.rows(), parquetio.WriterOptions{}); err != nil {
			return Result{}, fmt.Errorf("demo data: %w", err)
		}
	}
	expDir := filepath.Join(opts.Out, "experiment")
	cfg := pipeline.Config{
		Weak: s.Weak, Strong: s.Strong, Train: trainPath, Test: testPath, Property: "fairness",
		Strategies: pipeline.Strategies, Lambda: s.Lambda, Seeds: s.Seeds, Out: expDir, Force: opts.Force,
		Tokenizer: "words", Hyper: s.Hyper, Bootstrap: 10000, Code: opts.Code, Backend: opts.Backend, Log: opts.Log,
	}
	sums, err := pipeline.Run(cfg, learner)
	var ve *cache.VersionError
	if errors.As(err, &ve) {
		// The demo owns its experiment directory: a cache from another w2st
		// version is recomputed rather than refused.
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "demo: %s was written by another w2st version (%q); recomputing it\n", expDir, ve.Found.Code)
		}
		if err := os.RemoveAll(expDir); err != nil {
			return Result{}, fmt.Errorf("demo: %w", err)
		}
		sums, err = pipeline.Run(cfg, learner)
	}
	if err != nil {
		return Result{}, err
	}
	files, groups, err := report.Write(filepath.Join(opts.Out, "report"), sums)
	if err != nil {
		return Result{}, err
	}
	return Result{Report: files, Markdown: report.Markdown(groups), Wall: time.Since(start)}, nil
}

// balanced draws synthetic census rows until it has n/2 of each label (the
// census has about one positive in four), so that accuracy above 50% shows
// that a tiny model learned something. Rows keep the generator's ids.
func balanced(n int, bias float64, seed int64, split string) []data.Example {
	g := synth.NewCensus(bias, seed)
	want := [2]int{n / 2, n - n/2}
	out := make([]data.Example, 0, n)
	for len(out) < n {
		ex := g.Next()
		if ex.Label < 0 || ex.Label > 1 || want[ex.Label] == 0 {
			continue
		}
		want[ex.Label]--
		ex.Split = split
		out = append(out, ex)
	}
	return out
}
