package train

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX graph DSL
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/data"
)

const (
	tinyVocab = 16
	tinyDim   = 8
)

// tinyModel is an embedding bag (mean over the real tokens) followed by a
// dense layer with bias: a small classifier for the loop's tests.
func tinyModel(ctx *context.Context, b *BatchNodes) *Node {
	emb := layers.Embedding(ctx.In("emb"), b.Tokens, dtypes.Float32, tinyVocab, tinyDim) // [B,S,H]
	if b.EmbeddingHook != nil {
		emb = b.EmbeddingHook(ctx, emb)
	}
	bsz, seq := b.Tokens.Shape().Dimensions[0], b.Tokens.Shape().Dimensions[1]
	pos := Iota(b.Tokens.Graph(), shapes.Make(dtypes.Int32, bsz, seq), 1)
	valid := ConvertDType(LessThan(pos, ExpandAxes(b.Lengths, -1)), dtypes.Float32) // [B,S]
	sum := ReduceSum(Mul(emb, ExpandAxes(valid, -1)), 1)
	mean := Div(sum, ExpandAxes(ConvertDType(b.Lengths, dtypes.Float32), -1))
	return layers.Dense(ctx.In("head"), mean, true, 2)
}

// makeBatch builds a batch of size rows, the first real of which are real,
// with random tokens and lengths, labels from a token rule (so the task is
// learnable), soft labels and two groups.
func makeBatch(r *rand.Rand, size, real, seq int) *data.Batch {
	b := &data.Batch{Size: size, SeqLen: seq, Real: real, Classes: 2,
		Tokens: make([]int32, size*seq), Lengths: make([]int32, size), Labels: make([]int32, size),
		SoftLabels: make([]float32, size*2), Groups: make([]int32, size), Mask: make([]float32, size)}
	for i := 0; i < size; i++ {
		if i >= real {
			b.Lengths[i] = 1
			b.SoftLabels[i*2] = 1
			continue
		}
		l := 1 + r.IntN(seq)
		b.Lengths[i] = int32(l)
		has3 := false
		for j := 0; j < l; j++ {
			tok := int32(2 + r.IntN(tinyVocab-2))
			b.Tokens[i*seq+j] = tok
			has3 = has3 || tok == 3
		}
		if has3 {
			b.Labels[i] = 1
		}
		p := 0.2 + 0.6*r.Float32()
		if has3 {
			p = 0.8 + 0.2*r.Float32()
		}
		b.SoftLabels[i*2], b.SoftLabels[i*2+1] = 1-p, p
		b.Groups[i] = int32(r.IntN(2))
		b.Mask[i] = 1
		b.IDs = append(b.IDs, string(rune('a'+i%26))+string(rune('A'+i/26)))
	}
	return b
}

// concatBatches stacks batches of the same SeqLen into one.
func concatBatches(bs []*data.Batch) *data.Batch {
	out := &data.Batch{SeqLen: bs[0].SeqLen, Classes: bs[0].Classes}
	for _, b := range bs {
		out.Size += b.Size
		out.Real += b.Real
		out.Tokens = append(out.Tokens, b.Tokens...)
		out.Lengths = append(out.Lengths, b.Lengths...)
		out.Labels = append(out.Labels, b.Labels...)
		out.SoftLabels = append(out.SoftLabels, b.SoftLabels...)
		out.Groups = append(out.Groups, b.Groups...)
		out.Mask = append(out.Mask, b.Mask...)
	}
	return out
}

// varValues returns the float32 values of ctx's variables by parameter name.
func varValues(t *testing.T, ctx *context.Context) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range ctx.IterVariables() {
		if v.DType() != dtypes.Float32 {
			continue
		}
		val, err := v.Value()
		if err != nil {
			t.Fatalf("variable %s: %v", v.ParameterName(), err)
		}
		out[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](val)
	}
	return out
}

func newCtx() *context.Context { return context.New() }

var testBackend = accel.MustCPU()

func readLog(t *testing.T, path string) []StepLog {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []StepLog
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var sl StepLog
		if err := json.Unmarshal([]byte(line), &sl); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		out = append(out, sl)
	}
	return out
}
