package train

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Predictions are the model's outputs on the real rows of one epoch of a
// batch source, in order.
type Predictions struct {
	IDs        []string
	Probs      [][]float32 // [N][C] class probabilities
	Labels     []int32     // ground truth
	Groups     []int32     // group index
	SoftLabels [][]float32 // the batches' soft labels
}

// PredictAll runs the model (evaluation mode, no variable changes) over one
// epoch (epoch 0) of src.
func PredictAll(backend backends.Backend, ctx *context.Context, model ModelFn, src BatchSource) (p *Predictions, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("predict: %v", r)
		}
	}()
	if backend == nil || ctx == nil || model == nil || src == nil {
		return nil, errors.New("predict: backend, ctx, model and batch source are required")
	}
	exec, err := context.NewExecAny(backend, ctx.Checked(false), forwardGraph(model))
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	defer exec.Finalize()
	if err := src.Reset(0); err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	p = &Predictions{}
	for bi := 0; ; bi++ {
		b, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("predict: batch %d: %w", bi, err)
		}
		if err := checkBatch(b, 0); err != nil {
			return nil, fmt.Errorf("predict: batch %d: %w", bi, err)
		}
		out, err := exec.Exec(batchTensors(b)...)
		if err != nil {
			return nil, fmt.Errorf("predict: batch %d: %w", bi, err)
		}
		lp := tensors.MustCopyFlatData[float32](out[0])
		out[0].MustFinalizeAll()
		c := len(lp) / b.Size
		for i := 0; i < b.Size; i++ {
			if b.Mask[i] == 0 {
				continue
			}
			row := make([]float32, c)
			for j := range row {
				row[j] = float32(math.Exp(float64(lp[i*c+j])))
			}
			p.Probs = append(p.Probs, row)
			p.Labels = append(p.Labels, b.Labels[i])
			p.Groups = append(p.Groups, b.Groups[i])
			p.SoftLabels = append(p.SoftLabels, append([]float32(nil), b.SoftLabels[i*b.Classes:(i+1)*b.Classes]...))
			if i < len(b.IDs) {
				p.IDs = append(p.IDs, b.IDs[i])
			} else {
				p.IDs = append(p.IDs, "")
			}
		}
	}
	return p, nil
}

// Predict returns the class probabilities and ids of the real rows of src.
func Predict(backend backends.Backend, ctx *context.Context, model ModelFn, src BatchSource) ([][]float32, []string, error) {
	p, err := PredictAll(backend, ctx, model, src)
	if err != nil {
		return nil, nil, err
	}
	return p.Probs, p.IDs, nil
}

// Evaluate predicts src and computes Metrics against its labels.
func Evaluate(backend backends.Backend, ctx *context.Context, model ModelFn, src BatchSource) (Metrics, error) {
	p, err := PredictAll(backend, ctx, model, src)
	if err != nil {
		return Metrics{}, err
	}
	m, err := ComputeMetrics(p.Probs, p.Labels)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	return m, nil
}
