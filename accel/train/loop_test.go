package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/trust"
	"github.com/w2st/w2st/trust/fairness"
)

// initialGradients initialises the tiny model's variables in ctx (seeded) and
// returns the gradient of the mean ground-truth cross-entropy of b at those
// weights, by variable parameter name, computed by a graph of its own.
func initialGradients(t *testing.T, ctx *context.Context, b *data.Batch) map[string][]float32 {
	t.Helper()
	if err := ctx.SetRNGStateFromSeed(7); err != nil {
		t.Fatal(err)
	}
	var names []string
	e, err := context.NewExecAny(testBackend, ctx.Checked(false), func(ctx *context.Context, in []*Node) []*Node {
		bn := batchNodes(in)
		logits := tinyModel(ctx, bn)
		logp := LogSoftmax(logits, -1)
		ce := Neg(ReduceSum(Mul(OneHot(bn.Labels, 2, dtypes.Float32), logp), -1))
		loss := Div(ReduceAllSum(Mul(ce, bn.Mask)), ReduceAllSum(bn.Mask))
		var vars []*context.Variable
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(logits.Graph()) {
				vars = append(vars, v)
			}
		}
		sort.Slice(vars, func(i, j int) bool { return vars[i].ParameterName() < vars[j].ParameterName() })
		nodes := make([]*Node, len(vars))
		names = names[:0]
		for i, v := range vars {
			nodes[i] = v.ValueGraph(logits.Graph())
			names = append(names, v.ScopeAndName())
		}
		return Gradient(loss, nodes...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec(batchTensors(b)...)
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float32{}
	for i, n := range names {
		grads[n] = tensors.MustCopyFlatData[float32](out[i])
	}
	return grads
}

// One AdamW step from hand-derived formulas: at t=1, m̂ = g and v̂ = g², so
// w1 = w0·(1 − lr·wd·decayed) − lr·g/(|g| + ε), with g scaled by the clip factor.
func TestAdamWFirstStepDecayExclusionAndClipping(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2))
	b := makeBatch(r, 8, 7, 5)
	cases := []struct {
		name    string
		wd      float64
		clipDiv float64 // ClipNorm = ‖g‖/clipDiv (0: no clipping)
		eps     float64
		noDecay func(scope, name string, rank int) bool
	}{
		{"plain adam", 0, 0, 0, nil},
		{"decay, biases excluded", 0.5, 0, 0, nil},
		{"decay everything", 0.5, 0, 0, func(string, string, int) bool { return false }},
		{"clipped with large eps", 0.5, 4, 1e-3, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := newCtx()
			initialGradients(t, ctx, b) // creates and initialises the variables
			// Non-zero biases, so that decaying them would show; the gradient is recomputed at the new value.
			for v := range ctx.IterVariables() {
				if v.Name() == "biases" {
					if err := v.SetValue(tensors.FromValue([]float32{0.3, -0.2})); err != nil {
						t.Fatal(err)
					}
				}
			}
			grads := initialGradients(t, ctx, b)
			w0 := varValues(t, ctx)
			var sq float64
			for _, g := range grads {
				for _, x := range g {
					sq += float64(x) * float64(x)
				}
			}
			norm := math.Sqrt(sq)
			scale, clip := 1.0, 0.0
			if c.clipDiv > 0 {
				clip = norm / c.clipDiv
				scale = 1 / c.clipDiv
			}
			eps := c.eps
			if eps == 0 {
				eps = 1e-8
			}
			const lr = 0.01
			logPath := filepath.Join(t.TempDir(), "log.jsonl")
			_, err := Train(testBackend, ctx, tinyModel, &SliceSource{Batches: []*data.Batch{b}},
				Config{LR: lr, WeightDecay: c.wd, Eps: c.eps, ClipNorm: clip, Schedule: ScheduleConstant, MaxSteps: 1,
					Targets: TargetsGT, NoDecay: c.noDecay, LogPath: logPath})
			if err != nil {
				t.Fatal(err)
			}
			w1 := varValues(t, ctx)
			nd := c.noDecay
			if nd == nil {
				nd = DefaultNoDecay
			}
			checked := 0
			for name, g := range grads {
				var v *context.Variable
				for cand := range ctx.IterVariables() {
					if cand.ScopeAndName() == name {
						v = cand
					}
				}
				decay := 0.0
				if c.noDecay == nil {
					// The default: the tiny model's only vector is the head's bias.
					if v.Name() != "biases" {
						decay = c.wd
					}
				} else if !nd(v.Scope(), v.Name(), v.Shape().Rank()) {
					decay = c.wd
				}
				for i := range g {
					gs := float64(g[i]) * scale
					want := float64(w0[name][i])*(1-lr*decay) - lr*gs/(math.Abs(gs)+eps)
					if d := math.Abs(float64(w1[name][i]) - want); d > 2e-6 {
						t.Fatalf("%s[%d]: w1 = %.8g, want %.8g (w0 %.8g, g %.6g, decay %g)", name, i, w1[name][i], want, w0[name][i], g[i], decay)
					}
					checked++
				}
			}
			if checked < tinyVocab*tinyDim {
				t.Fatalf("only %d values checked", checked)
			}
			logs := readLog(t, logPath)
			if math.Abs(logs[0].GradNorm-norm) > 1e-5*norm {
				t.Fatalf("logged grad norm %g, independent %g", logs[0].GradNorm, norm)
			}
		})
	}
}

