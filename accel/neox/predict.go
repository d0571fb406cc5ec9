package neox

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Predictor runs the classifier's forward pass on host token sequences in
// fixed-shape batches: batchSize rows (a short last batch is padded with
// length-1 rows) and a padded length that is the next power of two ≥ the
// longest sequence (at least 8, at most MaxPositions), so few graphs compile.
type Predictor struct {
	cfg       Config
	exec      *context.Exec
	batchSize int
	// Compiles counts the distinct (batch, length) shapes compiled so far.
	Compiles int
	seen     map[int]bool
}

// NewPredictor prepares a forward pass on backend with the variables of ctx
// (loaded weights, or random initialisation for a preset).
func NewPredictor(backend backends.Backend, ctx *context.Context, cfg Config, opts ForwardOptions, batchSize int) (p *Predictor, err error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("batch size %d must be >= 1", batchSize)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	exec, err := context.NewExec(backend, ctx.Reuse().Checked(false), func(ctx *context.Context, tokens, lengths *graph.Node) *graph.Node {
		return Logits(ctx, cfg, tokens, lengths, opts)
	})
	if err != nil {
		return nil, fmt.Errorf("predictor: %w", err)
	}
	return &Predictor{cfg: cfg, exec: exec, batchSize: batchSize, seen: map[int]bool{}}, nil
}

// BucketLength is the padded length used for a batch whose longest sequence has n tokens.
func (p *Predictor) BucketLength(n int) int {
	l := 8
	for l < n {
		l *= 2
	}
	return min(l, max(p.cfg.MaxPositions, n))
}

// Logits returns float32 logits [len(seqs)][NumLabels]. Every sequence must
// be non-empty, at most MaxPositions long, with ids in [0, VocabSize); the
// error names the offending index.
func (p *Predictor) Logits(seqs [][]int32) (out [][]float32, err error) {
	for i, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("sequence %d is empty", i)
		}
		if len(s) > p.cfg.MaxPositions {
			return nil, fmt.Errorf("sequence %d has %d tokens, more than max_position_embeddings %d", i, len(s), p.cfg.MaxPositions)
		}
		for j, id := range s {
			if id < 0 || int(id) >= p.cfg.VocabSize {
				return nil, fmt.Errorf("sequence %d: token %d is id %d, outside the vocabulary [0,%d)", i, j, id, p.cfg.VocabSize)
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("predict: %v", r)
		}
	}()
	for start := 0; start < len(seqs); start += p.batchSize {
		chunk := seqs[start:min(start+p.batchSize, len(seqs))]
		longest := 0
		for _, s := range chunk {
			longest = max(longest, len(s))
		}
		seqLen := p.BucketLength(longest)
		tok := make([]int32, p.batchSize*seqLen)
		lens := make([]int32, p.batchSize)
		for i := range lens {
			lens[i] = 1
		}
		for i, s := range chunk {
			copy(tok[i*seqLen:], s)
			lens[i] = int32(len(s))
		}
		if !p.seen[seqLen] {
			p.seen[seqLen] = true
			p.Compiles++
		}
		res, err := p.exec.Exec(tensors.FromFlatDataAndDimensions(tok, p.batchSize, seqLen), tensors.FromFlatDataAndDimensions(lens, p.batchSize))
		if err != nil {
			return nil, fmt.Errorf("predict: %w", err)
		}
		flat := tensors.MustCopyFlatData[float32](res[0])
		for i := range chunk {
			out = append(out, flat[i*p.cfg.NumLabels:(i+1)*p.cfg.NumLabels])
		}
	}
	return out, nil
}

// Close frees the compiled graphs.
func (p *Predictor) Close() { p.exec.Finalize() }

// Probabilities returns the softmax of logits (computed in float64).
func Probabilities(logits []float32) []float32 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var s float64
	e := make([]float64, len(logits))
	for i, v := range logits {
		e[i] = math.Exp(float64(v) - m)
		s += e[i]
	}
	out := make([]float32, len(logits))
	for i := range e {
		out[i] = float32(e[i] / s)
	}
	return out
}

// ParseDType maps "f32"/"float32" and "bf16"/"bfloat16" to a compute dtype.
func ParseDType(s string) (dtypes.DType, error) {
	switch s {
	case "", "f32", "float32":
		return dtypes.Float32, nil
	case "bf16", "bfloat16":
		return dtypes.BFloat16, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("unknown dtype %q (want f32 or bf16)", s)
}

// Materialize makes sure every parameter of cfg exists in ctx with a value:
// variables not loaded from a checkpoint are created with the model's
// initialisation (seeded by ctx's context.ParamInitialSeed) by running the
// forward graph once on a one-token batch.
func Materialize(backend backends.Backend, ctx *context.Context, cfg Config) error {
	p, err := NewPredictor(backend, ctx, cfg, ForwardOptions{}, 1)
	if err != nil {
		return err
	}
	defer p.Close()
	_, err = p.Logits([][]int32{{0}})
	return err
}
