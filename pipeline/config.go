// Package pipeline runs weak-to-strong (W2S) experiments: it splits the
// training pool 50/50, trains the weak model on D_weak, labels D_strong with
// the weak model, trains the strong ceiling on D_strong's ground truth and the
// W2S student on the weak labels, evaluates all three on every test set, and
// summarises accuracy, trust metrics and the performance gap recovered (PGR)
// over seeds with bootstrap confidence intervals.
//
// Every stage is cached by content hash (see pipeline/cache): a rerun skips
// finished stages, strategies share identical stages, and --force recomputes.
// The pipeline never builds graphs itself: models are trained and run by a
// Learner (pipeline/neoxlearn implements it with accel/train and accel/neox).
package pipeline

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/pipeline/metrics"
)

// Strategy says which stages get the trustworthiness regularizer.
type Strategy string

// The four cells of the 2×2 design.
const (
	StrategyNone       Strategy = "none"         // vanilla W2S, no regularizer anywhere
	StrategyWeakTFT    Strategy = "weak-tft"     // regularize the weak model only
	StrategyWTSTFT     Strategy = "wts-tft"      // regularize the strong stages only
	StrategyWeakWTSTFT Strategy = "weak-wts-tft" // regularize both
)

// Strategies lists all strategies in report order.
var Strategies = []Strategy{StrategyNone, StrategyWeakTFT, StrategyWTSTFT, StrategyWeakWTSTFT}

// ParseStrategy validates a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	st := Strategy(strings.TrimSpace(s))
	if slices.Contains(Strategies, st) {
		return st, nil
	}
	return "", fmt.Errorf("unknown strategy %q (want none, weak-tft, wts-tft or weak-wts-tft)", s)
}

// RegularizeWeak reports whether the weak model is trained with the regularizer.
func (s Strategy) RegularizeWeak() bool { return s == StrategyWeakTFT || s == StrategyWeakWTSTFT }

// RegularizeStrong reports whether the strong stages (the W2S student and,
// so that PGR compares like with like, the strong ceiling) are trained with
// the regularizer.
func (s Strategy) RegularizeStrong() bool { return s == StrategyWTSTFT || s == StrategyWeakWTSTFT }

// Describe is a one-line human description.
func (s Strategy) Describe() string {
	switch s {
	case StrategyNone:
		return "vanilla W2S (no regularizer)"
	case StrategyWeakTFT:
		return "Weak TFT (regularized weak model)"
	case StrategyWTSTFT:
		return "WTS TFT (regularized strong stages)"
	case StrategyWeakWTSTFT:
		return "Weak+WTS TFT (regularized weak and strong stages)"
	}
	return string(s)
}

// Property is the trustworthiness property an experiment measures.
type Property struct {
	Name        string        `json:"name"`
	Regularizer string        `json:"regularizer"` // trust regularizer name
	Metrics     []metrics.Def `json:"metrics"`     // in report order; the first is the headline accuracy
	// NeedsGroups: every row needs a non-empty group column.
	NeedsGroups bool `json:"needs_groups"`
}

// PropertyFor returns the supported property with this name.
func PropertyFor(name string) (Property, error) {
	switch name {
	case "fairness":
		return Property{
			Name: "fairness", Regularizer: "demographic_parity", NeedsGroups: true,
			Metrics: []metrics.Def{metrics.DefAccuracy, metrics.DefAUC, metrics.DefDPD, metrics.DefEOD},
		}, nil
	case "ood", "adversarial", "privacy":
		return Property{}, fmt.Errorf("property %q is not yet supported (supported: fairness)", name)
	}
	return Property{}, fmt.Errorf("unknown property %q (supported: fairness; later ood, adversarial, privacy)", name)
}

// Hyper are the training hyperparameters shared by every training stage.
type Hyper struct {
	Epochs      int     `json:"epochs"`
	MaxSteps    int     `json:"max_steps,omitempty"` // 0 = no limit
	BatchSize   int     `json:"batch_size"`
	LR          float64 `json:"lr"`
	WeightDecay float64 `json:"weight_decay"`
	WarmupFrac  float64 `json:"warmup_frac"`
	Schedule    string  `json:"schedule"` // "cosine" or "constant"
	Loss        string  `json:"loss"`     // loss of the W2S stage: xent, logconf or product (gt stages use xent)
	MaxLen      int     `json:"max_len"`  // token sequences are truncated to this length
}

// DefaultHyper follows the public W2S reference code: batch 32, 2 epochs,
// cosine schedule without warm-up, lr 5e-5, soft-label cross-entropy.
func DefaultHyper() Hyper {
	return Hyper{Epochs: 2, BatchSize: 32, LR: 5e-5, Schedule: "cosine", Loss: "xent", MaxLen: 512}
}

// Validate reports the first setting out of range (the error names the
// setting, e.g. "learning rate 0: want > 0").
func (h Hyper) Validate() error { return h.validate() }