func TestDefaultNoDecay(t *testing.T) {
	for _, c := range []struct {
		name string
		rank int
		want bool
	}{{"biases", 1, true}, {"gain", 1, true}, {"weights", 2, false}, {"embeddings", 2, false}, {"scalar", 0, true}} {
		if got := DefaultNoDecay("/m", c.name, c.rank); got != c.want {
			t.Errorf("DefaultNoDecay(%s rank %d) = %v", c.name, c.rank, got)
		}
	}
}

func maxDiff(t *testing.T, a, b map[string][]float32, prefix string) float64 {
	t.Helper()
	var d float64
	n := 0
	for name, va := range a {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		vb, ok := b[name]
		if !ok || len(vb) != len(va) {
			t.Fatalf("variable %s missing or resized", name)
		}
		for i := range va {
			d = math.Max(d, math.Abs(float64(va[i])-float64(vb[i])))
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no variables under %q", prefix)
	}
	return d
}

func TestGradientAccumulationEqualsBigBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	micro := make([]*data.Batch, 8)
	for i := range micro {
		real := 4
		if i == 3 || i == 7 {
			real = 2 // masked padding rows inside the effective batch
		}
		micro[i] = makeBatch(r, 4, real, 6)
	}
	big := []*data.Batch{concatBatches(micro[:4]), concatBatches(micro[4:])}
	for _, loss := range []string{LossXent, LossLogconf, LossProduct} {
		t.Run(loss, func(t *testing.T) {
			cfg := Config{LR: 0.05, WeightDecay: 0.1, Epochs: 3, WarmupFrac: 0.2, ClipNorm: 0.5, Loss: loss, Seed: 3}
			ctxA, ctxB := newCtx(), newCtx()
			cfgA := cfg
			cfgA.AccumSteps = 4
			resA, err := Train(testBackend, ctxA, tinyModel, &SliceSource{Batches: micro}, cfgA)
			if err != nil {
				t.Fatal(err)
			}
			resB, err := Train(testBackend, ctxB, tinyModel, &SliceSource{Batches: big}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if resA.Steps != 6 || resB.Steps != 6 {
				t.Fatalf("steps %d and %d, want 6", resA.Steps, resB.Steps)
			}
			// accumulate + apply (+ the logconf forward) at one shape.
			if want := map[bool]int{true: 3, false: 2}[loss == LossLogconf]; resA.Compilations != want {
				t.Fatalf("%d graphs with accumulation, want %d", resA.Compilations, want)
			}
			if d := maxDiff(t, varValues(t, ctxA), varValues(t, ctxB), "/emb"); d > 1e-5 {
				t.Fatalf("accumulated vs big batch: embeddings differ by %g", d)
			}
			if d := maxDiff(t, varValues(t, ctxA), varValues(t, ctxB), "/head"); d > 1e-5 {
				t.Fatalf("accumulated vs big batch: head differs by %g", d)
			}
			if math.Abs(resA.FinalLoss-resB.FinalLoss) > 1e-5 {
				t.Fatalf("final loss %g vs %g", resA.FinalLoss, resB.FinalLoss)
			}
		})
	}
}

// Padding rows, whatever their content, change nothing.
func TestPaddingRowsDoNotContribute(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	b := makeBatch(r, 6, 6, 5)
	padded := makeBatch(r, 8, 6, 5)
	*padded = *concatBatches([]*data.Batch{b, makeBatch(r, 2, 2, 5)})
	padded.Real = 6
	padded.Mask[6], padded.Mask[7] = 0, 0
	for _, loss := range []string{LossXent, LossLogconf} {
		ctxA, ctxB := newCtx(), newCtx()
		cfg := Config{LR: 0.05, MaxSteps: 3, Loss: loss, Seed: 4,
			Regularizers: []trust.Regularizer{fairness.NewDemographicParity(1)}}
		if _, err := Train(testBackend, ctxA, tinyModel, &SliceSource{Batches: []*data.Batch{b}}, cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := Train(testBackend, ctxB, tinyModel, &SliceSource{Batches: []*data.Batch{padded}}, cfg); err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(t, varValues(t, ctxA), varValues(t, ctxB), "/"); d > 1e-6 {
			t.Fatalf("%s: padding rows changed the weights by %g", loss, d)
		}
	}
}

// failingSource fails at one (epoch, index) like a crash mid-run.
type failingSource struct {
	SliceSource
	epoch, at, failEpoch, failAt int
}

var errCrash = errors.New("simulated crash")

func (f *failingSource) Reset(e int) error { f.epoch, f.at = e, 0; return f.SliceSource.Reset(e) }
func (f *failingSource) Next() (*data.Batch, error) {
	if f.epoch == f.failEpoch && f.at == f.failAt {
		return nil, errCrash
	}
	f.at++
	return f.SliceSource.Next()
}

// noiseReg draws from the context's RNG every step (as a noise-based OOD
// regularizer would): the output embedding re-run with Gaussian noise, a
// KL-like consistency term. Resume must restore the RNG state to match.
type noiseReg struct{}

func (noiseReg) Name() string      { return "noise" }
func (noiseReg) Strength() float64 { return 0.3 }
func (noiseReg) Term(ctx *context.Context, in trust.RegInputs) *Node {
	noisy := in.Forward(ctx, func(ctx *context.Context, emb *Node) *Node {
		return Add(emb, MulScalar(ctx.RandomNormal(emb.Graph(), emb.Shape()), 0.1))
	})
	d := Sub(LogSoftmax(noisy, -1), LogSoftmax(in.Logits, -1))
	return ReduceAllMean(Square(d))
}

func TestResumeIsBitIdentical(t *testing.T) {
	batches := tinyBatches(21, 6, 8, 7, 5)
	cfg := Config{LR: 0.05, WeightDecay: 0.1, Epochs: 3, WarmupFrac: 0.2, ClipNorm: 1, AccumSteps: 2,
		Loss: LossLogconf, Seed: 8, CheckpointEvery: 2,
		Regularizers: []trust.Regularizer{fairness.NewDemographicParity(0.5), noiseReg{}}}

	ref := newCtx()
	cfgRef := cfg
	cfgRef.CheckpointDir = filepath.Join(t.TempDir(), "ref")
	if _, err := Train(testBackend, ref, tinyModel, &SliceSource{Batches: batches, Shuffle: true, Seed: 5}, cfgRef); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "ckpt")
	cfgRun := cfg
	cfgRun.CheckpointDir = dir
	cfgRun.Resume = true
	// Epoch 1 (steps 4..6) fails inside step 6: steps 1-5 done, the last checkpoint is step 4.
	crash := &failingSource{SliceSource: SliceSource{Batches: batches, Shuffle: true, Seed: 5}, failEpoch: 1, failAt: 4}
	_, err := Train(testBackend, newCtx(), tinyModel, crash, cfgRun)
	if !errors.Is(err, errCrash) {
		t.Fatalf("want the simulated crash, got %v", err)
	}
	list, err := ListCheckpoints(dir)
	if err != nil || len(list) != 2 || !strings.HasSuffix(list[1], "step-0000000004") {
		t.Fatalf("checkpoints after crash: %v %v", list, err)
	}
	// A save interrupted half-way leaves files only in the staging folder, never a
	// listed checkpoint; resuming ignores and clears them.
	st := filepath.Join(dir, stagingDir)
	if err := os.MkdirAll(st, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st, "checkpoint-n0000000-20261204-000000-step-00000005.json"), []byte(`{"trunc`), 0o644); err != nil {
		t.Fatal(err)
	}
	resumed := newCtx()
	res, err := Train(testBackend, resumed, tinyModel, &SliceSource{Batches: batches, Shuffle: true, Seed: 5}, cfgRun)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 4 || res.Steps != 9 {
		t.Fatalf("resumed from %d, ended at %d; want 4 and 9", res.ResumedFrom, res.Steps)
	}
	a, b := varValues(t, ref), varValues(t, resumed)
	n := 0
	for name, va := range a {
		vb := b[name]
		if len(vb) != len(va) {
			t.Fatalf("%s: missing after resume", name)
		}
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				t.Fatalf("%s[%d]: resumed %v != uninterrupted %v", name, i, vb[i], va[i])
			}
		}
		n++
	}
	if n < 6 { // emb, head weights+biases, and AdamW moments of each
		t.Fatalf("only %d variables compared", n)
	}
	if gs := optimizers.GetGlobalStep(resumed); gs != 9 {
		t.Fatalf("global step %d, want 9", gs)
	}
	// Resuming a finished run does nothing.
	res, err = Train(testBackend, newCtx(), tinyModel, &SliceSource{Batches: batches, Shuffle: true, Seed: 5}, cfgRun)
	if err != nil || res.ResumedFrom != 9 || res.Steps != 9 || res.Tokens != 0 {
		t.Fatalf("resume of a finished run: %+v %v", res, err)
	}
}

