// Package train is w2st's training loop for classifiers built with GoMLX:
// AdamW with decoupled weight decay (not applied to biases and normalization
// parameters), linear warm-up then cosine or constant learning rate,
// global-norm gradient clipping, gradient accumulation, the weak-to-strong
// losses (xent, logconf, product), trust regularizers (trust.Regularizer),
// atomic checkpoints with bit-exact resume on CPU, a per-step JSONL log and a
// progress display; plus prediction and evaluation (accuracy, ROC AUC, loss,
// ECE).
//
// The loop is model-agnostic: the model is a ModelFn that maps the batch's
// nodes to logits [B,C].
//
// # Losses
//
// All losses are means over the real rows of the effective batch (the
// AccumSteps micro-batches of one optimizer step): padding rows (Mask 0) do
// not contribute. With targets t (the batch's SoftLabels, or one-hot Labels
// with Targets "gt") and p = softmax(logits):
//
//	xent     ℓ = −Σ_c t_c log p_c                                  (soft-label cross-entropy)
//	product  ℓ = −Σ_c q_c log p_c, q = normalize(p^β · t^α), α=β=1, q without gradient
//	logconf  ℓ = −Σ_c q_c log p_c, q = (1−a)·t + a·h, h without gradient,
//	         h = one-hot of the hardened strong prediction: class 0 when p_0 ≥ θ, else class 1,
//	         θ = the q-quantile (linear interpolation, as torch.quantile) of p_0 over the real rows
//	             of the effective batch, with q = the mean of t_1 over those rows (the weak labels'
//	             prior of class 1), so that the fraction of rows hardened to class 1 matches it;
//	         a = LogconfCoef · min(1, f / LogconfWarmup), f = (steps done before this one)/(total steps),
//	             LogconfCoef 0.5 and LogconfWarmup 0.1 by default.
//
// logconf is binary only. θ is computed on the host from a forward pass over
// all micro-batches of the step before the gradient pass (so it is the
// effective batch's statistic, identical with and without accumulation); it
// costs one extra forward pass per step. The public reference code of Burns
// et al. writes the warm-up as a = 0.5·f for f ≤ 0.1 and 0.5 afterwards (a jump
// from 0.05 to 0.5); we use the continuous linear warm-up that our protocol
// (PAPER.md, issue 5) specifies.
//
// Regularizers are evaluated per micro-batch and averaged over the step's
// micro-batches: loss = mean ℓ + Σ_r λ_r · mean_micro Term_r. A batch-level
// term (e.g. the demographic-parity gap) is therefore a micro-batch statistic
// under accumulation.
//
// # Optimizer
//
// AdamW exactly as torch.optim.AdamW: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
// w ← w·(1 − lr·wd) − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε), with wd = 0 for the
// variables NoDecay selects (by default: every variable of rank ≤ 1, i.e.
// biases, LayerNorm gains and offsets). g is the sum of the micro-batch
// gradients, scaled by min(1, ClipNorm/(‖g‖₂+1e-6)) when ClipNorm > 0 (global norm
// over all trainable variables). A step whose loss or gradient norm is not
// finite leaves every variable unchanged and stops training with an error.
//
// Memory: AdamW keeps two float32 moments per trainable value (under the
// context scope /w2st_train); AccumSteps > 1 adds one float32 accumulator per
// value, which is zero between steps and not checkpointed.
//
// # Checkpoints and resume
//
// Checkpoints (GoMLX format, see checkpoint.go) hold every variable of the
// context, the AdamW moments, the RNG state and the global step. Resume loads
// the newest one and replays the data order: step s uses epoch s/S (S steps
// per epoch) from micro-batch (s mod S)·AccumSteps, so a BatchSource whose
// epoch order depends only on the epoch index gives, on CPU, bit-identical
// weights to an uninterrupted run.
//
// # Schedule
//
// With T total steps and W = round(WarmupFrac·T) warm-up steps, step s (0-based)
// uses lr·(s+1)/W for s < W, then for "cosine" lr·½(1+cos(π(s−W)/(T−W))) and for
// "constant" lr. WarmupFrac 0 gives the reference's plain cosine annealing.
package train

import (
	"fmt"
	"io"

	"github.com/w2st/w2st/trust"
)

// Loss names.
const (
	LossXent    = "xent"
	LossLogconf = "logconf"
	LossProduct = "product"
)

// Schedule names.
const (
	ScheduleCosine   = "cosine"
	ScheduleConstant = "constant"
)

// Target names: which labels the loss trains on.
const (
	TargetsSoft = "soft" // data.Batch.SoftLabels (one-hot of the labels when the data has no soft labels)
	TargetsGT   = "gt"   // one-hot of data.Batch.Labels
)

