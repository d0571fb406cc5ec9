package train

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 GoMLX graph code reads best with a dot import.
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/w2st/w2st/trust"
)

// BatchNodes are the graph nodes of one batch; see trust.BatchNodes.
type BatchNodes = trust.BatchNodes

// ModelFn builds the model's logits [B,C] for a batch. It creates or reuses
// its variables in ctx (which Train and Predict pass unchecked, so variables
// are created on the first graph and reused afterwards). When b.EmbeddingHook
// is not nil the model must apply it to its input-embedding output.
type ModelFn func(ctx *context.Context, b *BatchNodes) *Node

// stateScope is the absolute scope of the training loop's own variables
// (AdamW moments, gradient accumulators).
const stateScope = "/w2st_train"

// Input positions of the train-step graph.
const (
	inTokens = iota
	inLengths
	inLabels
	inSoft
	inGroups
	inMask
	inInvN     // 1 / real rows of the effective batch
	inRegW     // 1 / micro-batches of the step
	inProgress // fraction of training done
	inCoef     // logconf coefficient
	inThr      // logconf threshold
	inLR       // learning rate
	inStepSize // lr / (1-β1^t)
	inSqrtBc2  // sqrt(1-β2^t)
	numInputs
)

// batchNodes wraps the first six graph inputs.
func batchNodes(in []*Node) *BatchNodes {
	return &BatchNodes{Tokens: in[inTokens], Lengths: in[inLengths], Labels: in[inLabels],
		SoftLabels: in[inSoft], Groups: in[inGroups], Mask: in[inMask]}
}

// isStateVar reports whether v is never trained: the loop's own state, the
// global step, the RNG state, or any non-float variable. (Variables
// materialised from a checkpoint come back marked trainable, so the flag
// alone is not enough.)
func isStateVar(v *context.Variable) bool {
	return strings.HasPrefix(v.Scope(), stateScope) || v.Name() == "global_step" ||
		v.Name() == context.RNGStateVariableName || !v.DType().IsFloat()
}

// stepGraph builds the graph of one micro-batch: loss, gradients, and either
// accumulation (apply false) or the clipped AdamW update (apply true).
// Outputs: loss, grad norm (0 when accumulating), then one value per regularizer.
type stepGraph struct {
	cfg     Config
	model   ModelFn
	accum   bool // accumulators exist (AccumSteps > 1)
	apply   bool
	onState func(vs []*context.Variable) // told about the accumulator variables
}

func (sg *stepGraph) build(ctx *context.Context, in []*Node) []*Node {
	g := in[0].Graph()
	ctx.SetTraining(g, true)
	b := batchNodes(in)
	logits := sg.model(ctx, b)
	if logits.Rank() != 2 {
		panic(fmt.Errorf("model returned logits of shape %s, want [batch, classes]", logits.Shape()))
	}
	logits = ConvertDType(logits, dtypes.Float32)
	classes := logits.Shape().Dimensions[1]
	targets := b.SoftLabels
	if sg.cfg.Targets == TargetsGT {
		targets = OneHot(b.Labels, classes, dtypes.Float32)
	}
	per := PerExampleLoss(sg.cfg.Loss, logits, targets, LossInputs{Coef: in[inCoef], Threshold: in[inThr]})
	loss := Mul(ReduceAllSum(Mul(per, b.Mask)), in[inInvN])
	total := loss
	probs := Softmax(logits, -1)
	regVals := make([]*Node, 0, len(sg.cfg.Regularizers))
	for _, r := range sg.cfg.Regularizers {
		term := r.Term(ctx, trust.RegInputs{
			Batch: b, Logits: logits, Probs: probs, Progress: in[inProgress],
			Forward: func(c *context.Context, hook trust.EmbeddingHook) *Node {
				nb := *b
				nb.EmbeddingHook = hook
				return sg.model(c, &nb)
			},
		})
		if term.Shape().Size() != 1 {
			panic(fmt.Errorf("regularizer %q returned shape %s, want a scalar", r.Name(), term.Shape()))
		}
		term = Reshape(ConvertDType(term, dtypes.Float32))
		regVals = append(regVals, term)
		total = Add(total, Mul(MulScalar(term, r.Strength()), in[inRegW]))
	}
	lossOut := total

	var vars []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && !isStateVar(v) && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(vars) == 0 {
		panic(errors.New("the model has no trainable variables in use"))
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].ParameterName() < vars[j].ParameterName() })
	nodes := make([]*Node, len(vars))
	for i, v := range vars {
		nodes[i] = v.ValueGraph(g)
	}
	grads := Gradient(total, nodes...)
	for i := range grads {
		grads[i] = ConvertDType(grads[i], dtypes.Float32)
	}
	var accVars []*context.Variable
	if sg.accum {
		zctx := ctx.InAbsPath(stateScope + "/accum").WithInitializer(initializers.Zero).Checked(false)
		for i, v := range vars {
			acc := zctx.InAbsPath(stateScope+"/accum"+v.Scope()).VariableWithShape(v.Name(), shapes.Make(dtypes.Float32, v.Shape().Dimensions...))
			acc.SetTrainable(false)
			accVars = append(accVars, acc)
			sum := Add(acc.ValueGraph(g), grads[i])
			if sg.apply {
				grads[i] = sum
				acc.SetValueGraph(ZerosLike(sum))
			} else {
				acc.SetValueGraph(sum)
			}
		}
		if sg.onState != nil {
			sg.onState(accVars)
		}
	}
	out := []*Node{lossOut}
	if !sg.apply {
		out = append(out, ScalarZero(g, dtypes.Float32))
		return append(out, regVals...)
	}
	grads, gnorm := ClipByGlobalNorm(grads, sg.cfg.ClipNorm)
	finite := LogicalAnd(IsFinite(lossOut), IsFinite(gnorm))
	adamW(ctx, sg.cfg, vars, grads, finite, in)
	out = append(out, gnorm)
	return append(out, regVals...)
}