// nanAfterHalf is a regularizer that turns NaN once half of training is done.
type nanAfterHalf struct{}

func (nanAfterHalf) Name() string      { return "nan_after_half" }
func (nanAfterHalf) Strength() float64 { return 1 }
func (nanAfterHalf) Term(_ *context.Context, in trust.RegInputs) *Node {
	g := in.Progress.Graph()
	nan := Log(Scalar(g, dtypes.Float32, -1))
	return Where(GreaterOrEqual(in.Progress, Scalar(g, dtypes.Float32, 0.5)), nan, Mul(ReduceAllSum(in.Probs), Scalar(g, dtypes.Float32, 0)))
}

func TestNonFiniteLossStopsAndKeepsLastGoodCheckpoint(t *testing.T) {
	batches := tinyBatches(4, 4, 8, 8, 5)
	dir := filepath.Join(t.TempDir(), "ckpt")
	ctx := newCtx()
	_, err := Train(testBackend, ctx, tinyModel, &SliceSource{Batches: batches},
		Config{LR: 0.05, Epochs: 1, CheckpointDir: dir, CheckpointEvery: 1, Regularizers: []trust.Regularizer{nanAfterHalf{}}})
	// The message covers a finite loss with an overflowing gradient norm too.
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "non-finite loss or gradient norm") ||
		!strings.Contains(err.Error(), "step 3") || !strings.Contains(err.Error(), "step-0000000002") {
		t.Fatalf("want a non-finite error at step 3 naming checkpoint 2, got %v", err)
	}
	list, _ := ListCheckpoints(dir)
	if len(list) == 0 || !strings.HasSuffix(list[len(list)-1], "step-0000000002") {
		t.Fatalf("checkpoints %v: the last should be step 2", list)
	}
	// The weights in ctx were not touched by the bad step: they equal checkpoint 2.
	loaded := newCtx()
	step, found, err := LoadCheckpoint(loaded, dir)
	if err != nil || !found || step != 2 {
		t.Fatalf("load: step %d found %v err %v", step, found, err)
	}
	a, b := varValues(t, ctx), varValues(t, loaded)
	for name, va := range b {
		if strings.HasPrefix(name, stateScope+"/accum") {
			continue
		}
		vb := a[name]
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				t.Fatalf("%s[%d]: %v in ctx after the NaN step, %v in the last checkpoint", name, i, vb[i], va[i])
			}
			if math.IsNaN(float64(vb[i])) {
				t.Fatalf("%s has NaN", name)
			}
		}
	}
}

func TestPredictSkipsPaddingAndKeepsOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	batches := []*data.Batch{makeBatch(r, 4, 4, 5), makeBatch(r, 4, 3, 5)}
	ctx := newCtx()
	probs, ids, err := Predict(testBackend, ctx, tinyModel, &SliceSource{Batches: batches})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]string(nil), batches[0].IDs...), batches[1].IDs...)
	if len(probs) != 7 || fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("%d rows, ids %v; want 7, %v", len(probs), ids, want)
	}
	for i, p := range probs {
		if s := p[0] + p[1]; math.Abs(float64(s)-1) > 1e-6 || p[0] < 0 || p[1] < 0 {
			t.Fatalf("row %d: %v is not a distribution", i, p)
		}
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	good := makeBatch(r, 4, 4, 5)
	bad := makeBatch(r, 4, 4, 5)
	bad.Lengths[2] = 0
	cases := []struct {
		name string
		src  BatchSource
		cfg  Config
		want string
	}{
		{"zero LR", &SliceSource{Batches: []*data.Batch{good}}, Config{}, "LR"},
		{"bad loss", &SliceSource{Batches: []*data.Batch{good}}, Config{LR: 1, Loss: "mse"}, "Loss"},
		{"resume without dir", &SliceSource{Batches: []*data.Batch{good}}, Config{LR: 1, Resume: true}, "CheckpointDir"},
		{"empty source", &SliceSource{}, Config{LR: 1}, "empty"},
		{"zero length row", &SliceSource{Batches: []*data.Batch{bad}}, Config{LR: 1}, "row 2: length 0"},
	}
	for _, c := range cases {
		_, err := Train(testBackend, newCtx(), tinyModel, c.src, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// A model that panics while building its graph gives an error, not a panic.
	_, err := Train(testBackend, newCtx(), func(*context.Context, *BatchNodes) *Node { panic("boom") },
		&SliceSource{Batches: []*data.Batch{good}}, Config{LR: 1})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking model: %v", err)
	}
}

func TestResumeFromCorruptCheckpointFails(t *testing.T) {
	batches := tinyBatches(4, 2, 4, 4, 5)
	dir := filepath.Join(t.TempDir(), "ckpt")
	cfg := Config{LR: 0.01, Epochs: 1, CheckpointDir: dir, Resume: true}
	if _, err := Train(testBackend, newCtx(), tinyModel, &SliceSource{Batches: batches}, cfg); err != nil {
		t.Fatal(err)
	}
	list, _ := ListCheckpoints(dir)
	if len(list) != 1 {
		t.Fatalf("checkpoints %v", list)
	}
	orig := map[string][]byte{}
	for _, suf := range []string{".json", ".bin"} {
		b, err := os.ReadFile(list[0] + suf)
		if err != nil {
			t.Fatal(err)
		}
		orig[suf] = b
	}
	for _, c := range []struct{ suffix, content string }{{".json", `{"Variables": [`}, {".bin", "gomlx_checkpoints\x00junk"}} {
		for suf, b := range orig {
			if err := os.WriteFile(list[0]+suf, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(list[0]+c.suffix, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Train(testBackend, newCtx(), tinyModel, &SliceSource{Batches: batches}, cfg)
		if err == nil || !strings.Contains(err.Error(), "resume") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("corrupt %s: error %v, want a resume error naming %s", c.suffix, err, dir)
		}
	}
}

// TestResumeLogHasEachStepOnce: a run killed after its last checkpoint has
// logged steps that the resumed run computes again; the log of the finished
// run has every step exactly once (and no half-written line).
func TestResumeLogHasEachStepOnce(t *testing.T) {
	batches := tinyBatches(7, 6, 4, 4, 5)
	for _, c := range []struct {
		name      string
		dropLast  int // newest checkpoints removed to simulate the kill
		wantStart int // step the rerun resumes from
	}{
		{"killed after the checkpoint at step 4", 1, 4},
		{"killed before any checkpoint", 2, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			logPath := filepath.Join(dir, "train.jsonl")
			cfg := Config{LR: 0.01, MaxSteps: 6, CheckpointDir: filepath.Join(dir, "ckpt"), CheckpointEvery: 4,
				KeepCheckpoints: -1, Resume: true, LogPath: logPath}
			if _, err := Train(testBackend, newCtx(), tinyModel, &SliceSource{Batches: batches}, cfg); err != nil {
				t.Fatal(err)
			}
			list, _ := ListCheckpoints(cfg.CheckpointDir)
			if len(list) != 2 {
				t.Fatalf("checkpoints %v, want steps 4 and 6", list)
			}
			for _, ck := range list[len(list)-c.dropLast:] {
				for _, suf := range []string{".json", ".bin"} {
					if err := os.Remove(ck + suf); err != nil {
						t.Fatal(err)
					}
				}
			}
			f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(`{"step":7,"epo`); err != nil {
				t.Fatal(err)
			}
			f.Close()
			res, err := Train(testBackend, newCtx(), tinyModel, &SliceSource{Batches: batches}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.ResumedFrom != c.wantStart {
				t.Fatalf("resumed from %d, want %d", res.ResumedFrom, c.wantStart)
			}
			raw, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			var steps []int
			for line := range strings.Lines(string(raw)) {
				var sl StepLog
				if err := json.Unmarshal([]byte(line), &sl); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				steps = append(steps, sl.Step)
			}
			if fmt.Sprint(steps) != "[1 2 3 4 5 6]" {
				t.Errorf("logged steps %v, want [1 2 3 4 5 6]", steps)
			}
		})
	}
}
