package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/w2st/w2st/data"
)

// Result summarises a Train call.
type Result struct {
	Steps          int     `json:"steps"`             // optimizer steps done in total (including before a resume)
	TotalSteps     int     `json:"total_steps"`       // planned steps
	StepsPerEpoch  int     `json:"steps_per_epoch"`   // optimizer steps per pass over the batches
	BatchesPerEp   int     `json:"batches_per_epoch"` // micro-batches per epoch
	ResumedFrom    int     `json:"resumed_from"`      // step of the checkpoint resumed from (0 = fresh start)
	FinalLoss      float64 `json:"final_loss"`        // loss of the last step
	MeanLoss       float64 `json:"mean_loss"`         // mean step loss of this call
	Tokens         int64   `json:"tokens"`            // real tokens processed in this call
	Examples       int64   `json:"examples"`          // real rows processed in this call
	WallSeconds    float64 `json:"wall_seconds"`
	TokensPerSec   float64 `json:"tokens_per_sec"`
	LastCheckpoint string  `json:"last_checkpoint,omitempty"`
	// Compilations counts the distinct graphs built in this call (one per
	// step kind — accumulate, apply, logconf forward — and batch shape).
	Compilations int `json:"compilations"`
}

// StepLog is one line of the JSONL log.
type StepLog struct {
	Step        int                `json:"step"` // 1-based optimizer step
	Epoch       int                `json:"epoch"`
	Loss        float64            `json:"loss"`
	LR          float64            `json:"lr"`
	GradNorm    float64            `json:"grad_norm"`
	Examples    int                `json:"examples"`
	Tokens      int                `json:"tokens"`
	TokensPerS  float64            `json:"tokens_per_s"`
	StepSeconds float64            `json:"step_s"`
	Reg         map[string]float64 `json:"reg,omitempty"`
	LogconfCoef *float64           `json:"logconf_coef,omitempty"`
	Threshold   *float64           `json:"logconf_threshold,omitempty"`
	Checkpoint  string             `json:"checkpoint,omitempty"`
}

// ErrNonFinite is wrapped by the error Train returns when a step's loss or
// gradient norm is NaN or ±Inf.
var ErrNonFinite = errors.New("non-finite loss or gradient norm")

// Train trains the model's variables in ctx on the batches of src (see the
// package doc for the loss, optimizer and schedule). Graph-building panics
// (e.g. a bad model or regularizer) are returned as errors.
func Train(backend backends.Backend, ctx *context.Context, model ModelFn, src BatchSource, cfg Config) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: %v", r)
		}
	}()
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if backend == nil || ctx == nil || model == nil || src == nil {
		return nil, errors.New("train: backend, ctx, model and batch source are required")
	}
	t := &trainer{backend: backend, ctx: ctx.Checked(false), model: model, src: src, cfg: cfg}
	return t.run()
}

type trainer struct {
	backend backends.Backend
	ctx     *context.Context
	model   ModelFn
	src     BatchSource
	cfg     Config

	applyExec, accumExec, fwdExec *context.Exec
	ckpt                          *checkpointer
	accVars                       []*context.Variable
	shapes                        map[[3]int]bool // (exec kind, size, seq len) seen
}

// exec runs e (kind 0 apply, 1 accumulate, 2 forward) on b's tensors plus extra inputs.
func (t *trainer) exec(kind int, e *context.Exec, b *data.Batch, extra ...any) ([]*tensors.Tensor, error) {
	if t.shapes == nil {
		t.shapes = map[[3]int]bool{}
	}
	t.shapes[[3]int{kind, b.Size, b.SeqLen}] = true
	return e.Exec(append(batchTensors(b), extra...)...)
}

