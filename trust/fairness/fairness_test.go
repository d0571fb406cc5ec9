package fairness

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/trust"
)

var backend = accel.MustCPU()

// gapAndGrad evaluates the penalty on logits [B,2] (through softmax, as in
// training) and its gradient with respect to the logits.
func gapAndGrad(t *testing.T, logits []float32, groups []int32, mask []float32) (float64, []float32) {
	t.Helper()
	n := len(groups)
	e, err := NewExec(backend, func(l, g, m *Node) []*Node {
		d := NewDemographicParity(2)
		term := d.Term(nil, trust.RegInputs{Batch: &trust.BatchNodes{Groups: g, Mask: m}, Logits: l, Probs: Softmax(l, -1)})
		return []*Node{term, Gradient(term, l)[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec(tensors.FromFlatDataAndDimensions(logits, n, 2), groups, mask)
	if err != nil {
		t.Fatal(err)
	}
	return float64(out[0].Value().(float32)), tensors.MustCopyFlatData[float32](out[1])
}

// logitsFor returns logits [0, log(p/(1-p))] so that softmax gives P(1) = p.
func logitsFor(ps ...float64) []float32 {
	out := make([]float32, 0, 2*len(ps))
	for _, p := range ps {
		out = append(out, 0, float32(math.Log(p/(1-p))))
	}
	return out
}

func TestDemographicParityPenalty(t *testing.T) {
	cases := []struct {
		name   string
		ps     []float64
		groups []int32
		mask   []float32
		want   float64
	}{
		// mean P(1) group 0 = (0.9+0.7)/2 = 0.8, group 1 = (0.2+0.4)/2 = 0.3; the masked 0.99 is ignored.
		{"two groups", []float64{0.9, 0.7, 0.2, 0.4, 0.99}, []int32{0, 0, 1, 1, 0}, []float32{1, 1, 1, 1, 0}, 0.5},
		{"order of groups does not matter", []float64{0.2, 0.9, 0.4, 0.7}, []int32{1, 0, 1, 0}, []float32{1, 1, 1, 1}, 0.5},
		{"equal means", []float64{0.6, 0.4, 0.5}, []int32{0, 0, 1}, []float32{1, 1, 1}, 0},
		{"one group", []float64{0.9, 0.1, 0.3}, []int32{0, 0, 0}, []float32{1, 1, 1}, 0},
		{"other group only in padding", []float64{0.9, 0.1, 0.3}, []int32{1, 1, 0}, []float32{1, 1, 0}, 0},
		{"all padding", []float64{0.9, 0.1}, []int32{0, 1}, []float32{0, 0}, 0},
		{"third group ignored", []float64{0.9, 0.3, 0.5}, []int32{0, 1, 2}, []float32{1, 1, 1}, 0.6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, grad := gapAndGrad(t, logitsFor(c.ps...), c.groups, c.mask)
			if math.Abs(got-c.want) > 1e-6 {
				t.Fatalf("penalty %g, want %g", got, c.want)
			}
			for i, g := range grad {
				if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
					t.Fatalf("gradient[%d] = %g", i, g)
				}
			}
			if c.want == 0 && c.name != "equal means" {
				for i, g := range grad {
					if g != 0 {
						t.Fatalf("no-gap batch: gradient[%d] = %g, want 0", i, g)
					}
				}
			}
		})
	}
}

// The gradient pushes the groups' means together: d gap / d logit1 of a
// group-0 row is +p(1−p)/n0 when group 0's mean is higher.
func TestDemographicParityGradientHandComputed(t *testing.T) {
	_, grad := gapAndGrad(t, logitsFor(0.8, 0.2), []int32{0, 1}, []float32{1, 1})
	want := []float64{-0.16, 0.16, 0.16, -0.16} // softmax' = p(1-p) = 0.16 for both rows
	for i := range want {
		if math.Abs(float64(grad[i])-want[i]) > 1e-5 {
			t.Fatalf("gradient %v, want %v", grad, want)
		}
	}
}

func TestDPDAndEOD(t *testing.T) {
	cases := []struct {
		name     string
		pred     []int
		labels   []int32
		groups   []int32
		dpd, eod float64
	}{
		// Selection rates 2/3 vs 1/3; TPR 1/2 vs 0; FPR 1 vs 1/2.
		{"two groups", []int{1, 1, 0, 0, 1, 0}, []int32{1, 0, 1, 1, 0, 0}, []int32{0, 0, 0, 1, 1, 1}, 1.0 / 3, 0.5},
		// Same selection rate 2/3; TPR 1/2 vs 0; FPR 1 vs 1.
		{"parity but unequal odds", []int{1, 1, 0, 0, 1, 1}, []int32{1, 0, 1, 1, 0, 0}, []int32{0, 0, 0, 1, 1, 1}, 0, 0.5},
		{"one group", []int{1, 0}, []int32{1, 0}, []int32{0, 0}, 0, 0},
		// Three groups: rates 1, 0, 1/2 -> spread 1.
		{"three groups", []int{1, 0, 1, 0}, []int32{1, 1, 1, 1}, []int32{0, 1, 2, 2}, 1, 1},
	}
	for _, c := range cases {
		dpd, err := DPD(c.pred, c.groups)
		if err != nil {
			t.Fatal(err)
		}
		eod, err := EOD(c.pred, c.labels, c.groups)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(dpd-c.dpd) > 1e-12 || math.Abs(eod-c.eod) > 1e-12 {
			t.Errorf("%s: DPD %g EOD %g, want %g %g", c.name, dpd, eod, c.dpd, c.eod)
		}
	}
	if _, err := DPD([]int{1}, []int32{0, 1}); err == nil {
		t.Error("length mismatch: no error")
	}
	if _, err := EOD([]int{1, 0}, []int32{1}, []int32{0, 1}); err == nil {
		t.Error("length mismatch: no error")
	}
}

func TestHardPredictions(t *testing.T) {
	got := HardPredictions([][]float32{{0.7, 0.3}, {0.2, 0.8}, {0.1, 0.2, 0.7}})
	if got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("%v", got)
	}
}

func TestEqualizedOddsPenalty(t *testing.T) {
	// Label 0 rows: group 0 P(1) 0.6, group 1 P(1) 0.2 -> 0.4. Label 1 rows: group 0 0.9, group 1 0.7, 0.5 -> 0.3.
	// The masked row (0.99, group 0, label 1) is ignored.
	ps := []float64{0.6, 0.2, 0.9, 0.7, 0.5, 0.99}
	groups := []int32{0, 1, 0, 1, 1, 0}
	labels := []int32{0, 0, 1, 1, 1, 1}
	mask := []float32{1, 1, 1, 1, 1, 0}
	cases := []struct {
		name   string
		groups []int32
		want   float64
	}{
		{"both labels", groups, 0.4 + 0.3},
		{"label 0 in one group only", []int32{0, 0, 0, 1, 1, 0}, 0.3},
	}
	for _, c := range cases {
		e, err := NewExec(backend, func(l, g, y, m *Node) []*Node {
			eo := &EqualizedOdds{Lambda: 1}
			term := eo.Term(nil, trust.RegInputs{Batch: &trust.BatchNodes{Groups: g, Labels: y, Mask: m}, Logits: l, Probs: Softmax(l, -1)})
			return []*Node{term, Gradient(term, l)[0]}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Exec(tensors.FromFlatDataAndDimensions(logitsFor(ps...), len(ps), 2), c.groups, labels, mask)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(out[0].Value().(float32)); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s: penalty %g, want %g", c.name, got, c.want)
		}
		for i, g := range tensors.MustCopyFlatData[float32](out[1]) {
			if math.IsNaN(float64(g)) {
				t.Fatalf("%s: gradient[%d] NaN", c.name, i)
			}
		}
	}
}
