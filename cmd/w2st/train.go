package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/w2st/w2st/pipeline/cache"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/spf13/pflag"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/accel/train"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/batching"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/tokenizer"
	"github.com/w2st/w2st/trust"
	"github.com/w2st/w2st/trust/fairness"
)

// dataFlags are the flags shared by the commands that read a dataset.
type dataFlags struct {
	model     string
	tokenizer string
	numLabels int
	maxLen    int
	property  string
	groups    string
	dtype     string
}

func addDataFlags(fs *pflag.FlagSet) *dataFlags {
	d := &dataFlags{}
	fs.StringVar(&d.model, "model", "", "model: a preset ("+strings.Join(neox.PresetNames(), ", ")+") or an HF folder with config.json (required)")
	fs.StringVar(&d.tokenizer, "tokenizer", "", "tokenizer.json or a folder with one (or GPT-2's encoder.json+vocab.bpe); default: the model folder's; not needed when the data has input_ids")
	fs.IntVar(&d.numLabels, "num-labels", 2, "number of classes")
	fs.IntVar(&d.maxLen, "max-len", 512, "truncate token sequences to this many ids, keeping the end (where the question is)")
	fs.StringVar(&d.property, "property", "", "trust property whose metrics are computed (and regularized, with --lambda): fairness")
	fs.StringVar(&d.groups, "groups", "", "comma-separated group names in index order (default: the sorted groups of the data: --train for train, --data for eval)")
	fs.StringVar(&d.dtype, "dtype", "f32", "compute dtype: f32 or bf16 (weights stay float32)")
	return d
}

// modelSpec is a resolved --model.
type modelSpec struct {
	cfg     neox.Config
	weights string // "" for presets
	dtype   dtypes.DType
}

func (d *dataFlags) resolveModel() (*modelSpec, error) {
	if d.model == "" {
		return nil, usageErrorf("--model is required")
	}
	if d.numLabels < 2 {
		return nil, usageErrorf("--num-labels must be >= 2, got %d", d.numLabels)
	}
	if d.maxLen < 1 {
		return nil, usageErrorf("--max-len must be >= 1, got %d", d.maxLen)
	}
	switch d.property {
	case "", "fairness":
	default:
		return nil, usageErrorf("unknown --property %q (want fairness)", d.property)
	}
	dt, err := neox.ParseDType(d.dtype)
	if err != nil {
		return nil, usageErrorf("--dtype: %v", err)
	}
	cfg, weights, err := neox.Resolve(d.model, d.numLabels)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	if d.maxLen > cfg.MaxPositions {
		d.maxLen = cfg.MaxPositions
	}
	return &modelSpec{cfg: cfg, weights: weights, dtype: dt}, nil
}

// newContext returns a context holding the model's initial weights (loaded
// from the HF folder; presets are initialised when the graph is first built).
func (m *modelSpec) newContext() (*context.Context, error) {
	ctx := context.New()
	if m.weights != "" {
		if err := neox.LoadWeights(ctx, m.cfg, m.weights); err != nil {
			return nil, err
		}
	}
	return ctx, nil
}

func (m *modelSpec) modelFn() train.ModelFn { return train.NeoXModel(m.cfg, m.dtype) }

// dataset is a file's rows, tokenized.
type dataset struct {
	path   string
	sha256 string
	rows   []data.Example
}

// fileRef describes an input file in result.json.
type fileRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows,omitempty"`
}

func (d *dataset) ref() fileRef { return fileRef{Path: d.path, SHA256: d.sha256, Rows: len(d.rows)} }