func (t *trainer) run() (*Result, error) {
	cfg := t.cfg
	nb, err := countBatches(t.src)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if nb == 0 {
		return nil, errors.New("train: the batch source is empty")
	}
	spe := (nb + cfg.AccumSteps - 1) / cfg.AccumSteps
	total := cfg.MaxSteps
	if total == 0 {
		total = cfg.Epochs * spe
	}
	res := &Result{TotalSteps: total, StepsPerEpoch: spe, BatchesPerEp: nb}

	start := 0
	if cfg.Resume {
		step, found, err := LoadCheckpoint(t.ctx, cfg.CheckpointDir)
		if err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if found {
			if step < 0 || int(step) > total {
				return nil, fmt.Errorf("train: resume: checkpoint in %s is at step %d, beyond the planned %d steps", cfg.CheckpointDir, step, total)
			}
			start = int(step)
			res.ResumedFrom, res.Steps = start, start
		}
	}
	if start == 0 {
		if err := t.ctx.SetRNGStateFromSeed(cfg.Seed); err != nil {
			return nil, fmt.Errorf("train: seeding RNG: %w", err)
		}
	}
	if cfg.CheckpointDir != "" {
		t.ckpt, err = newCheckpointer(t.ctx, cfg.CheckpointDir, cfg.KeepCheckpoints)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if err := t.buildExecs(); err != nil {
		return nil, err
	}
	defer t.finalize()

	var logW io.WriteCloser
	if cfg.LogPath != "" {
		if cfg.Resume {
			if err := trimLog(cfg.LogPath, start); err != nil {
				return nil, fmt.Errorf("train: resume: %w", err)
			}
		}
		f, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("train: opening log: %w", err)
		}
		logW = f
		defer f.Close()
	}
	prog := newProgress(cfg.Progress, total, start, cfg.ProgressEvery)
	defer prog.finish()

	began := time.Now()
	var lossSum float64
	epoch, posInEpoch := -1, 0
	for s := start; s < total; s++ {
		stepStart := time.Now()
		e, k := s/spe, s%spe
		if e != epoch || posInEpoch != k*cfg.AccumSteps {
			if err := t.src.Reset(e); err != nil {
				return res, fmt.Errorf("train: epoch %d: %w", e, err)
			}
			epoch, posInEpoch = e, 0
			for posInEpoch < k*cfg.AccumSteps {
				if _, err := t.src.Next(); err != nil {
					return res, fmt.Errorf("train: epoch %d: skipping to batch %d: %w", e, k*cfg.AccumSteps, err)
				}
				posInEpoch++
			}
		}
		micro := make([]*data.Batch, 0, cfg.AccumSteps)
		for len(micro) < cfg.AccumSteps {
			b, err := t.src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return res, fmt.Errorf("train: epoch %d batch %d: %w", e, posInEpoch, err)
			}
			if err := checkBatch(b, 0); err != nil {
				return res, fmt.Errorf("train: epoch %d batch %d: %w", e, posInEpoch, err)
			}
			micro = append(micro, b)
			posInEpoch++
		}
		if len(micro) == 0 {
			return res, fmt.Errorf("train: epoch %d ended after %d batches, but %d were counted", e, posInEpoch, nb)
		}
		sl, err := t.step(s, total, micro)
		if err != nil {
			return res, err
		}
		sl.Epoch = e
		sl.StepSeconds = time.Since(stepStart).Seconds()
		if sl.StepSeconds > 0 {
			sl.TokensPerS = float64(sl.Tokens) / sl.StepSeconds
		}
		res.Steps = s + 1
		res.FinalLoss = sl.Loss
		lossSum += sl.Loss
		res.Tokens += int64(sl.Tokens)
		res.Examples += int64(sl.Examples)
		if err := optimizers.GetGlobalStepVar(t.ctx.InAbsPath("/")).SetValue(tensors.FromValue(int64(s + 1))); err != nil {
			return res, fmt.Errorf("train: setting global step: %w", err)
		}
		if t.ckpt != nil && ((cfg.CheckpointEvery > 0 && (s+1)%cfg.CheckpointEvery == 0) || s+1 == total) {
			p, err := t.ckpt.save(s + 1)
			if err != nil {
				return res, fmt.Errorf("train: %w", err)
			}
			res.LastCheckpoint, sl.Checkpoint = p, p
		}
		if logW != nil {
			line, _ := json.Marshal(sl)
			if _, err := logW.Write(append(line, '\n')); err != nil {
				return res, fmt.Errorf("train: writing log %s: %w", cfg.LogPath, err)
			}
		}
		prog.step(sl, time.Since(began))
	}
	if n := res.Steps - start; n > 0 {
		res.MeanLoss = lossSum / float64(n)
	}
	res.WallSeconds = time.Since(began).Seconds()
	res.Compilations = len(t.shapes)
	if res.WallSeconds > 0 {
		res.TokensPerSec = float64(res.Tokens) / res.WallSeconds
	}
	if res.LastCheckpoint == "" && t.ckpt != nil && start == total && total > 0 {
		if list, _ := ListCheckpoints(cfg.CheckpointDir); len(list) > 0 {
			res.LastCheckpoint = list[len(list)-1]
		}
	}
	return res, nil
}

