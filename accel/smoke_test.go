package accel

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// TestTrainingSmoke trains a small two-layer classifier with sliced features
// (so the Slice and DotGeneral gradient overrides are on the path) for a few
// dozen steps on the CPU backend and checks that the loss falls. It guards
// against a dependency change that silently breaks training.
func TestTrainingSmoke(t *testing.T) {
	b := MustCPU()
	defer b.Finalize()
	const batch, features = 64, 12
	rng := rand.New(rand.NewPCG(7, 7))
	xs := make([]float32, batch*features)
	ys := make([]float32, batch)
	for i := 0; i < batch; i++ {
		s := float32(0)
		for j := 0; j < features; j++ {
			v := float32(rng.NormFloat64())
			xs[i*features+j] = v
			if j < 6 {
				s += v * float32(j%3-1)
			}
		}
		if s > 0 {
			ys[i] = 1
		}
	}
	x := tensors.FromFlatDataAndDimensions(xs, batch, features)
	y := tensors.FromFlatDataAndDimensions(ys, batch, 1)

	ctx := context.New()
	ctx.SetParam(optimizers.ParamLearningRate, 0.05)
	model := func(ctx *context.Context, _ any, in []*graph.Node) []*graph.Node {
		feats := graph.Slice(in[0], graph.AxisRange(), graph.AxisRange(0, 6)) // only the informative half
		h := activations.Gelu(layers.Dense(ctx.In("h"), feats, true, 16))
		return []*graph.Node{layers.Dense(ctx.In("out"), h, true, 1)}
	}
	trainer := train.NewTrainer(b, ctx, model, losses.BinaryCrossentropyLogits, optimizers.Adam().Done(), nil, nil)
	var first, last float32
	for step := 0; step < 40; step++ {
		metrics, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		loss := tensors.MustCopyFlatData[float32](metrics[0])[0]
		if step == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < 0.5*first) {
		t.Fatalf("loss did not fall: first %.4f, after 40 steps %.4f", first, last)
	}
	t.Logf("loss %.4f -> %.4f", first, last)
}