// loadDataset reads a Parquet file and makes sure every row has token ids
// (tokenizing the text when the file has none) that fit the model.
func (d *dataFlags) loadDataset(path string, m *modelSpec, tok **tokenizer.Tokenizer, needSoft bool) (*dataset, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	sum, err := cache.HashFile(path)
	if err != nil {
		return nil, err
	}
	rows, err := parquetio.ReadAll(path)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	var texts []string
	var need []int
	for i, ex := range rows {
		if len(ex.InputIDs) == 0 {
			texts = append(texts, ex.Text)
			need = append(need, i)
		}
	}
	if len(need) > 0 {
		if *tok == nil {
			tp := d.tokenizer
			if tp == "" && m.weights != "" {
				tp = m.weights
			}
			if tp == "" {
				return nil, usageErrorf("%s: row %d (id %q) has no input_ids and no --tokenizer was given (the preset model has no tokenizer)", path, need[0]+1, rows[need[0]].ID)
			}
			t, err := tokenizer.Load(tp)
			if err != nil {
				return nil, fmt.Errorf("--tokenizer: %w", err)
			}
			*tok = t.WithTruncation(d.maxLen, tokenizer.TruncateLeft)
		}
		ids, err := (*tok).EncodeBatch(texts, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: tokenizing: %w", path, err)
		}
		for k, i := range need {
			rows[i].InputIDs = ids[k]
		}
	}
	for i := range rows {
		ex := &rows[i]
		if len(ex.InputIDs) == 0 {
			return nil, fmt.Errorf("%s: row %d (id %q): no tokens", path, i+1, ex.ID)
		}
		if len(ex.InputIDs) > d.maxLen {
			ex.InputIDs = ex.InputIDs[len(ex.InputIDs)-d.maxLen:]
		}
		ex.Length = int32(len(ex.InputIDs))
		for _, id := range ex.InputIDs {
			if id < 0 || int(id) >= m.cfg.VocabSize {
				return nil, fmt.Errorf("%s: row %d (id %q): token id %d does not fit the model's vocabulary of %d", path, i+1, ex.ID, id, m.cfg.VocabSize)
			}
		}
		if ex.Label < 0 || int(ex.Label) >= m.cfg.NumLabels {
			return nil, fmt.Errorf("%s: row %d (id %q): label %d outside [0,%d)", path, i+1, ex.ID, ex.Label, m.cfg.NumLabels)
		}
		if needSoft && len(ex.SoftLabel) != m.cfg.NumLabels {
			return nil, fmt.Errorf("%s: row %d (id %q): soft_label has %d values, want %d (--labels soft needs soft labels on every row)", path, i+1, ex.ID, len(ex.SoftLabel), m.cfg.NumLabels)
		}
		if d.property == "fairness" && ex.Group == "" {
			return nil, fmt.Errorf("%s: row %d (id %q) has no group; --property fairness needs the group column on every row", path, i+1, ex.ID)
		}
	}
	return &dataset{path: path, sha256: sum, rows: rows}, nil
}

// groupList returns --groups, or nil (the batcher then uses the sorted
// distinct groups of the rows).
func (d *dataFlags) groupList() []string {
	if d.groups == "" {
		return nil
	}
	return strings.Split(d.groups, ",")
}

// newBatcher makes the fixed-shape batches of a dataset (length buckets
// planned from its histogram; the last batch of a bucket is masked).
func (d *dataFlags) newBatcher(ds *dataset, m *modelSpec, batchSize int, groups []string, pad int32, shuffle bool, seed int64) (*batching.Batcher, error) {
	b, err := batching.NewBatcher(ds.rows, batching.Options{BatchSize: batchSize, MaxLen: d.maxLen, TruncateLeft: true,
		PadID: pad, Classes: m.cfg.NumLabels, Groups: groups, Seed: seed, Shuffle: shuffle})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds.path, err)
	}
	return b, nil
}

// writeJSONAtomic writes v as indented JSON to path through a temporary
// file in the same directory.
func writeJSONAtomic(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, errors.Unwrap(err))
	}
	tmp := f.Name()
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, errors.Unwrap(err))
	}
	return nil
}