// Config configures Train. Zero values take the defaults of DefaultConfig
// where noted.
type Config struct {
	LR          float64 // peak learning rate (required, > 0)
	WeightDecay float64 // decoupled weight decay (AdamW), 0 = none
	Beta1       float64 // default 0.9
	Beta2       float64 // default 0.999
	Eps         float64 // default 1e-8
	WarmupFrac  float64 // fraction of steps of linear warm-up, in [0,1)
	Schedule    string  // "cosine" (default) or "constant"
	Epochs      int     // passes over the batches (default 1 when MaxSteps is 0)
	MaxSteps    int     // optimizer steps; when > 0 it overrides Epochs
	ClipNorm    float64 // global gradient-norm clip, 0 = off
	AccumSteps  int     // micro-batches per optimizer step (default 1)
	Loss        string  // "xent" (default), "logconf" or "product"
	Targets     string  // "soft" (default) or "gt"
	// LogconfCoef and LogconfWarmup are logconf's final coefficient (default 0.5)
	// and warm-up fraction of the steps (default 0.1).
	LogconfCoef, LogconfWarmup float64
	// Seed seeds the context's RNG (variable initialisation) when training does
	// not resume from a checkpoint, and the SliceSource shuffles.
	Seed int64
	// CheckpointDir, when set, receives a checkpoint every CheckpointEvery steps
	// (0 = only at the end) and at the end; KeepCheckpoints of them are kept
	// (default 2; -1 keeps all).
	CheckpointDir   string
	CheckpointEvery int
	KeepCheckpoints int
	// Resume continues from the newest checkpoint in CheckpointDir, if any.
	Resume bool
	// LogPath, when set, receives one JSON object per optimizer step (appended).
	LogPath string
	// Progress, when set, receives a progress bar (if it is a terminal) or
	// plain progress lines every ProgressEvery steps (default: T/20).
	Progress      io.Writer
	ProgressEvery int
	// Regularizers are added to the loss (see the package doc).
	Regularizers []trust.Regularizer
	// NoDecay selects the trainable variables that get no weight decay; nil
	// means DefaultNoDecay.
	NoDecay func(scope, name string, rank int) bool
}

// DefaultNoDecay excludes biases and normalization parameters from weight
// decay: every variable of rank ≤ 1 (GoMLX's Dense biases and LayerNorm
// gain/offset, HF's *.bias and *layernorm.weight are all vectors).
func DefaultNoDecay(scope, name string, rank int) bool { return rank <= 1 }

// Validate reports the first invalid field of cfg (after defaults), so that
// callers can fail before loading data.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults returns cfg with defaults filled in, or an error naming the
// first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	c := cfg
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	if c.Schedule == "" {
		c.Schedule = ScheduleCosine
	}
	if c.Loss == "" {
		c.Loss = LossXent
	}
	if c.Targets == "" {
		c.Targets = TargetsSoft
	}
	if c.AccumSteps == 0 {
		c.AccumSteps = 1
	}
	if c.Epochs == 0 && c.MaxSteps == 0 {
		c.Epochs = 1
	}
	if c.LogconfCoef == 0 {
		c.LogconfCoef = 0.5
	}
	if c.LogconfWarmup == 0 {
		c.LogconfWarmup = 0.1
	}
	if c.KeepCheckpoints == 0 {
		c.KeepCheckpoints = 2
	}
	if c.NoDecay == nil {
		c.NoDecay = DefaultNoDecay
	}
	switch {
	case !(c.LR > 0):
		return c, fmt.Errorf("train config: LR must be > 0, got %g", c.LR)
	case c.WeightDecay < 0:
		return c, fmt.Errorf("train config: WeightDecay must be >= 0, got %g", c.WeightDecay)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1:
		return c, fmt.Errorf("train config: betas must be in [0,1), got %g, %g", c.Beta1, c.Beta2)
	case c.WarmupFrac < 0 || c.WarmupFrac >= 1:
		return c, fmt.Errorf("train config: WarmupFrac must be in [0,1), got %g", c.WarmupFrac)
	case c.Schedule != ScheduleCosine && c.Schedule != ScheduleConstant:
		return c, fmt.Errorf("train config: unknown Schedule %q (want cosine or constant)", c.Schedule)
	case c.Epochs < 0 || c.MaxSteps < 0:
		return c, fmt.Errorf("train config: Epochs and MaxSteps must be >= 0")
	case c.ClipNorm < 0:
		return c, fmt.Errorf("train config: ClipNorm must be >= 0, got %g", c.ClipNorm)
	case c.AccumSteps < 1:
		return c, fmt.Errorf("train config: AccumSteps must be >= 1, got %d", c.AccumSteps)
	case c.Loss != LossXent && c.Loss != LossLogconf && c.Loss != LossProduct:
		return c, fmt.Errorf("train config: unknown Loss %q (want xent, logconf or product)", c.Loss)
	case c.Targets != TargetsSoft && c.Targets != TargetsGT:
		return c, fmt.Errorf("train config: unknown Targets %q (want soft or gt)", c.Targets)
	case c.LogconfWarmup < 0 || c.LogconfWarmup > 1:
		return c, fmt.Errorf("train config: LogconfWarmup must be in [0,1], got %g", c.LogconfWarmup)
	case c.CheckpointEvery < 0:
		return c, fmt.Errorf("train config: CheckpointEvery must be >= 0")
	case c.Resume && c.CheckpointDir == "":
		return c, fmt.Errorf("train config: Resume needs CheckpointDir")
	}
	for i, r := range c.Regularizers {
		if r == nil {
			return c, fmt.Errorf("train config: Regularizers[%d] is nil", i)
		}
	}
	return c, nil
}