func (t *trainer) buildExecs() error {
	var err error
	mk := func(apply bool) (*context.Exec, error) {
		sg := &stepGraph{cfg: t.cfg, model: t.model, accum: t.cfg.AccumSteps > 1, apply: apply,
			onState: func(vs []*context.Variable) { t.accVars = vs }}
		e, err := context.NewExecAny(t.backend, t.ctx, sg.build)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return e.WithName(fmt.Sprintf("w2st_train_step_apply=%v", apply)), nil
	}
	if t.applyExec, err = mk(true); err != nil {
		return err
	}
	if t.cfg.AccumSteps > 1 {
		if t.accumExec, err = mk(false); err != nil {
			return err
		}
	}
	if t.cfg.Loss == LossLogconf {
		if t.fwdExec, err = context.NewExecAny(t.backend, t.ctx, forwardGraph(t.model)); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return nil
}

func (t *trainer) finalize() {
	if t.ckpt != nil {
		_ = os.Remove(filepath.Join(t.ckpt.dir, stagingDir)) // only when empty
	}
	for _, e := range []*context.Exec{t.applyExec, t.accumExec, t.fwdExec} {
		if e != nil {
			e.Finalize()
		}
	}
}

// batchTensors converts the batch's six inputs.
func batchTensors(b *data.Batch) []any {
	return []any{
		tensors.FromFlatDataAndDimensions(b.Tokens, b.Size, b.SeqLen),
		tensors.FromFlatDataAndDimensions(b.Lengths, b.Size),
		tensors.FromFlatDataAndDimensions(b.Labels, b.Size),
		tensors.FromFlatDataAndDimensions(b.SoftLabels, b.Size, b.Classes),
		tensors.FromFlatDataAndDimensions(b.Groups, b.Size),
		tensors.FromFlatDataAndDimensions(b.Mask, b.Size),
	}
}

// targetRow returns the training target distribution of row i.
func (t *trainer) targetRow(b *data.Batch, i int) []float32 {
	if t.cfg.Targets == TargetsGT {
		row := make([]float32, b.Classes)
		row[b.Labels[i]] = 1
		return row
	}
	return b.SoftLabels[i*b.Classes : (i+1)*b.Classes]
}

// step runs one optimizer step over the micro-batches.
func (t *trainer) step(s, total int, micro []*data.Batch) (*StepLog, error) {
	cfg := t.cfg
	sl := &StepLog{Step: s + 1}
	var nEff float64
	for _, b := range micro {
		for i := 0; i < b.Size; i++ {
			if b.Mask[i] != 0 {
				nEff += float64(b.Mask[i])
				sl.Examples++
				sl.Tokens += int(b.Lengths[i])
			}
		}
	}
	invN := 0.0
	if nEff > 0 {
		invN = 1 / nEff
	}
	frac := float64(s) / float64(total)
	lr := LearningRate(cfg.LR, cfg.Schedule, cfg.WarmupFrac, s, total)
	tt := float64(s + 1)
	stepSize := lr / (1 - math.Pow(cfg.Beta1, tt))
	sqrtBc2 := math.Sqrt(1 - math.Pow(cfg.Beta2, tt))
	sl.LR = lr
	coef, thr := 0.0, 0.0
	if cfg.Loss == LossLogconf {
		var p0, t1 []float64
		for mi, b := range micro {
			if b.Classes != 2 {
				return nil, fmt.Errorf("train: step %d: logconf needs 2 classes, the batch has %d", s+1, b.Classes)
			}
			out, err := t.exec(2, t.fwdExec, b)
			if err != nil {
				return nil, fmt.Errorf("train: step %d micro-batch %d: logconf forward: %w", s+1, mi, err)
			}
			lp := tensors.MustCopyFlatData[float32](out[0])
			for i := 0; i < b.Size; i++ {
				if b.Mask[i] != 0 {
					p0 = append(p0, math.Exp(float64(lp[i*2])))
					t1 = append(t1, float64(t.targetRow(b, i)[1]))
				}
			}
		}
		coef = LogconfWeight(cfg.LogconfCoef, cfg.LogconfWarmup, frac)
		if len(p0) > 0 {
			thr = LogconfThreshold(p0, t1)
		}
		sl.LogconfCoef, sl.Threshold = &coef, &thr
	}
	regW := 1 / float64(len(micro))
	regSums := make([]float64, len(cfg.Regularizers))
	for mi, b := range micro {
		kind, exec := 0, t.applyExec
		if mi < len(micro)-1 {
			kind, exec = 1, t.accumExec
		}
		out, err := t.exec(kind, exec, b, float32(invN), float32(regW), float32(frac), float32(coef), float32(thr),
			float32(lr), float32(stepSize), float32(sqrtBc2))
		if err != nil {
			return nil, fmt.Errorf("train: step %d micro-batch %d: %w", s+1, mi, err)
		}
		if t.ckpt != nil && len(t.accVars) > 0 {
			t.ckpt.h.ExcludeVarsFromSaving(t.accVars...)
		}
		sl.Loss += float64(out[0].Value().(float32))
		if mi == len(micro)-1 {
			sl.GradNorm = float64(out[1].Value().(float32))
		}
		for i := range cfg.Regularizers {
			regSums[i] += float64(out[2+i].Value().(float32)) * regW
		}
	}
	if len(cfg.Regularizers) > 0 {
		sl.Reg = make(map[string]float64, len(cfg.Regularizers))
		for i, r := range cfg.Regularizers {
			sl.Reg[r.Name()] = regSums[i]
		}
	}
	if !isFinite(sl.Loss) || !isFinite(sl.GradNorm) {
		last := "none"
		if cfg.CheckpointDir != "" {
			if list, _ := ListCheckpoints(cfg.CheckpointDir); len(list) > 0 {
				last = list[len(list)-1]
			}
		}
		return nil, fmt.Errorf("train: step %d: %w (loss=%g, grad norm=%g); the weights were not updated by this step; last good checkpoint: %s",
			s+1, ErrNonFinite, sl.Loss, sl.GradNorm, last)
	}
	return sl, nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// trimLog keeps the lines of the JSONL step log at path up to step upTo (the
// checkpoint a run resumes from): the steps a killed run logged after its last
// checkpoint are recomputed and logged again, and must not appear twice. A
// line that does not decode (the half-written last line of a killed run) is
// dropped. The file is replaced through a temporary file and a rename.
func trimLog(path string, upTo int) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the log: %w", err)
	}
	var kept []byte
	for line := range bytes.Lines(raw) {
		var sl struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(line, &sl) == nil && sl.Step != nil && *sl.Step <= upTo {
			kept = append(kept, bytes.TrimRight(line, "\n")...)
			kept = append(kept, '\n')
		}
	}
	if len(kept) == len(raw) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("trimming the log %s: %w", path, err)
	}
	_, werr := tmp.Write(kept)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("trimming the log %s: %w", path, werr)
	}
	return nil
}
