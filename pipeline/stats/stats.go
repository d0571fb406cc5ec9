// Package stats computes the numbers a weak-to-strong experiment reports:
// the performance gap recovered (PGR) and the mean with a 95% percentile
// bootstrap confidence interval over seeds.
package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// PGR is a performance-gap-recovered value that may be undefined.
type PGR struct {
	Value   float64 `json:"value"`
	Defined bool    `json:"defined"`
	// Reason says why the value is undefined (empty when Defined).
	Reason string `json:"reason,omitempty"`
}

// ComputePGR returns (w2s − weak) / (ceiling − weak) with every metric oriented
// so that higher is better: for a metric where lower is better (higherBetter
// false) the three values are negated first, so PGR = (weak − w2s) / (weak −
// ceiling). PGR is undefined when the ceiling is not strictly better than the
// weak model (the gap is ≤ 0) or any input is NaN/Inf.
func ComputePGR(weak, ceiling, w2s float64, higherBetter bool) PGR {
	for _, v := range []float64{weak, ceiling, w2s} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return PGR{Reason: "a metric value is NaN or infinite"}
		}
	}
	if !higherBetter {
		weak, ceiling, w2s = -weak, -ceiling, -w2s
	}
	gap := ceiling - weak
	if gap <= 0 {
		return PGR{Reason: fmt.Sprintf("strong ceiling is not better than weak (gap %.4g ≤ 0)", gap)}
	}
	return PGR{Value: (w2s - weak) / gap, Defined: true}
}

// Mean is the arithmetic mean; NaN for no values.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of sorted by linear
// interpolation between closest ranks (Hyndman & Fan type 7, the default of R
// and NumPy): h = (n−1)·q, Q = x[⌊h⌋] + (h−⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]).
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if q <= 0 {
		return sorted[0]
	}
	if q >= 1 {
		return sorted[n-1]
	}
	h := float64(n-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= n {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// CIMethod describes the interval BootstrapCI computes, for reports.
const CIMethod = "95% percentile bootstrap over seeds (resampling seeds with replacement, statistic = mean, quantiles by linear interpolation)"

// Interval is a mean with its confidence interval.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"ci_lo"`
	Hi   float64 `json:"ci_hi"`
	N    int     `json:"n"` // number of values (seeds)
}

// ErrNoValues is returned by BootstrapCI for an empty sample.
var ErrNoValues = errors.New("no values")

// BootstrapCI returns the mean of xs and its percentile-bootstrap confidence
// interval at the given level (e.g. 0.95): resamples of len(xs) values drawn
// with replacement, the mean of each, and the (1−level)/2 and (1+level)/2
// quantiles of those means. The resampling is driven by a PCG generator seeded
// with seed, so the interval is reproducible. With one value the interval is
// that value.
func BootstrapCI(xs []float64, level float64, resamples int, seed uint64) (Interval, error) {
	n := len(xs)
	if n == 0 {
		return Interval{}, ErrNoValues
	}
	if !(level > 0 && level < 1) {
		return Interval{}, fmt.Errorf("confidence level %v: want 0 < level < 1", level)
	}
	if resamples < 1 {
		return Interval{}, fmt.Errorf("bootstrap resamples %d: want ≥ 1", resamples)
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Interval{}, fmt.Errorf("value %d is %v", i, x)
		}
	}
	out := Interval{Mean: Mean(xs), N: n}
	if n == 1 {
		out.Lo, out.Hi = xs[0], xs[0]
		return out, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	means := make([]float64, resamples)
	for b := range means {
		s := 0.0
		for range n {
			s += xs[rng.IntN(n)]
		}
		means[b] = s / float64(n)
	}
	sort.Float64s(means)
	out.Lo = Quantile(means, (1-level)/2)
	out.Hi = Quantile(means, (1+level)/2)
	return out, nil
}
