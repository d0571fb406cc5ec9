// Package metrics computes evaluation metrics from predicted class
// probabilities on the host: accuracy, ROC AUC, expected calibration error,
// and the group fairness metrics of the fairness property.
package metrics

import (
	"fmt"
	"math"
	"sort"
)

// Def describes a metric for result files and reports.
type Def struct {
	Name         string  `json:"name"`          // key in result maps, e.g. "accuracy"
	Label        string  `json:"label"`         // column heading, e.g. "Accuracy"
	Unit         string  `json:"unit"`          // e.g. "%" or "pp" or "" for a 0..1 score
	Scale        float64 `json:"scale"`         // multiply by this for display (100 for %)
	HigherBetter bool    `json:"higher_better"` // orientation for PGR and ↑/↓
	Doc          string  `json:"doc"`           // one-line definition
}

// Predictions are a model's outputs on a labelled test set.
type Predictions struct {
	Probs  [][]float32 // [n][classes]
	Labels []int32     // ground truth
	Groups []string    // sensitive attribute per row ("" when absent)
}

func (p Predictions) check() error {
	if len(p.Probs) != len(p.Labels) {
		return fmt.Errorf("metrics: %d predictions for %d labels", len(p.Probs), len(p.Labels))
	}
	if len(p.Probs) == 0 {
		return fmt.Errorf("metrics: no predictions")
	}
	return nil
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Accuracy is the fraction of rows whose argmax class equals the label.
func Accuracy(p Predictions) (float64, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	ok := 0
	for i, pr := range p.Probs {
		if int32(argmax(pr)) == p.Labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(p.Labels)), nil
}

// AUC is the binary ROC AUC of P(class 1) against label 1 (the Mann–Whitney
// statistic: the probability that a random positive scores above a random
// negative, ties counting one half). NaN when one class is absent.
func AUC(p Predictions) (float64, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	type sl struct {
		s   float64
		pos bool
	}
	xs := make([]sl, len(p.Probs))
	var npos, nneg float64
	for i, pr := range p.Probs {
		if len(pr) < 2 {
			return 0, fmt.Errorf("metrics: AUC needs 2 classes, row %d has %d", i+1, len(pr))
		}
		xs[i] = sl{float64(pr[1]), p.Labels[i] == 1}
		if xs[i].pos {
			npos++
		} else {
			nneg++
		}
	}
	if npos == 0 || nneg == 0 {
		return math.NaN(), nil
	}
	sort.Slice(xs, func(a, b int) bool { return xs[a].s < xs[b].s })
	// Sum of the (average) ranks of the positives.
	rankSum := 0.0
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j].s == xs[i].s {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if xs[k].pos {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg), nil
}

// ECE is the expected calibration error of the argmax confidence over bins
// equal-width bins of [0,1]: Σ_b (n_b/n)·|accuracy_b − mean confidence_b|.
func ECE(p Predictions, bins int) (float64, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	if bins < 1 {
		return 0, fmt.Errorf("metrics: %d ECE bins", bins)
	}
	cnt := make([]float64, bins)
	acc := make([]float64, bins)
	conf := make([]float64, bins)
	for i, pr := range p.Probs {
		c := argmax(pr)
		v := float64(pr[c])
		b := int(v * float64(bins))
		if b >= bins {
			b = bins - 1
		}
		if b < 0 {
			b = 0
		}
		cnt[b]++
		conf[b] += v
		if int32(c) == p.Labels[i] {
			acc[b]++
		}
	}
	n := float64(len(p.Probs))
	e := 0.0
	for b := range cnt {
		if cnt[b] > 0 {
			e += cnt[b] / n * math.Abs(acc[b]/cnt[b]-conf[b]/cnt[b])
		}
	}
	return e, nil
}

// groupRates returns, per group, the rate of predicted class 1 among the rows
// selected by keep.
func groupRates(p Predictions, keep func(i int) bool) map[string]float64 {
	pos := map[string]float64{}
	tot := map[string]float64{}
	for i, pr := range p.Probs {
		if !keep(i) {
			continue
		}
		g := p.Groups[i]
		tot[g]++
		if argmax(pr) == 1 {
			pos[g]++
		}
	}
	out := map[string]float64{}
	for g, t := range tot {
		out[g] = pos[g] / t
	}
	return out
}

func spread(rates map[string]float64) float64 {
	if len(rates) < 2 {
		return math.NaN()
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rates {
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	return hi - lo
}

func (p Predictions) checkGroups() error {
	if err := p.check(); err != nil {
		return err
	}
	if len(p.Groups) != len(p.Labels) {
		return fmt.Errorf("metrics: %d groups for %d rows", len(p.Groups), len(p.Labels))
	}
	for i, g := range p.Groups {
		if g == "" {
			return fmt.Errorf("metrics: row %d has no group", i+1)
		}
	}
	return nil
}

// DemographicParityDifference is max_g P(ŷ=1 | g) − min_g P(ŷ=1 | g) over the
// groups, with ŷ the argmax prediction (fairlearn's
// demographic_parity_difference). NaN with fewer than two groups.
func DemographicParityDifference(p Predictions) (float64, error) {
	if err := p.checkGroups(); err != nil {
		return 0, err
	}
	return spread(groupRates(p, func(int) bool { return true })), nil
}

// EqualizedOddsDifference is the larger of the true-positive-rate spread and
// the false-positive-rate spread across groups (fairlearn's
// equalized_odds_difference). A rate that is undefined for a group (no
// positives or no negatives in it) leaves that group out of that spread.
func EqualizedOddsDifference(p Predictions) (float64, error) {
	if err := p.checkGroups(); err != nil {
		return 0, err
	}
	tpr := spread(groupRates(p, func(i int) bool { return p.Labels[i] == 1 }))
	fpr := spread(groupRates(p, func(i int) bool { return p.Labels[i] != 1 }))
	switch {
	case math.IsNaN(tpr):
		return fpr, nil
	case math.IsNaN(fpr):
		return tpr, nil
	}
	return math.Max(tpr, fpr), nil
}

// Common metric definitions.
var (
	DefAccuracy = Def{Name: "accuracy", Label: "Accuracy", Unit: "%", Scale: 100, HigherBetter: true,
		Doc: "share of test rows whose argmax class is the label"}
	DefAUC = Def{Name: "auc", Label: "ROC AUC", Unit: "", Scale: 1, HigherBetter: true,
		Doc: "area under the ROC curve of P(class 1)"}
	DefECE = Def{Name: "ece", Label: "ECE", Unit: "%", Scale: 100, HigherBetter: false,
		Doc: "expected calibration error, 10 equal-width confidence bins"}
	DefDPD = Def{Name: "dpd", Label: "DPD", Unit: "pp", Scale: 100, HigherBetter: false,
		Doc: "demographic parity difference: max−min over groups of P(predicted 1), percentage points"}
	DefEOD = Def{Name: "eod", Label: "EOD", Unit: "pp", Scale: 100, HigherBetter: false,
		Doc: "equalized odds difference: max of the TPR and FPR gaps between groups, percentage points"}
)

// Compute evaluates the named metrics.
func Compute(p Predictions, defs []Def) (map[string]float64, error) {
	out := make(map[string]float64, len(defs))
	for _, d := range defs {
		var v float64
		var err error
		switch d.Name {
		case "accuracy":
			v, err = Accuracy(p)
		case "auc":
			v, err = AUC(p)
		case "ece":
			v, err = ECE(p, 10)
		case "dpd":
			v, err = DemographicParityDifference(p)
		case "eod":
			v, err = EqualizedOddsDifference(p)
		default:
			err = fmt.Errorf("metrics: unknown metric %q", d.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		out[d.Name] = v
	}
	return out, nil
}
