// Package trust defines how trustworthiness regularizers plug into training
// (the Regularizer interface and the graph nodes it sees) and holds the
// regularizers and trust metrics, one sub-package per property
// (trust/fairness, later adversarial, OOD and privacy).
//
// The training loop (accel/train) only uses regularizers through this
// interface: for each micro-batch it builds the model's logits, then adds
// Σ Strength()·Term(...) to the scalar loss that is differentiated.
package trust

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// EmbeddingHook may replace the model's input-embedding output emb [B,S,H]
// (for example with a perturbed copy); it returns the tensor the model
// continues with. nil means no change.
type EmbeddingHook func(ctx *context.Context, emb *graph.Node) *graph.Node

// BatchNodes are the graph nodes of one fixed-shape batch (see data.Batch):
//
//	Tokens     int32   [B,S] right-padded token ids
//	Lengths    int32   [B]   real token count per row (>= 1)
//	Labels     int32   [B]   ground-truth class (0 on padding rows)
//	SoftLabels float32 [B,C] target distribution
//	Groups     int32   [B]   index of the row's group (0 on padding rows)
//	Mask       float32 [B]   1 for real rows, 0 for padding rows
//
// EmbeddingHook, when not nil, must be applied by the model to its
// input-embedding output (neox.ForwardOptions.EmbeddingHook); the clean
// forward pass has it nil.
type BatchNodes struct {
	Tokens, Lengths, Labels, SoftLabels, Groups, Mask *graph.Node
	EmbeddingHook                                     EmbeddingHook
}

// RegInputs is what a regularizer sees when it builds its term.
type RegInputs struct {
	// Batch holds the batch's nodes.
	Batch *BatchNodes
	// Logits [B,C] float32 of the clean forward pass, and Probs = softmax(Logits).
	Logits, Probs *graph.Node
	// Forward re-runs the model on the same batch, with hook applied to the
	// input-embedding output, reusing the model's variables; it returns
	// logits [B,C]. For adversarial and OOD-consistency terms.
	Forward func(ctx *context.Context, hook EmbeddingHook) *graph.Node
	// Progress is a float32 scalar node: the fraction of training done at this
	// step, in [0,1] (for warmed-up terms).
	Progress *graph.Node
}

// Regularizer is a trustworthiness term added to the training loss.
type Regularizer interface {
	// Name identifies the regularizer in logs and result files, e.g. "demographic_parity".
	Name() string
	// Strength is λ, the factor the term is multiplied by.
	Strength() float64
	// Term builds the regularizer's scalar (float32, shape []) graph term for
	// the batch. It must ignore padding rows (Mask 0) and never be NaN for a
	// valid batch. It may panic with a GoMLX graph error; the caller recovers.
	Term(ctx *context.Context, in RegInputs) *graph.Node
}
