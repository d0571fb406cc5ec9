// Package fairness holds w2st's fairness regularizer (the demographic-parity
// penalty) and group fairness metrics on host slices (demographic parity
// difference, equalized odds difference).
package fairness

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 GoMLX graph code reads best with a dot import.
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/trust"
)

// DemographicParity is the demographic-parity penalty
//
//	Term = | mean_{i: g_i=0} p_i − mean_{i: g_i=1} p_i |,  p_i = P(y = Positive | x_i)
//
// over the real rows (Mask 1) of the batch, where g is the batch's group index
// (groups other than 0 and 1 are ignored). A batch in which group 0 or group 1
// has no real row contributes 0 (and a zero gradient, never NaN).
type DemographicParity struct {
	Lambda float64 // strength λ
	// Class is the favourable class whose probability is compared; 0 is read
	// as class 1 (for two classes the gap is the same for either class).
	Class int
}

// NewDemographicParity returns the penalty with strength lambda and class 1 as
// the favourable outcome.
func NewDemographicParity(lambda float64) *DemographicParity {
	return &DemographicParity{Lambda: lambda}
}

// PositiveClass is the class whose probability is compared: Class, or 1 when Class is 0.
func (d *DemographicParity) PositiveClass() int {
	if d.Class <= 0 {
		return 1
	}
	return d.Class
}

// Name implements trust.Regularizer.
func (d *DemographicParity) Name() string { return "demographic_parity" }

// Strength implements trust.Regularizer.
func (d *DemographicParity) Strength() float64 { return d.Lambda }

// Term implements trust.Regularizer.
func (d *DemographicParity) Term(_ *context.Context, in trust.RegInputs) *Node {
	probs := in.Probs
	c := d.PositiveClass()
	if c >= probs.Shape().Dimensions[1] {
		panic(fmt.Errorf("demographic parity: positive class %d but the model has %d classes", c, probs.Shape().Dimensions[1]))
	}
	return ParityGap(probs, in.Batch.Groups, in.Batch.Mask, c)
}

// ParityGap builds |mean p[g=0] − mean p[g=1]| of probs[:, class] over the
// rows with mask 1; 0 when either group is empty. Like GoMLX graph builders
// it panics on invalid shapes.
func ParityGap(probs, groups, mask *Node, class int) *Node {
	g := probs.Graph()
	b := probs.Shape().Dimensions[0]
	p := Reshape(Slice(ConvertDType(probs, dtypes.Float32), AxisRange(), AxisElem(class)), b)
	m := ConvertDType(mask, dtypes.Float32)
	groups = ConvertDType(groups, dtypes.Int32)
	w0 := Mul(m, ConvertDType(Equal(groups, Scalar(g, dtypes.Int32, 0)), dtypes.Float32))
	w1 := Mul(m, ConvertDType(Equal(groups, Scalar(g, dtypes.Int32, 1)), dtypes.Float32))
	n0, n1 := ReduceAllSum(w0), ReduceAllSum(w1)
	one := ScalarOne(g, dtypes.Float32)
	mean0 := Div(ReduceAllSum(Mul(w0, p)), Max(n0, one))
	mean1 := Div(ReduceAllSum(Mul(w1, p)), Max(n1, one))
	zero := ScalarZero(g, dtypes.Float32)
	both := LogicalAnd(GreaterThan(n0, zero), GreaterThan(n1, zero))
	return Where(both, Abs(Sub(mean0, mean1)), zero)
}

// EqualizedOdds is the equalized-odds variant of the penalty: the
// demographic-parity gap computed separately among the real rows with true
// label 0 and with true label 1, summed:
//
//	Term = Σ_{y∈{0,1}} | mean_{g_i=0, y_i=y} p_i − mean_{g_i=1, y_i=y} p_i |
//
// (the soft counterparts of the false- and true-positive-rate gaps). A label
// whose rows fall in one group only contributes 0.
type EqualizedOdds struct {
	Lambda float64 // strength λ
	Class  int     // as DemographicParity.Class
}

// Name implements trust.Regularizer.
func (e *EqualizedOdds) Name() string { return "equalized_odds" }

// Strength implements trust.Regularizer.
func (e *EqualizedOdds) Strength() float64 { return e.Lambda }

// Term implements trust.Regularizer.
func (e *EqualizedOdds) Term(_ *context.Context, in trust.RegInputs) *Node {
	c := (&DemographicParity{Class: e.Class}).PositiveClass()
	if c >= in.Probs.Shape().Dimensions[1] {
		panic(fmt.Errorf("equalized odds: positive class %d but the model has %d classes", c, in.Probs.Shape().Dimensions[1]))
	}
	g := in.Probs.Graph()
	labels := ConvertDType(in.Batch.Labels, dtypes.Int32)
	m := ConvertDType(in.Batch.Mask, dtypes.Float32)
	var total *Node
	for y := 0; y < 2; y++ {
		my := Mul(m, ConvertDType(Equal(labels, Scalar(g, dtypes.Int32, y)), dtypes.Float32))
		gap := ParityGap(in.Probs, in.Batch.Groups, my, c)
		if total == nil {
			total = gap
		} else {
			total = Add(total, gap)
		}
	}
	return total
}

// rates returns, per group, the fraction of rows (selected by keep) predicted positive.
func rates(pred []int, groups []int32, keep func(i int) bool) map[int32]float64 {
	n := map[int32]float64{}
	pos := map[int32]float64{}
	for i := range pred {
		if !keep(i) {
			continue
		}
		n[groups[i]]++
		if pred[i] == 1 {
			pos[groups[i]]++
		}
	}
	out := map[int32]float64{}
	for g, c := range n {
		out[g] = pos[g] / c
	}
	return out
}

func spread(r map[int32]float64) float64 {
	if len(r) < 2 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range r {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return hi - lo
}

func check(pred []int, labels, groups []int32) error {
	if len(pred) != len(groups) || (labels != nil && len(labels) != len(pred)) {
		return fmt.Errorf("fairness metrics: %d predictions, %d labels, %d groups", len(pred), len(labels), len(groups))
	}
	return nil
}

// DPD is the demographic parity difference of binary predictions (1 =
// favourable): the largest minus the smallest selection rate P(ŷ=1 | group)
// over the groups present (fairlearn's demographic_parity_difference). 0 with
// fewer than two groups.
func DPD(pred []int, groups []int32) (float64, error) {
	if err := check(pred, nil, groups); err != nil {
		return 0, err
	}
	return spread(rates(pred, groups, func(int) bool { return true })), nil
}

// EOD is the equalized odds difference: the larger of the spreads across
// groups of the true-positive rate P(ŷ=1 | y=1, group) and of the
// false-positive rate P(ŷ=1 | y=0, group) (fairlearn's
// equalized_odds_difference). Groups without rows of a label are left out of
// that label's spread.
func EOD(pred []int, labels, groups []int32) (float64, error) {
	if err := check(pred, labels, groups); err != nil {
		return 0, err
	}
	tpr := spread(rates(pred, groups, func(i int) bool { return labels[i] == 1 }))
	fpr := spread(rates(pred, groups, func(i int) bool { return labels[i] == 0 }))
	return math.Max(tpr, fpr), nil
}

// HardPredictions returns the argmax class of each probability row.
func HardPredictions(probs [][]float32) []int {
	out := make([]int, len(probs))
	for i, p := range probs {
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

var (
	_ trust.Regularizer = (*DemographicParity)(nil)
	_ trust.Regularizer = (*EqualizedOdds)(nil)
)
