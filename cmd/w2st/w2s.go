package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/neoxlearn"
)

// hyperFlags are the training hyperparameter flags of `w2st w2s`.
type hyperFlags struct{ h pipeline.Hyper }

func addHyperFlags(fs *pflag.FlagSet, def pipeline.Hyper) *hyperFlags {
	f := &hyperFlags{h: def}
	fs.IntVar(&f.h.Epochs, "epochs", def.Epochs, "training epochs of every stage")
	fs.IntVar(&f.h.MaxSteps, "max-steps", def.MaxSteps, "optimizer steps per stage (0: from --epochs)")
	fs.IntVar(&f.h.BatchSize, "batch-size", def.BatchSize, "batch size")
	fs.Float64Var(&f.h.LR, "lr", def.LR, "peak learning rate (AdamW)")
	fs.Float64Var(&f.h.WeightDecay, "weight-decay", def.WeightDecay, "decoupled weight decay")
	fs.Float64Var(&f.h.WarmupFrac, "warmup", def.WarmupFrac, "fraction of steps of linear warm-up")
	fs.StringVar(&f.h.Schedule, "schedule", def.Schedule, "learning-rate schedule: cosine or constant")
	fs.StringVar(&f.h.Loss, "loss", def.Loss, "loss of the W2S student: xent, logconf or product")
	fs.IntVar(&f.h.MaxLen, "max-len", def.MaxLen, "truncate token sequences to this length")
	return f
}

// parseSeeds parses "0,1,2".
func parseSeeds(s string) ([]int64, error) {
	var out []int64
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: %q is not an integer", s, p)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("--seeds %q: seed %d is given twice", s, v)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--seeds %q: no seed", s)
	}
	return out, nil
}

// parseStrategies parses "none,weak-tft" or "all".
func parseStrategies(s string) ([]pipeline.Strategy, error) {
	if strings.TrimSpace(s) == "all" {
		return append([]pipeline.Strategy(nil), pipeline.Strategies...), nil
	}
	var out []pipeline.Strategy
	for _, p := range strings.Split(s, ",") {
		st, err := pipeline.ParseStrategy(p)
		if err != nil {
			return nil, fmt.Errorf("--strategy: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}

func w2sCommand() *command {
	return &command{
		name:    "w2s",
		summary: "run a weak-to-strong experiment (split, weak, weak labels, ceiling, W2S, eval) with cached stages",
		long: `Splits --train 50/50 per seed into D_weak and D_strong, fine-tunes the weak model on D_weak,
labels D_strong with it (soft labels, saved as Parquet), fine-tunes the strong ceiling on
D_strong's ground truth and the W2S student on the weak labels only, and evaluates all three
on --test and every --trust-test. Strategies (comma list or "all"): none, weak-tft (regularize
the weak model), wts-tft (regularize the strong stages), weak-wts-tft (both), at strength --lambda.

Stages are cached in --out by the hash of everything that determines them: a rerun skips
finished stages (an interrupted run resumes), strategies share identical stages, and --force
recomputes. Results: --out/runs/<property>-<strategy>[-lambda<λ>]/summary.json; then run
'w2st report --out DIR/report DIR'.

Models: a preset (tiny, small, pythia-14m … pythia-12b; random init), a preset with shape
overrides such as "tiny:hidden=32,layers=2,vocab=512", or an HF folder with config.json and
safetensors. Tokenizer: "words" (default; a word-level vocabulary built from --train) or an
HF tokenizer.json / GPT-2 folder. Input files are Parquet (see 'w2st data').`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			bf := addBackendFlags(fs)
			weak := fs.String("weak", "", "weak model (preset, preset:overrides or HF folder)")
			strong := fs.String("strong", "", "strong model")
			trainF := fs.String("train", "", "training pool (Parquet)")
			test := fs.String("test", "", "main test set (Parquet)")
			trust := fs.StringArray("trust-test", nil, "further test set for the property's metrics (repeatable)")
			property := fs.String("property", "fairness", "trust property: fairness (ood, adversarial, privacy: not yet supported)")
			strategy := fs.String("strategy", "none", "strategies: none, weak-tft, wts-tft, weak-wts-tft (comma list) or all")
			lambda := fs.Float64("lambda", 1, "regularizer strength λ of the regularized stages")
			seeds := fs.String("seeds", "0,1,2", "seeds (comma list); each seed has its own split and initialisation")
			out := fs.String("out", "", "experiment directory (stage cache and summaries)")
			force := fs.Bool("force", false, "recompute every stage")
			tok := fs.String("tokenizer", "words", `tokenizer: "words" or an HF tokenizer.json / GPT-2 folder`)
			boot := fs.Int("bootstrap", 10000, "bootstrap resamples for the 95% CIs")
			hf := addHyperFlags(fs, pipeline.DefaultHyper())
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				for _, req := range []struct{ name, v string }{{"--weak", *weak}, {"--strong", *strong}, {"--train", *trainF}, {"--test", *test}, {"--out", *out}} {
					if req.v == "" {
						return usageErrorf("%s is required", req.name)
					}
				}
				sts, err := parseStrategies(*strategy)
				if err != nil {
					return usageErrorf("%v", err)
				}
				sd, err := parseSeeds(*seeds)
				if err != nil {
					return usageErrorf("%v", err)
				}
				if *boot < 1 {
					return usageErrorf("--bootstrap %d: want ≥ 1", *boot)
				}
				if !(*lambda >= 0) || math.IsInf(*lambda, 0) {
					return usageErrorf("--lambda %v: want a finite value ≥ 0", *lambda)
				}
				if err := hf.h.Validate(); err != nil {
					return usageErrorf("%v", err)
				}
				b, err := bf.open()
				if err != nil {
					return err
				}
				defer b.Finalize()
				learner := neoxlearn.New(b)
				learner.Progress = env.stderr
				sums, err := pipeline.Run(pipeline.Config{
					Weak: *weak, Strong: *strong, Train: *trainF, Test: *test, TrustTests: *trust, Property: *property,
					Strategies: sts, Lambda: *lambda, Seeds: sd, Out: *out, Force: *force, Tokenizer: *tok, Hyper: hf.h,
					Bootstrap: *boot, Code: versionString(), Backend: b.Info.Spec + " (" + b.Info.Platform + ")", Log: env.stderr,
				}, learner)
				if err != nil {
					return err
				}
				for _, s := range sums {
					fmt.Fprintf(env.stdout, "%s\n", s.Name)
				}
				fmt.Fprintf(env.stdout, "summaries in %s/%s; report: w2st report --out %s/report %s\n", *out, pipeline.RunsDir, *out, *out)
				return nil
			}
		},
	}
}
