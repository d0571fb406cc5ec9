package train

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/data"
)

// NeoXModel returns the ModelFn of a GPT-NeoX classifier computing in dtype
// (the zero value means float32); the batch's embedding hook, when set, is
// passed to the model so regularizers can perturb the input embeddings.
func NeoXModel(cfg neox.Config, dtype dtypes.DType) ModelFn {
	return func(ctx *context.Context, b *BatchNodes) *graph.Node {
		return neox.Logits(ctx, cfg, b.Tokens, b.Lengths, neox.ForwardOptions{DType: dtype, EmbeddingHook: b.EmbeddingHook})
	}
}

// EpochBatcher is a batch producer that can replay any epoch's order, such
// as data/batching's Batcher.
type EpochBatcher interface {
	SetEpoch(epoch int)
	Next() (*data.Batch, error)
	NumBatches() int
}

// Epochs adapts an EpochBatcher to a BatchSource (and Lener). Epoch e's order
// depends only on the batcher's seed and e, so a resumed run sees the same
// batches as an uninterrupted one.
func Epochs(b EpochBatcher) EpochSource { return EpochSource{b} }

// EpochSource is the BatchSource made by Epochs.
type EpochSource struct{ b EpochBatcher }

// Reset implements BatchSource.
func (s EpochSource) Reset(epoch int) error { s.b.SetEpoch(epoch); return nil }

// Next implements BatchSource.
func (s EpochSource) Next() (*data.Batch, error) { return s.b.Next() }

// Len implements Lener.
func (s EpochSource) Len() int { return s.b.NumBatches() }
