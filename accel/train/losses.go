package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 GoMLX graph code reads best with a dot import.
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// LossInputs are the scalar, host-computed inputs of the per-example loss.
type LossInputs struct {
	// Coef is logconf's coefficient a (ignored by other losses).
	Coef *Node
	// Threshold is logconf's θ on p_0 (ignored by other losses).
	Threshold *Node
}

// PerExampleLoss returns the loss of each row [B] (float32) for the named loss
// (see the package doc) given logits [B,C] and targets [B,C]. It does not
// apply the mask. Like GoMLX graph builders it panics on invalid input (an
// unknown loss, logconf with other than 2 classes); Train recovers.
func PerExampleLoss(name string, logits, targets *Node, in LossInputs) *Node {
	logits = ConvertDType(logits, dtypes.Float32)
	targets = ConvertDType(targets, dtypes.Float32)
	logp := LogSoftmax(logits, -1)
	switch name {
	case LossXent:
	case LossProduct:
		p := StopGradient(Exp(logp))
		q := Mul(p, targets)
		sum := ReduceSum(q, -1)
		sum = Max(sum, Scalar(sum.Graph(), dtypes.Float32, 1e-30))
		targets = StopGradient(Div(q, ExpandAxes(sum, -1)))
	case LossLogconf:
		if logits.Shape().Dimensions[1] != 2 {
			panic(fmt.Errorf("logconf loss needs 2 classes, got %d", logits.Shape().Dimensions[1]))
		}
		p := StopGradient(Exp(logp))
		p0 := Reshape(Slice(p, AxisRange(), AxisElem(0)), p.Shape().Dimensions[0])
		hard0 := ConvertDType(GreaterOrEqual(p0, in.Threshold), dtypes.Float32)
		one := ScalarOne(p0.Graph(), dtypes.Float32)
		h := Stack([]*Node{hard0, Sub(one, hard0)}, -1)
		a := in.Coef
		targets = Add(Mul(Sub(one, a), targets), Mul(a, h))
	default:
		panic(fmt.Errorf("unknown loss %q", name))
	}
	return Neg(ReduceSum(Mul(targets, logp), -1))
}

// Quantile returns the q-quantile of xs with linear interpolation between
// order statistics (torch.quantile's default): position h = (n−1)·q.
// It returns NaN for an empty slice; q is clamped to [0,1].
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q = math.Min(1, math.Max(0, q))
	h := float64(len(s)-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

// LogconfThreshold computes θ for logconf from the real rows of an effective
// batch: p0 are the strong model's P(class 0) and t1 the targets' weight on
// class 1, one per real row.
func LogconfThreshold(p0, t1 []float64) float64 {
	if len(t1) == 0 {
		return math.NaN()
	}
	var prior float64
	for _, v := range t1 {
		prior += v
	}
	prior /= float64(len(t1))
	return Quantile(p0, prior)
}
