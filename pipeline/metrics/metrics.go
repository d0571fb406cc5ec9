// Package metrics names and computes the evaluation metrics of the pipeline
// from predicted class probabilities on the host: accuracy, ROC AUC and
// expected calibration error (computed by accel/train), and the group
// fairness metrics of the fairness property (computed by trust/fairness),
// with the pipeline's conventions: group names rather than indices, and NaN
// for a metric that is undefined on a test set.
package metrics

import (
	"fmt"
	"math"
	"sort"

	"github.com/w2st/w2st/accel/train"
	"github.com/w2st/w2st/trust/fairness"
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

// groupIndex requires a group on every row and returns the rows' group
// indices (in sorted order of the names) and the number of groups.
func (p Predictions) groupIndex() ([]int32, int, error) {
	if err := p.check(); err != nil {
		return nil, 0, err
	}
	if len(p.Groups) != len(p.Labels) {
		return nil, 0, fmt.Errorf("metrics: %d groups for %d rows", len(p.Groups), len(p.Labels))
	}
	names := map[string]int32{}
	for i, g := range p.Groups {
		if g == "" {
			return nil, 0, fmt.Errorf("metrics: row %d has no group", i+1)
		}
		names[g] = 0
	}
	sorted := make([]string, 0, len(names))
	for g := range names {
		sorted = append(sorted, g)
	}
	sort.Strings(sorted)
	for i, g := range sorted {
		names[g] = int32(i)
	}
	idx := make([]int32, len(p.Groups))
	for i, g := range p.Groups {
		idx[i] = names[g]
	}
	return idx, len(sorted), nil
}

// classification computes accuracy, AUC and ECE with accel/train.
func classification(p Predictions) (train.Metrics, error) {
	if err := p.check(); err != nil {
		return train.Metrics{}, err
	}
	return train.ComputeMetrics(p.Probs, p.Labels)
}

// Accuracy is the fraction of rows whose argmax class equals the label.
func Accuracy(p Predictions) (float64, error) {
	m, err := classification(p)
	return m.Accuracy, err
}

// AUC is the binary ROC AUC of P(class 1) against label 1 (ties count one
// half); NaN when one class is absent.
func AUC(p Predictions) (float64, error) {
	m, err := classification(p)
	return m.AUC, err
}

// ECE is the expected calibration error of the argmax confidence
// (accel/train's definition, train.ECEBins equal-width bins).
func ECE(p Predictions) (float64, error) {
	m, err := classification(p)
	return m.ECE, err
}

// DemographicParityDifference is max_g P(ŷ=1 | g) − min_g P(ŷ=1 | g) over the
// groups, with ŷ the argmax prediction (trust/fairness.DPD, fairlearn's
// demographic_parity_difference). NaN, not 0, with fewer than two groups:
// the gap is undefined there.
func DemographicParityDifference(p Predictions) (float64, error) {
	idx, n, err := p.groupIndex()
	if err != nil {
		return 0, err
	}
	if n < 2 {
		return math.NaN(), nil
	}
	return fairness.DPD(fairness.HardPredictions(p.Probs), idx)
}

// EqualizedOddsDifference is the larger of the true-positive-rate spread and
// the false-positive-rate spread across groups (trust/fairness.EOD,
// fairlearn's equalized_odds_difference). NaN with fewer than two groups.
func EqualizedOddsDifference(p Predictions) (float64, error) {
	idx, n, err := p.groupIndex()
	if err != nil {
		return 0, err
	}
	if n < 2 {
		return math.NaN(), nil
	}
	return fairness.EOD(fairness.HardPredictions(p.Probs), p.Labels, idx)
}

// Common metric definitions.
var (
	DefAccuracy = Def{Name: "accuracy", Label: "Accuracy", Unit: "%", Scale: 100, HigherBetter: true,
		Doc: "share of test rows whose argmax class is the label"}
	DefAUC = Def{Name: "auc", Label: "ROC AUC", Unit: "", Scale: 1, HigherBetter: true,
		Doc: "area under the ROC curve of P(class 1)"}
	DefECE = Def{Name: "ece", Label: "ECE", Unit: "%", Scale: 100, HigherBetter: false,
		Doc: "expected calibration error over equal-width confidence bins"}
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
			v, err = ECE(p)
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