// evalReport is the metrics of a model on one dataset.
type evalReport struct {
	Data    fileRef       `json:"data"`
	Metrics train.Metrics `json:"metrics"`
	// Fairness metrics (with --property fairness): demographic parity
	// difference and equalized odds difference of the argmax predictions
	// (class 1 favourable), and the groups in index order.
	DPD    *float64 `json:"dpd,omitempty"`
	EOD    *float64 `json:"eod,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// evaluate predicts ds and computes its metrics.
func evaluate(b *accel.Backend, ctx *context.Context, m *modelSpec, d *dataFlags, ds *dataset, groups []string, batchSize int, pad int32) (*evalReport, error) {
	bt, err := d.newBatcher(ds, m, batchSize, groups, pad, false, 0)
	if err != nil {
		return nil, err
	}
	p, err := train.PredictAll(b, ctx, m.modelFn(), train.Epochs(bt))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds.path, err)
	}
	met, err := train.ComputeMetrics(p.Probs, p.Labels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds.path, err)
	}
	rep := &evalReport{Data: ds.ref(), Metrics: met}
	if d.property == "fairness" {
		pred := fairness.HardPredictions(p.Probs)
		dpd, err := fairness.DPD(pred, p.Groups)
		if err != nil {
			return nil, err
		}
		eod, err := fairness.EOD(pred, p.Labels, p.Groups)
		if err != nil {
			return nil, err
		}
		rep.DPD, rep.EOD, rep.Groups = &dpd, &eod, bt.Groups()
	}
	return rep, nil
}

func padID(tok *tokenizer.Tokenizer, cfg neox.Config) int32 {
	if tok != nil {
		return tok.PadID()
	}
	return int32(cfg.PadTokenID)
}

// trainResult is train's result.json.
type trainResult struct {
	Command    string            `json:"command"`
	Version    string            `json:"version"`
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished"`
	Model      string            `json:"model"`
	Weights    string            `json:"initial_weights,omitempty"`
	Export     string            `json:"export"`
	Backend    accel.Info        `json:"backend"`
	Flags      map[string]string `json:"flags"`
	Train      fileRef           `json:"train"`
	Tokenizer  *fileRef          `json:"tokenizer,omitempty"`
	Groups     []string          `json:"groups,omitempty"`
	Regularize string            `json:"regularizer,omitempty"`
	Lambda     float64           `json:"lambda,omitempty"`
	Result     *train.Result     `json:"result"`
	Eval       *evalReport       `json:"eval,omitempty"`
}

// settingsName is the file in train's --out that records the settings a
// checkpoint was trained under, so that --resume cannot continue it with others.
const settingsName = "train-settings.json"

// notTrainingFlags do not change what training computes: they may differ on --resume.
var notTrainingFlags = map[string]bool{"resume": true, "quiet": true, "out": true, "eval": true, "eval-batch-size": true,
	"checkpoint-every": true, "keep-checkpoints": true, "backend": true, "pjrt-plugin": true}

// resumeSettings is what a resumed training must share with the run that wrote
// its checkpoints: every flag that changes the computation and the training
// file's sha256.
func resumeSettings(fs *pflag.FlagSet, ds *dataset) map[string]string {
	s := map[string]string{}
	for k, v := range allFlags(fs) {
		if !notTrainingFlags[k] {
			s["--"+k] = v
		}
	}
	s["train sha256"] = ds.sha256
	return s
}

