//lint:file-ignore ST1001 GoMLX graph code reads best with the graph package dot-imported.

package neox

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// ForwardOptions are the knobs of the forward graph.
type ForwardOptions struct {
	// DType is the compute dtype: Float32 (the default, also for the zero
	// value) or BFloat16 (matmuls and activations in bf16; master weights,
	// LayerNorm statistics, softmax and logits stay float32).
	DType dtypes.DType
	// EmbeddingHook, if set, receives the input-embedding output [B,S,H]
	// (compute dtype) and returns the node the model continues with; it may
	// perturb it or keep it to differentiate with respect to it.
	EmbeddingHook func(ctx *context.Context, emb *Node) *Node
	// DenseHook, if set, sees every dense (linear) layer's input x [B,S,in]
	// (or [B,in] for "score") and output y (bias included), named by the HF
	// module path, e.g. "gpt_neox.layers.0.attention.query_key_value".
	DenseHook func(name string, x, y *Node)
}

// maskValue is added to the attention scores of masked keys (exp gives exactly 0).
const maskValue = -1e30

// Logits builds the classifier's forward graph: tokens int32 [B,S], right
// padded with any id, lengths int32 [B] (each in [1,S]), giving float32 logits
// [B,NumLabels] from the hidden state at position lengths-1. Variables are
// created in ctx under the HF names (random normal·InitializerRange for
// weights, zeros for biases and the score head, ones for LayerNorm gains)
// unless they already exist (e.g. from LoadWeights). Token ids must be in
// [0, VocabSize). Like all GoMLX graph builders it panics on invalid input.
func Logits(ctx *context.Context, cfg Config, tokens, lengths *Node, opts ForwardOptions) *Node {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	dt := opts.DType
	if dt == dtypes.InvalidDType {
		dt = dtypes.Float32
	}
	if dt != dtypes.Float32 && dt != dtypes.BFloat16 {
		panic(fmt.Errorf("neox.Logits: compute dtype %s not supported (want Float32 or BFloat16)", dt))
	}
	if tokens.Rank() != 2 || lengths.Rank() != 1 || lengths.Shape().Dimensions[0] != tokens.Shape().Dimensions[0] {
		panic(fmt.Errorf("neox.Logits: want tokens [B,S] and lengths [B], got %s and %s", tokens.Shape(), lengths.Shape()))
	}
	batch, seq := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	if seq > cfg.MaxPositions {
		panic(fmt.Errorf("neox.Logits: sequence length %d exceeds max_position_embeddings %d", seq, cfg.MaxPositions))
	}
	g := tokens.Graph()
	m := &model{g: g, cfg: cfg, dt: dt, opts: opts}
	ctx = ctx.Checked(false)
	base := ctx.In("gpt_neox")

	// Embedding lookup.
	table := m.weight(base.In("embed_in"), "weight", cfg.VocabSize, cfg.HiddenSize)
	tok := ConvertDType(tokens, dtypes.Int32)
	x := Gather(table, ExpandAxes(tok, -1)) // [B,S,H] f32
	x = ConvertDType(x, dt)
	if opts.EmbeddingHook != nil {
		x = opts.EmbeddingHook(ctx, x)
	}

	lens := ConvertDType(lengths, dtypes.Int32)
	// Attention bias [B,1,S,S]: 0 where key k <= query q and k < length, else maskValue.
	qPos := Iota(g, shapes.Make(dtypes.Int32, batch, 1, seq, seq), 2)
	kPos := Iota(g, shapes.Make(dtypes.Int32, batch, 1, seq, seq), 3)
	lenB := BroadcastToDims(Reshape(lens, batch, 1, 1, 1), batch, 1, seq, seq)
	allowed := And(LessOrEqual(kPos, qPos), LessThan(kPos, lenB))
	attnBias := Where(allowed, Zeros(g, shapes.Make(dtypes.Float32, batch, 1, seq, seq)),
		BroadcastToDims(Scalar(g, dtypes.Float32, maskValue), batch, 1, seq, seq))
	cos, sin := m.rotaryTables(g, seq)

	layers := base.In("layers")
	for l := 0; l < cfg.NumLayers; l++ {
		x = m.block(layers.In(strconv.Itoa(l)), "gpt_neox.layers."+strconv.Itoa(l), x, attnBias, cos, sin)
	}
	x = m.layerNorm(base.In("final_layer_norm"), x)

	// Pool the last real token: one-hot(lengths-1) · hidden.
	last := BroadcastToDims(ExpandAxes(SubScalar(lens, 1), -1), batch, seq)
	sel := Equal(Iota(g, shapes.Make(dtypes.Int32, batch, seq), 1), last)
	pooled := Einsum("bs,bsh->bh", ConvertDType(sel, dt), x)
	logits := m.dense(ctx.In("score"), "score", pooled, cfg.NumLabels, false, true)
	return ConvertDType(logits, dtypes.Float32)
}

