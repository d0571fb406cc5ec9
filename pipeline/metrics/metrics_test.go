package metrics

import (
	"math"
	"testing"
)

func preds(p1 []float32, labels []int32, groups []string) Predictions {
	pr := make([][]float32, len(p1))
	for i, v := range p1 {
		pr[i] = []float32{1 - v, v}
	}
	return Predictions{Probs: pr, Labels: labels, Groups: groups}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 || (math.IsNaN(a) && math.IsNaN(b)) }

func TestAccuracyAUC(t *testing.T) {
	cases := []struct {
		name     string
		p1       []float32
		labels   []int32
		acc, auc float64
	}{
		{"perfect", []float32{0.9, 0.8, 0.1, 0.2}, []int32{1, 1, 0, 0}, 1, 1},
		{"inverted", []float32{0.1, 0.2, 0.9, 0.8}, []int32{1, 1, 0, 0}, 0, 0},
		// Hand-computed: positives score 0.8, 0.4; negatives 0.6, 0.2.
		// Pairs (pos>neg): 0.8>0.6, 0.8>0.2, 0.4>0.2 → 3 of 4 → AUC 0.75.
		// argmax: 0.8→1 ✓, 0.4→0 ✗, 0.6→1 ✗, 0.2→0 ✓ → acc 0.5.
		{"mixed", []float32{0.8, 0.4, 0.6, 0.2}, []int32{1, 1, 0, 0}, 0.5, 0.75},
		// Ties count one half: all scores equal → AUC 0.5.
		{"ties", []float32{0.7, 0.7, 0.7, 0.7}, []int32{1, 0, 1, 0}, 0.5, 0.5},
		// sklearn.metrics.roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75.
		{"sklearn doc example", []float32{0.1, 0.4, 0.35, 0.8}, []int32{0, 0, 1, 1}, 0.75, 0.75},
		{"one class", []float32{0.9, 0.2}, []int32{1, 1}, 0.5, math.NaN()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := preds(c.p1, c.labels, nil)
			acc, err := Accuracy(p)
			if err != nil || !near(acc, c.acc) {
				t.Errorf("accuracy = %v (%v), want %v", acc, err, c.acc)
			}
			auc, err := AUC(p)
			if err != nil || !near(auc, c.auc) {
				t.Errorf("AUC = %v (%v), want %v", auc, err, c.auc)
			}
		})
	}
}

func TestECE(t *testing.T) {
	// Confidences 0.95 (correct) and 0.95 (wrong) share a bin: |0.5-0.95| = 0.45, weight 2/4;
	// 0.55 (correct) and 0.65 (correct) are alone in their bins (10 or 15 bins alike):
	// |1-0.55|=0.45 and |1-0.65|=0.35, weight 1/4 each.
	// ECE = 0.5·0.45 + 0.25·0.45 + 0.25·0.35 = 0.425.
	p := preds([]float32{0.95, 0.95, 0.55, 0.35}, []int32{1, 0, 1, 0}, nil)
	got, err := ECE(p)
	if err != nil || math.Abs(got-0.425) > 1e-6 {
		t.Errorf("ECE = %v (%v), want 0.425", got, err)
	}
}

func TestFairness(t *testing.T) {
	// Group A: predictions 1,1,0,0 (rate 0.5); group B: 1,0,0,0 (rate 0.25) → DPD 0.25.
	// Labels A: 1,0,1,0 → TPR_A = 1/2, FPR_A = 1/2; B: 1,1,0,0 → TPR_B = 1/2, FPR_B = 0.
	// EOD = max(|0.5-0.5|, |0.5-0|) = 0.5.
	p := preds(
		[]float32{0.9, 0.8, 0.2, 0.1, 0.7, 0.3, 0.4, 0.1},
		[]int32{1, 0, 1, 0, 1, 1, 0, 0},
		[]string{"A", "A", "A", "A", "B", "B", "B", "B"})
	dpd, err := DemographicParityDifference(p)
	if err != nil || !near(dpd, 0.25) {
		t.Errorf("DPD = %v (%v), want 0.25", dpd, err)
	}
	eod, err := EqualizedOddsDifference(p)
	if err != nil || !near(eod, 0.5) {
		t.Errorf("EOD = %v (%v), want 0.5", eod, err)
	}
	// One group only → NaN.
	one := preds([]float32{0.9, 0.1}, []int32{1, 0}, []string{"A", "A"})
	if v, _ := DemographicParityDifference(one); !math.IsNaN(v) {
		t.Errorf("one group DPD = %v, want NaN", v)
	}
	missing := preds([]float32{0.9, 0.1}, []int32{1, 0}, []string{"A", ""})
	if _, err := DemographicParityDifference(missing); err == nil {
		t.Error("row without group: want error")
	}
	got, err := Compute(p, []Def{DefAccuracy, DefDPD, DefEOD})
	if err != nil || !near(got["dpd"], 0.25) || !near(got["eod"], 0.5) || !near(got["accuracy"], 5.0/8) {
		t.Errorf("Compute = %v (%v)", got, err)
	}
}
