package neoxlearn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/accel/train"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/batching"
	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/trust"
	"github.com/w2st/w2st/trust/fairness"
)

// Learner implements pipeline.Learner on a backend.
type Learner struct {
	backend backends.Backend
	// Progress receives training progress (nil: none).
	Progress io.Writer
	// CheckpointEvery is the checkpoint interval in steps for resuming an
	// interrupted stage (0: only at the end).
	CheckpointEvery int
	// EvalBatchSize is the batch size of predictions (default 64).
	EvalBatchSize int
}

// New returns a Learner that runs on backend.
func New(backend backends.Backend) *Learner {
	return &Learner{backend: backend, CheckpointEvery: 200, EvalBatchSize: 64}
}

// ID implements pipeline.Learner.
func (l *Learner) ID() string { return "neox-train-v1" }

// Info implements pipeline.Learner.
func (l *Learner) Info(model string, numLabels int) (pipeline.ModelInfo, error) {
	cfg, weights, err := ParseModel(model, numLabels)
	if err != nil {
		return pipeline.ModelInfo{}, err
	}
	if weights != "" {
		// Check the checkpoint's headers now (no tensor data is read): a corrupt
		// strong model must not surface only after the weak stage has trained.
		if _, err := neox.InspectCheckpoint(cfg, weights); err != nil {
			return pipeline.ModelInfo{}, err
		}
	}
	total, _ := cfg.NumParameters()
	return pipeline.ModelInfo{Spec: model, VocabSize: cfg.VocabSize, Parameters: total,
		Describe: fmt.Sprintf("GPT-NeoX hidden %d, %d layers, %d heads, vocab %d", cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.VocabSize)}, nil
}

func regularizers(spec pipeline.TrainSpec) ([]trust.Regularizer, error) {
	switch spec.Regularizer {
	case "":
		return nil, nil
	case "demographic_parity":
		if len(spec.Groups) != 2 {
			return nil, fmt.Errorf("the demographic-parity penalty compares two groups; the data has %d (%v)", len(spec.Groups), spec.Groups)
		}
		return []trust.Regularizer{fairness.NewDemographicParity(spec.Lambda)}, nil
	}
	return nil, fmt.Errorf("unknown regularizer %q", spec.Regularizer)
}

// Train implements pipeline.Learner: it trains from the spec's initial
// weights (random for presets) and exports the model into dir.
func (l *Learner) Train(spec pipeline.TrainSpec, rows []data.Example, dir, work string) (pipeline.TrainInfo, error) {
	cfg, weights, err := ParseModel(spec.Model, spec.NumLabels)
	if err != nil {
		return pipeline.TrainInfo{}, err
	}
	regs, err := regularizers(spec)
	if err != nil {
		return pipeline.TrainInfo{}, err
	}
	bt, err := batching.NewBatcher(indexed(rows, spec.Labels == "soft"), batching.Options{BatchSize: spec.Hyper.BatchSize,
		MaxLen: spec.Hyper.MaxLen, PadID: spec.PadID, Classes: spec.NumLabels, Groups: spec.Groups, Seed: spec.Seed, Shuffle: true})
	if err != nil {
		return pipeline.TrainInfo{}, err
	}
	ctx := context.New()
	if weights != "" {
		if err := neox.LoadWeights(ctx, cfg, weights); err != nil {
			return pipeline.TrainInfo{}, err
		}
	}
	logPath := filepath.Join(work, "train.jsonl")
	tcfg := train.Config{
		LR: spec.Hyper.LR, WeightDecay: spec.Hyper.WeightDecay, WarmupFrac: spec.Hyper.WarmupFrac,
		Schedule: spec.Hyper.Schedule, Epochs: spec.Hyper.Epochs, MaxSteps: spec.Hyper.MaxSteps,
		Loss: spec.Loss, Targets: spec.Labels, Seed: spec.Seed,
		CheckpointDir: filepath.Join(work, "checkpoints"), CheckpointEvery: l.CheckpointEvery, KeepCheckpoints: 1, Resume: true,
		LogPath: logPath, Progress: l.Progress, Regularizers: regs,
	}
	start := time.Now()
	res, err := train.Train(l.backend, ctx, train.NeoXModel(cfg, dtypes.Float32), train.Epochs(bt), tcfg)
	if err != nil {
		return pipeline.TrainInfo{}, err
	}
	if err := neox.Export(ctx, cfg, dir); err != nil {
		return pipeline.TrainInfo{}, err
	}
	if b, err := os.ReadFile(logPath); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "train.jsonl"), b, 0o644); err != nil {
			return pipeline.TrainInfo{}, err
		}
	}
	return pipeline.TrainInfo{Steps: res.Steps, Examples: int(res.Examples), Tokens: res.Tokens,
		Seconds: time.Since(start).Seconds(), TokensPerSec: res.TokensPerSec, FinalLoss: res.FinalLoss}, nil
}

// Predict implements pipeline.Learner: it loads the model Train exported into
// dir and returns class probabilities in row order.
func (l *Learner) Predict(spec pipeline.TrainSpec, dir string, rows []data.Example) ([][]float32, error) {
	cfg, err := neox.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	ctx := context.New()
	if err := neox.LoadWeights(ctx, cfg, dir); err != nil {
		return nil, err
	}
	bs := l.EvalBatchSize
	if bs < 1 {
		bs = 64
	}
	bt, err := batching.NewBatcher(indexed(rows, false), batching.Options{BatchSize: bs, MaxLen: spec.Hyper.MaxLen,
		PadID: spec.PadID, Classes: spec.NumLabels})
	if err != nil {
		return nil, err
	}
	probs, ids, err := train.Predict(l.backend, ctx, train.NeoXModel(cfg, dtypes.Float32), train.Epochs(bt))
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(rows))
	for k, id := range ids {
		i, err := strconv.Atoi(id)
		if err != nil || i < 0 || i >= len(rows) || out[i] != nil {
			return nil, fmt.Errorf("predict: unexpected batch id %q", id)
		}
		out[i] = probs[k]
	}
	for i := range out {
		if out[i] == nil {
			return nil, errors.New("predict: a row got no prediction")
		}
	}
	return out, nil
}

var _ pipeline.Learner = (*Learner)(nil)