// checkResumeSettings compares the settings of this run with those recorded
// when the checkpoints were started (a missing record is accepted).
func checkResumeSettings(path string, want map[string]string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var had map[string]string
	if err := json.Unmarshal(raw, &had); err != nil {
		return fmt.Errorf("%s: %v (delete the output directory to start over)", path, err)
	}
	var diffs []string
	for k, v := range want {
		if old, ok := had[k]; ok && old != v {
			diffs = append(diffs, fmt.Sprintf("%s %q (now %q)", k, old, v))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	return fmt.Errorf("--resume: the checkpoints in %s were trained with %s: rerun with the same settings, or use another --out",
		filepath.Dir(path), strings.Join(diffs, ", "))
}

// allFlags records every flag's value (set or default).
func allFlags(fs *pflag.FlagSet) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

func trainCommand() *command {
	return &command{
		name:    "train",
		summary: "fine-tune a GPT-NeoX classifier on a Parquet file",
		long: `Trains --model (a preset, randomly initialised, or an HF folder) on --train with AdamW
(decoupled weight decay, not on biases and LayerNorm parameters), linear warm-up then
cosine or constant learning rate, global-norm clipping and gradient accumulation.
--labels gt trains on the label column, --labels soft on soft_label (weak labels).
Losses: xent (soft-label cross-entropy), logconf (auxiliary confidence loss of
Burns et al.), product. With --property fairness and --lambda > 0 the demographic-
parity penalty is added. Writes to --out: model/ (HF config.json + model.safetensors),
checkpoints/ (every --checkpoint-every steps and at the end; --resume continues from
the last, and refuses other training flags or data than train-settings.json records),
train.jsonl (one line per step) and result.json (all flags, input hashes, the training
result and, with --eval, the evaluation).`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			df := addDataFlags(fs)
			trainPath := fs.String("train", "", "training data, Parquet (required)")
			evalPath := fs.String("eval", "", "evaluation data, Parquet")
			labels := fs.String("labels", "gt", "training targets: gt (label column) or soft (soft_label column)")
			out := fs.String("out", "", "output directory (required)")
			batchSize := fs.Int("batch-size", 32, "micro-batch size (rows)")
			accum := fs.Int("accum-steps", 1, "micro-batches per optimizer step (effective batch = batch-size × accum-steps)")
			lr := fs.Float64("lr", 5e-5, "peak learning rate")
			wd := fs.Float64("weight-decay", 0, "AdamW decoupled weight decay")
			warmup := fs.Float64("warmup-frac", 0, "fraction of steps of linear warm-up")
			schedule := fs.String("schedule", "cosine", "learning-rate schedule after warm-up: cosine or constant")
			epochs := fs.Int("epochs", 2, "passes over the training data")
			maxSteps := fs.Int("max-steps", 0, "optimizer steps (overrides --epochs when > 0)")
			clip := fs.Float64("clip-norm", 0, "global gradient-norm clip (0 = off)")
			loss := fs.String("loss", "xent", "loss: xent, logconf or product")
			seed := fs.Int64("seed", 0, "seed for initialisation and data order")
			ckEvery := fs.Int("checkpoint-every", 0, "checkpoint every N steps (always at the end)")
			keep := fs.Int("keep-checkpoints", 2, "checkpoints kept (-1 = all)")
			resume := fs.Bool("resume", false, "continue from the last checkpoint in --out/checkpoints")
			lambda := fs.Float64("lambda", 0, "strength of the --property regularizer (0 = none)")
			regFlag := fs.String("regularizer", "demographic_parity", "fairness regularizer: demographic_parity or equalized_odds")
			evalBatch := fs.Int("eval-batch-size", 64, "batch size for --eval")
			quiet := fs.Bool("quiet", false, "no progress output")
			bf := addBackendFlags(fs)
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				if *trainPath == "" || *out == "" {
					return usageErrorf("--train and --out are required")
				}
				if *labels != "gt" && *labels != "soft" {
					return usageErrorf("--labels must be gt or soft, got %q", *labels)
				}
				if *batchSize < 1 || *evalBatch < 1 {
					return usageErrorf("--batch-size and --eval-batch-size must be >= 1")
				}
				// The library reads 0 as "default"; on the command line it would silently train otherwise than asked.
				if *maxSteps == 0 && *epochs < 1 {
					return usageErrorf("--epochs %d: want >= 1 (or --max-steps > 0)", *epochs)
				}
				if *accum < 1 {
					return usageErrorf("--accum-steps %d: want >= 1", *accum)
				}
				if *keep == 0 || *keep < -1 {
					return usageErrorf("--keep-checkpoints %d: want >= 1, or -1 for all", *keep)
				}
				if *regFlag != "demographic_parity" && *regFlag != "equalized_odds" {
					return usageErrorf("unknown --regularizer %q (want demographic_parity or equalized_odds)", *regFlag)
				}
				if *lambda < 0 || (*lambda > 0 && df.property == "") {
					return usageErrorf("--lambda must be >= 0 and needs --property")
				}
				m, err := df.resolveModel()
				if err != nil {
					return err
				}
				spec, err := bf.spec()
				if err != nil {
					return err
				}
				early := train.Config{LR: *lr, WeightDecay: *wd, WarmupFrac: *warmup, Schedule: *schedule, Epochs: *epochs,
					MaxSteps: *maxSteps, ClipNorm: *clip, AccumSteps: *accum, Loss: *loss, CheckpointEvery: *ckEvery}
				if err := early.Validate(); err != nil {
					return usageErrorf("%v", err)
				}
				started := time.Now().UTC()
				var tok *tokenizer.Tokenizer
				ds, err := df.loadDataset(*trainPath, m, &tok, *labels == "soft")
				if err != nil {
					return err
				}
				var evalDS *dataset
				if *evalPath != "" {
					if evalDS, err = df.loadDataset(*evalPath, m, &tok, false); err != nil {
						return err
					}
				}
				pad := padID(tok, m.cfg)
				bt, err := df.newBatcher(ds, m, *batchSize, df.groupList(), pad, true, *seed)
				if err != nil {
					return err
				}
				groups := bt.Groups()
				var regs []trust.Regularizer
				regName := ""
				if *lambda > 0 {
					if len(groups) != 2 {
						return fmt.Errorf("%s: the fairness penalties compare two groups; the data has %d (%q)", *trainPath, len(groups), groups)
					}
					var r trust.Regularizer = fairness.NewDemographicParity(*lambda)
					if *regFlag == "equalized_odds" {
						r = &fairness.EqualizedOdds{Lambda: *lambda}
					}
					regs, regName = []trust.Regularizer{r}, r.Name()
				}
				if err := os.MkdirAll(*out, 0o755); err != nil {
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
				targets := train.TargetsGT
				if *labels == "soft" {
					targets = train.TargetsSoft
				}
				cfg := train.Config{LR: *lr, WeightDecay: *wd, WarmupFrac: *warmup, Schedule: *schedule, Epochs: *epochs,
					MaxSteps: *maxSteps, ClipNorm: *clip, AccumSteps: *accum, Loss: *loss, Targets: targets, Seed: *seed,
					CheckpointDir: filepath.Join(*out, "checkpoints"), CheckpointEvery: *ckEvery, KeepCheckpoints: *keep,
					Resume: *resume, LogPath: filepath.Join(*out, "train.jsonl"), Regularizers: regs}
				if !*quiet {
					cfg.Progress = env.stderr
				}
				ckpts, _ := train.ListCheckpoints(cfg.CheckpointDir)
				if !*resume && len(ckpts) > 0 {
					return fmt.Errorf("%s already holds checkpoints: pass --resume to continue, or use another --out", cfg.CheckpointDir)
				}
				settings := resumeSettings(fs, ds)
				settingsPath := filepath.Join(*out, settingsName)
				if len(ckpts) > 0 {
					if err := checkResumeSettings(settingsPath, settings); err != nil {
						return err
					}
				} else {
					if err := os.Remove(cfg.LogPath); err != nil && !errors.Is(err, os.ErrNotExist) {
						return err
					}
					if err := writeJSONAtomic(settingsPath, settings); err != nil {
						return err
					}
				}
				res, err := train.Train(backend, ctx, m.modelFn(), train.Epochs(bt), cfg)
				if err != nil {
					return err
				}
				exportDir := filepath.Join(*out, "model")
				if err := neox.Export(ctx, m.cfg, exportDir); err != nil {
					return err
				}
				r := trainResult{Command: "train", Version: versionString(), Started: started, Model: df.model, Weights: m.weights,
					Export: exportDir, Backend: backend.Info, Flags: allFlags(fs), Train: ds.ref(), Groups: groups,
					Regularize: regName, Lambda: *lambda, Result: res}
				if tok != nil {
					sum, err := cache.HashFile(tok.Source())
					if err == nil {
						r.Tokenizer = &fileRef{Path: tok.Source(), SHA256: sum}
					}
				}
				if evalDS != nil {
					if r.Eval, err = evaluate(backend, ctx, m, df, evalDS, groups, *evalBatch, pad); err != nil {
						return err
					}
				}
				r.Finished = time.Now().UTC()
				if err := writeJSONAtomic(filepath.Join(*out, "result.json"), r); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "trained %d steps (final loss %.4f, %.0f tokens/s); model in %s\n", res.Steps, res.FinalLoss, res.TokensPerSec, exportDir)
				if r.Eval != nil {
					printEval(env.stdout, r.Eval)
				}
				return nil
			}
		},
	}
}