// model holds what the graph-building helpers share.
type model struct {
	g    *Graph
	cfg  Config
	dt   dtypes.DType
	opts ForwardOptions
}

// weight returns a normal-initialised f32 variable of the given shape as a node.
func (m *model) weight(ctx *context.Context, name string, dims ...int) *Node {
	std := m.cfg.InitializerRange
	init := func(g *Graph, shape shapes.Shape) *Node {
		return MulScalar(ctx.RandomNormal(g, shapes.Make(dtypes.Float32, shape.Dimensions...)), std)
	}
	return ctx.WithInitializer(init).VariableWithShape(name, shapes.Make(dtypes.Float32, dims...)).ValueGraph(m.g)
}

// constVar returns a f32 variable initialised with a constant (0 or 1).
func (m *model) constVar(ctx *context.Context, name string, value float64, dims ...int) *Node {
	init := func(g *Graph, shape shapes.Shape) *Node {
		return BroadcastToDims(Scalar(g, dtypes.Float32, value), shape.Dimensions...)
	}
	return ctx.WithInitializer(init).VariableWithShape(name, shapes.Make(dtypes.Float32, dims...)).ValueGraph(m.g)
}

// dense is HF's nn.Linear with weight [out,in] (and bias [out]) applied to the last axis of x.
func (m *model) dense(ctx *context.Context, name string, x *Node, out int, bias bool, zeroInit bool) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	var w *Node
	if zeroInit {
		w = m.constVar(ctx, "weight", 0, out, in)
	} else {
		w = m.weight(ctx, "weight", out, in)
	}
	// Flatten the leading axes so the matmul and its gradients are plain 2-D GEMMs.
	x2 := x
	if x.Rank() != 2 {
		x2 = Reshape(x, -1, in)
	}
	y := DotGeneral(x2, []int{1}, nil, ConvertDType(w, m.dt), []int{1}, nil)
	if x.Rank() != 2 {
		dims := append([]int(nil), x.Shape().Dimensions...)
		dims[len(dims)-1] = out
		y = Reshape(y, dims...)
	}
	if bias {
		b := m.constVar(ctx, "bias", 0, out)
		y = Add(y, lastAxis(ConvertDType(b, m.dt), y.Rank()))
	}
	if m.opts.DenseHook != nil {
		m.opts.DenseHook(name, x, y)
	}
	return y
}

// layerNorm normalises the last axis in f32 with gain "weight" and offset "bias".
func (m *model) layerNorm(ctx *context.Context, x *Node) *Node {
	h := m.cfg.HiddenSize
	w := m.constVar(ctx, "weight", 1, h)
	b := m.constVar(ctx, "bias", 0, h)
	xf := ConvertDType(x, dtypes.Float32)
	mean := ReduceAndKeep(xf, ReduceMean, -1)
	centered := Sub(xf, mean)
	variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
	y := Div(centered, Sqrt(AddScalar(variance, m.cfg.LayerNormEps)))
	y = Add(Mul(y, lastAxis(w, y.Rank())), lastAxis(b, y.Rank()))
	return ConvertDType(y, m.dt)
}

// lastAxis reshapes a vector [n] to rank dims [1,…,1,n] for broadcasting.
func lastAxis(v *Node, rank int) *Node {
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[rank-1] = v.Shape().Dimensions[0]
	return Reshape(v, dims...)
}

// gelu is the exact GELU, x·½·(1+erf(x/√2)), computed in f32.
func gelu(x *Node) *Node {
	dt := x.DType()
	xf := ConvertDType(x, dtypes.Float32)
	y := Mul(MulScalar(xf, 0.5), OnePlus(Erf(MulScalar(xf, 1/math.Sqrt2))))
	return ConvertDType(y, dt)
}