// ClipByGlobalNorm returns grads scaled by min(1, clip/(‖grads‖₂ + 1e-6)), as
// torch.nn.utils.clip_grad_norm_, where the norm is over all of them together,
// and that norm (before clipping). A clip <= 0 only computes the norm.
func ClipByGlobalNorm(grads []*Node, clip float64) ([]*Node, *Node) {
	sq := make([]*Node, len(grads))
	for i, gr := range grads {
		sq[i] = ReduceAllSum(Square(ConvertDType(gr, dtypes.Float32)))
	}
	gnorm := Sqrt(AddN(sq))
	if clip <= 0 {
		return grads, gnorm
	}
	g := gnorm.Graph()
	scale := Min(Div(Scalar(g, dtypes.Float32, clip), AddScalar(gnorm, 1e-6)), ScalarOne(g, dtypes.Float32))
	out := make([]*Node, len(grads))
	for i, gr := range grads {
		out[i] = Mul(gr, ConvertDType(scale, gr.DType()))
	}
	return out, gnorm
}

// AddN sums nodes of the same shape.
func AddN(xs []*Node) *Node {
	s := xs[0]
	for _, x := range xs[1:] {
		s = Add(s, x)
	}
	return s
}

// adamW applies the (masked by finite) AdamW update to vars.
func adamW(ctx *context.Context, cfg Config, vars []*context.Variable, grads []*Node, finite *Node, in []*Node) {
	g := finite.Graph()
	f32 := func(x float64) *Node { return Scalar(g, dtypes.Float32, x) }
	b1, b2 := f32(cfg.Beta1), f32(cfg.Beta2)
	one := f32(1)
	zctx := ctx.WithInitializer(initializers.Zero).Checked(false)
	for i, v := range vars {
		shape := shapes.Make(dtypes.Float32, v.Shape().Dimensions...)
		mv := zctx.InAbsPath(stateScope+"/adam_m"+v.Scope()).VariableWithShape(v.Name(), shape).SetTrainable(false)
		vv := zctx.InAbsPath(stateScope+"/adam_v"+v.Scope()).VariableWithShape(v.Name(), shape).SetTrainable(false)
		gr := grads[i]
		m0, v0 := mv.ValueGraph(g), vv.ValueGraph(g)
		// Scalars go on the right: SimpleGo has a fast path only for a scalar rhs.
		m := Add(Mul(m0, b1), Mul(gr, Sub(one, b1)))
		s := Add(Mul(v0, b2), Mul(Square(gr), Sub(one, b2)))
		w0 := v.ValueGraph(g)
		w := ConvertDType(w0, dtypes.Float32)
		if cfg.WeightDecay > 0 && !cfg.NoDecay(v.Scope(), v.Name(), v.Shape().Rank()) {
			w = Mul(w, Sub(one, MulScalar(in[inLR], cfg.WeightDecay)))
		}
		denom := AddScalar(Div(Sqrt(s), in[inSqrtBc2]), cfg.Eps)
		w = Sub(w, Mul(Div(m, denom), in[inStepSize]))
		// A scalar condition: SimpleGo then copies one side whole.
		v.SetValueGraph(Where(finite, ConvertDType(w, w0.DType()), w0))
		mv.SetValueGraph(Where(finite, m, m0))
		vv.SetValueGraph(Where(finite, s, v0))
	}
}

// forwardGraph returns log-probabilities [B,C] of the model (evaluation mode).
func forwardGraph(model ModelFn) func(ctx *context.Context, in []*Node) *Node {
	return func(ctx *context.Context, in []*Node) *Node {
		logits := model(ctx, batchNodes(in))
		if logits.Rank() != 2 {
			panic(fmt.Errorf("model returned logits of shape %s, want [batch, classes]", logits.Shape()))
		}
		return LogSoftmax(ConvertDType(logits, dtypes.Float32), -1)
	}
}
