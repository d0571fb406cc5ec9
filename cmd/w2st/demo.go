package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/pipeline/demo"
	"github.com/w2st/w2st/pipeline/neoxlearn"
)

func demoCommand() *command {
	return &command{
		name:    "demo",
		summary: "run the fairness W2S demo on synthetic census data with tiny models (no downloads)",
		long: `Generates synthetic census prompts (data/synth, Adult template, group = sex; balanced to
equal numbers of both labels), then runs the
'w2st w2s' pipeline with tiny from-scratch GPT-NeoX models (weak: 1 layer, hidden 16; strong:
1 layer, hidden 32), all four strategies (none, weak-tft, wts-tft, weak-wts-tft; demographic-
parity penalty, λ = 0.5), seeds 0 and 1, and the word-level tokenizer built from the training pool
(the real GPT-NeoX tokenizer is not shipped with w2st). Writes the report (Markdown, CSV, PNG/SVG
plots) to --out/report and prints its table. Finished stages are cached in --out/experiment: a
second run only re-renders the report. --quick is the small CI setting (a few hundred rows, one
epoch: it exercises the machinery and does not learn). The demo shows the machinery, not the
paper's effect.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			bf := addBackendFlags(fs)
			out := fs.String("out", "w2st-out/demo", "demo directory")
			quick := fs.Bool("quick", false, "the small CI setting (a few hundred rows, smaller models)")
			force := fs.Bool("force", false, "regenerate the data and recompute every stage")
			verbose := fs.Bool("verbose", false, "show training progress")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				b, err := bf.open()
				if err != nil {
					return err
				}
				defer b.Finalize()
				setting := demo.Full()
				if *quick {
					setting = demo.Quick()
				}
				learner := neoxlearn.New(b)
				if *verbose {
					learner.Progress = env.stderr
				}
				fmt.Fprintf(env.stderr, "w2st demo (%s): fairness W2S on %d synthetic census rows, weak %s, strong %s, 4 strategies, seeds %v\n",
					setting.Name, setting.TrainRows, setting.Weak, setting.Strong, setting.Seeds)
				res, err := demo.Run(demo.Options{Out: *out, Setting: setting, Force: *force, Code: versionString(),
					Backend: b.Info.Spec + " (" + b.Info.Platform + ")", Log: env.stderr}, learner)
				if err != nil {
					return err
				}
				fmt.Fprint(env.stdout, res.Markdown)
				fmt.Fprintf(env.stdout, "report: %s\ncsv:    %s\nplots:  %d files in %s\nwall time: %.1fs\n",
					res.Report.Markdown, res.Report.CSV, len(res.Report.Plots), *out+"/report", res.Wall.Seconds())
				return nil
			}
		},
	}
}
