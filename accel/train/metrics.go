package train

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Metrics are classification metrics over the real rows of a dataset.
type Metrics struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"` // fraction of rows whose argmax is the label
	// AUC is the ROC AUC of P(class 1) for binary tasks, the unweighted mean of
	// one-vs-rest AUCs otherwise; NaN when a class is absent.
	AUC float64 `json:"auc"`
	// Loss is the mean cross-entropy −log p(label).
	Loss float64 `json:"loss"`
	// ECE is the expected calibration error of the top-class confidence over
	// ECEBins equal-width bins: Σ_b (n_b/N)·|acc_b − conf_b|.
	ECE float64 `json:"ece"`
}

// metricsJSON is Metrics with undefined (NaN) values as null.
type metricsJSON struct {
	N        int      `json:"n"`
	Accuracy *float64 `json:"accuracy"`
	AUC      *float64 `json:"auc"`
	Loss     *float64 `json:"loss"`
	ECE      *float64 `json:"ece"`
}

func finiteOrNil(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func nilToNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes undefined metrics (NaN, e.g. the AUC of a one-class
// set) as null.
func (m Metrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricsJSON{N: m.N, Accuracy: finiteOrNil(m.Accuracy), AUC: finiteOrNil(m.AUC),
		Loss: finiteOrNil(m.Loss), ECE: finiteOrNil(m.ECE)})
}

// UnmarshalJSON reads null as NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var j metricsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metrics{N: j.N, Accuracy: nilToNaN(j.Accuracy), AUC: nilToNaN(j.AUC), Loss: nilToNaN(j.Loss), ECE: nilToNaN(j.ECE)}
	return nil
}

// ECEBins is the number of confidence bins of Metrics.ECE (Guo et al. 2017).
const ECEBins = 15

// ComputeMetrics computes Metrics from per-row class probabilities and labels.
func ComputeMetrics(probs [][]float32, labels []int32) (Metrics, error) {
	if len(probs) != len(labels) {
		return Metrics{}, fmt.Errorf("metrics: %d probability rows but %d labels", len(probs), len(labels))
	}
	m := Metrics{N: len(labels)}
	if m.N == 0 {
		return Metrics{}, fmt.Errorf("metrics: no rows")
	}
	classes := len(probs[0])
	var binN [ECEBins]int
	var binAcc, binConf [ECEBins]float64
	correct := 0
	for i, p := range probs {
		if len(p) != classes {
			return Metrics{}, fmt.Errorf("metrics: row %d has %d classes, row 0 %d", i, len(p), classes)
		}
		y := int(labels[i])
		if y < 0 || y >= classes {
			return Metrics{}, fmt.Errorf("metrics: row %d: label %d out of [0,%d)", i, y, classes)
		}
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		hit := 0.0
		if best == y {
			correct++
			hit = 1
		}
		m.Loss -= math.Log(math.Max(float64(p[y]), 1e-45))
		conf := float64(p[best])
		bin := int(conf * ECEBins)
		if bin >= ECEBins {
			bin = ECEBins - 1
		}
		if bin < 0 {
			bin = 0
		}
		binN[bin]++
		binAcc[bin] += hit
		binConf[bin] += conf
	}
	m.Accuracy = float64(correct) / float64(m.N)
	m.Loss /= float64(m.N)
	for b := range binN {
		if binN[b] > 0 {
			m.ECE += float64(binN[b]) / float64(m.N) * math.Abs(binAcc[b]/float64(binN[b])-binConf[b]/float64(binN[b]))
		}
	}
	if classes == 2 {
		m.AUC = AUC(column(probs, 1), positives(labels, 1))
	} else {
		var s float64
		for c := 0; c < classes; c++ {
			s += AUC(column(probs, c), positives(labels, int32(c)))
		}
		m.AUC = s / float64(classes)
	}
	return m, nil
}

func column(probs [][]float32, c int) []float64 {
	out := make([]float64, len(probs))
	for i, p := range probs {
		out[i] = float64(p[c])
	}
	return out
}

func positives(labels []int32, c int32) []bool {
	out := make([]bool, len(labels))
	for i, y := range labels {
		out[i] = y == c
	}
	return out
}

// AUC returns the ROC AUC of scores for the positive rows (the Mann–Whitney
// statistic with ties counted one half); NaN without positives or negatives.
func AUC(scores []float64, pos []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var nPos, nNeg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if pos[idx[k]] {
				rankSum += avgRank
				nPos++
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}