// rotaryTables returns cos and sin [S, rot] (f32) of HF's rotary embedding:
// inv_freq_i = base^(-2i/rot), angle = pos·inv_freq, duplicated (cat(f,f)).
func (m *model) rotaryTables(g *Graph, seq int) (cos, sin *Node) {
	rot := m.cfg.RotaryDims()
	if rot == 0 {
		return nil, nil
	}
	c := make([]float32, seq*rot)
	s := make([]float32, seq*rot)
	half := rot / 2
	for p := 0; p < seq; p++ {
		for i := 0; i < half; i++ {
			invFreq := float32(1 / math.Pow(m.cfg.RotaryBase, float64(2*i)/float64(rot)))
			angle := float64(float32(p) * invFreq)
			cv, sv := float32(math.Cos(angle)), float32(math.Sin(angle))
			c[p*rot+i], c[p*rot+half+i] = cv, cv
			s[p*rot+i], s[p*rot+half+i] = sv, sv
		}
	}
	cos = Reshape(Const(g, c), 1, seq, 1, rot)
	sin = Reshape(Const(g, s), 1, seq, 1, rot)
	return cos, sin
}

// applyRotary rotates the first rot dims of x [B,S,heads,hd] (rotate-half convention).
func (m *model) applyRotary(x, cos, sin *Node) *Node {
	rot := m.cfg.RotaryDims()
	hd := m.cfg.HeadSize()
	if rot == 0 {
		return x
	}
	all := AxisRange()
	xr := Slice(x, all, all, all, AxisRange(0, rot))
	x1 := Slice(xr, all, all, all, AxisRange(0, rot/2))
	x2 := Slice(xr, all, all, all, AxisRange(rot/2, rot))
	rotated := Concatenate([]*Node{Neg(x2), x1}, 3)
	xf := ConvertDType(xr, dtypes.Float32)
	out := Add(Mul(xf, cos), Mul(ConvertDType(rotated, dtypes.Float32), sin))
	out = ConvertDType(out, x.DType())
	if rot == hd {
		return out
	}
	return Concatenate([]*Node{out, Slice(x, all, all, all, AxisRange(rot, hd))}, 3)
}

// attention is GPT-NeoX's self-attention on the normalised input x [B,S,H].
func (m *model) attention(ctx *context.Context, name string, x, attnBias, cos, sin *Node) *Node {
	cfg := m.cfg
	b, s := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	nh, hd := cfg.NumHeads, cfg.HeadSize()
	qkv := m.dense(ctx.In("query_key_value"), name+".query_key_value", x, 3*cfg.HiddenSize, cfg.AttentionBias, false)
	qkv = Reshape(qkv, b, s, nh, 3*hd)
	all := AxisRange()
	q := Slice(qkv, all, all, all, AxisRange(0, hd))
	k := Slice(qkv, all, all, all, AxisRange(hd, 2*hd))
	v := Slice(qkv, all, all, all, AxisRange(2*hd, 3*hd))
	q = m.applyRotary(q, cos, sin)
	k = m.applyRotary(k, cos, sin)
	scores := Einsum("bqhd,bkhd->bhqk", q, k)
	scores = MulScalar(ConvertDType(scores, dtypes.Float32), 1/math.Sqrt(float64(hd)))
	scores = Add(scores, attnBias)
	probs := ConvertDType(Softmax(scores, -1), m.dt)
	ctxv := Einsum("bhqk,bkhd->bqhd", probs, v)
	ctxv = Reshape(ctxv, b, s, cfg.HiddenSize)
	return m.dense(ctx.In("dense"), name+".dense", ctxv, cfg.HiddenSize, cfg.AttentionBias, false)
}

// mlp is dense_h_to_4h → GELU → dense_4h_to_h.
func (m *model) mlp(ctx *context.Context, name string, x *Node) *Node {
	h := m.dense(ctx.In("dense_h_to_4h"), name+".dense_h_to_4h", x, m.cfg.IntermediateSize, true, false)
	h = gelu(h)
	return m.dense(ctx.In("dense_4h_to_h"), name+".dense_4h_to_h", h, m.cfg.HiddenSize, true, false)
}

// block is one GPT-NeoX layer (parallel or sequential residual).
func (m *model) block(ctx *context.Context, name string, x, attnBias, cos, sin *Node) *Node {
	attn := m.attention(ctx.In("attention"), name+".attention", m.layerNorm(ctx.In("input_layernorm"), x), attnBias, cos, sin)
	if m.cfg.ParallelResidual {
		mlp := m.mlp(ctx.In("mlp"), name+".mlp", m.layerNorm(ctx.In("post_attention_layernorm"), x))
		return Add(Add(x, attn), mlp)
	}
	h := Add(x, attn)
	return Add(h, m.mlp(ctx.In("mlp"), name+".mlp", m.layerNorm(ctx.In("post_attention_layernorm"), h)))
}