func (h Hyper) validate() error {
	switch {
	case h.Epochs < 1 && h.MaxSteps < 1:
		return fmt.Errorf("epochs %d: want ≥ 1", h.Epochs)
	case h.BatchSize < 1:
		return fmt.Errorf("batch size %d: want ≥ 1", h.BatchSize)
	case !(h.LR > 0):
		return fmt.Errorf("learning rate %v: want > 0", h.LR)
	case h.MaxLen < 1:
		return fmt.Errorf("max length %d: want ≥ 1", h.MaxLen)
	case h.WarmupFrac < 0 || h.WarmupFrac >= 1:
		return fmt.Errorf("warm-up fraction %v: want 0 ≤ f < 1", h.WarmupFrac)
	}
	switch h.Loss {
	case "xent", "logconf", "product":
	default:
		return fmt.Errorf("loss %q: want xent, logconf or product", h.Loss)
	}
	switch h.Schedule {
	case "cosine", "constant":
	default:
		return fmt.Errorf("schedule %q: want cosine or constant", h.Schedule)
	}
	return nil
}

// Config is one `w2st w2s` invocation.
type Config struct {
	Weak, Strong string   // model specs (preset name or HF folder), as the Learner understands them
	Train        string   // training pool (Parquet)
	Test         string   // main test set (Parquet)
	TrustTests   []string // further test sets for the property's metrics
	Property     string
	Strategies   []Strategy
	Lambda       float64 // regularizer strength λ for the regularized stages
	Seeds        []int64
	Out          string // experiment directory: the stage cache and the summaries
	Force        bool   // recompute every stage
	// Tokenizer is a tokenizer file/folder for data/tokenizer, or "" / "words"
	// for the word-level vocabulary built from the training pool.
	Tokenizer string
	Hyper     Hyper
	// Bootstrap resamples for the confidence intervals (default 10000) and their seed.
	Bootstrap     int
	BootstrapSeed uint64
	// Code identifies the w2st build; stages and the cache are keyed by it.
	Code string
	// Backend describes where models run (recorded in results).
	Backend string
	// Log receives progress lines and warnings (nil: discarded).
	Log io.Writer
}

// Tokenizer turns text into token ids (data/tokenizer.Tokenizer and
// wordtok.Tokenizer satisfy it).
type Tokenizer interface {
	Encode(text string) ([]int32, error)
	VocabSize() int
	PadID() int32
}

// ModelInfo describes a model spec before training.
type ModelInfo struct {
	Spec       string `json:"spec"`
	VocabSize  int    `json:"vocab_size"`
	Parameters int64  `json:"parameters"`
	Describe   string `json:"describe"` // e.g. "GPT-NeoX hidden 16, 2 layers, 2 heads"
}

// TrainSpec is what a training stage asks the Learner to do.
type TrainSpec struct {
	Model       string   `json:"model"`
	Labels      string   `json:"labels"`                // "gt" (hard ground truth) or "soft" (SoftLabel targets)
	Loss        string   `json:"loss"`                  // xent, logconf or product
	Regularizer string   `json:"regularizer,omitempty"` // "" = none
	Lambda      float64  `json:"lambda,omitempty"`
	Seed        int64    `json:"seed"`
	NumLabels   int      `json:"num_labels"`
	Groups      []string `json:"groups,omitempty"` // group names; a row's group index is its position here
	PadID       int32    `json:"pad_id"`
	Hyper       Hyper    `json:"hyper"`
}

// TrainInfo is what a Learner reports about a finished training run.
type TrainInfo struct {
	Steps        int     `json:"steps"`
	Examples     int     `json:"examples"`
	Tokens       int64   `json:"tokens"`
	Seconds      float64 `json:"seconds"`
	TokensPerSec float64 `json:"tokens_per_sec"`
	FinalLoss    float64 `json:"final_loss"`
	Compilations int     `json:"compilations,omitempty"`
}

// Learner trains and runs models. Rows passed to it are tokenized (InputIDs,
// Length set); for Labels "soft" their SoftLabel holds the targets.
type Learner interface {
	// ID identifies the learner implementation and version; it is part of
	// every training stage's cache key.
	ID() string
	// Info describes a model spec (used for the early vocabulary and size checks).
	Info(model string, numLabels int) (ModelInfo, error)
	// Train fits a model on rows and saves it into dir (an empty directory).
	// work is a scratch directory that survives an interrupted run (for
	// checkpoints to resume from); the pipeline removes it once the stage is
	// finished.
	Train(spec TrainSpec, rows []data.Example, dir, work string) (TrainInfo, error)
	// Predict returns class probabilities [len(rows)][NumLabels] from the
	// model that Train saved in dir.
	Predict(spec TrainSpec, dir string, rows []data.Example) ([][]float32, error)
}
