// Package batching turns tokenized rows into fixed-shape data.Batch values:
// a few length buckets chosen from the length histogram to minimise padding,
// a fixed batch size, a masked ragged tail and a deterministic order per seed.
package batching

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Histogram counts rows by token length: Histogram[L] rows have length L.
type Histogram []int64

// Add counts one row of length n.
func (h *Histogram) Add(n int) {
	for len(*h) <= n {
		*h = append(*h, 0)
	}
	(*h)[n]++
}

// Rows is the number of rows counted.
func (h Histogram) Rows() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Tokens is the total number of tokens counted.
func (h Histogram) Tokens() int64 {
	var n int64
	for l, c := range h {
		n += int64(l) * c
	}
	return n
}

// Plan is a set of length buckets: a row of length L is padded to the first
// bound >= L.
type Plan struct {
	Bounds       []int   // ascending padded lengths; the last is the longest row
	Rows         []int64 // rows per bucket
	RealTokens   int64   // sum of row lengths
	PaddedTokens int64   // sum over rows of their bucket's bound
}

// Bucket returns the index of the bucket for a row of length n, or -1 when n
// exceeds the last bound.
func (p Plan) Bucket(n int) int {
	i := sort.SearchInts(p.Bounds, n)
	if i == len(p.Bounds) {
		return -1
	}
	return i
}

// Efficiency is RealTokens / PaddedTokens (1 = no padding), ignoring the
// ragged tail of each bucket.
func (p Plan) Efficiency() float64 {
	if p.PaddedTokens == 0 {
		return 1
	}
	return float64(p.RealTokens) / float64(p.PaddedTokens)
}

// BatchEfficiency is real tokens over the tokens of all fixed-shape batches of
// batchSize rows, counting the masked rows of each bucket's last batch.
func (p Plan) BatchEfficiency(batchSize int) float64 {
	var padded int64
	for i, r := range p.Rows {
		nb := (r + int64(batchSize) - 1) / int64(batchSize)
		padded += nb * int64(batchSize) * int64(p.Bounds[i])
	}
	if padded == 0 {
		return 1
	}
	return float64(p.RealTokens) / float64(padded)
}

// NumBatches is the number of batches of batchSize rows the plan gives.
func (p Plan) NumBatches(batchSize int) int {
	n := 0
	for _, r := range p.Rows {
		n += int((r + int64(batchSize) - 1) / int64(batchSize))
	}
	return n
}

// FixedPlan assigns the histogram to the given bounds (ascending, positive);
// rows longer than the last bound are an error.
func FixedPlan(h Histogram, bounds []int) (Plan, error) {
	if len(bounds) == 0 {
		return Plan{}, errors.New("batching: no bucket bounds")
	}
	for i, b := range bounds {
		if b < 1 || (i > 0 && b <= bounds[i-1]) {
			return Plan{}, fmt.Errorf("batching: bucket bounds %v must be positive and strictly ascending", bounds)
		}
	}
	p := Plan{Bounds: append([]int(nil), bounds...), Rows: make([]int64, len(bounds))}
	var over int64 // rows longer than the last bound, and the longest
	longest := 0
	for l, c := range h {
		if c == 0 {
			continue
		}
		if l < 1 {
			return Plan{}, fmt.Errorf("batching: %d rows have length 0 (empty token lists)", c)
		}
		i := p.Bucket(l)
		if i < 0 {
			over += c
			longest = l
			continue
		}
		p.Rows[i] += c
		p.RealTokens += int64(l) * c
		p.PaddedTokens += int64(p.Bounds[i]) * c
	}
	if over > 0 {
		return Plan{}, fmt.Errorf("batching: %d rows (up to length %d) exceed the largest bucket %d", over, longest, bounds[len(bounds)-1])
	}
	return p, nil
}

// PlanBuckets chooses at most maxBuckets bounds that minimise the padded
// tokens for the histogram (an exact dynamic programme over the distinct
// lengths: cost(bucket) = its bound × its rows).
func PlanBuckets(h Histogram, maxBuckets int) (Plan, error) {
	if maxBuckets < 1 {
		return Plan{}, fmt.Errorf("batching: need at least one bucket, got %d", maxBuckets)
	}
	var lens []int
	var cnt []int64
	for l, c := range h {
		if c == 0 {
			continue
		}
		if l < 1 {
			return Plan{}, fmt.Errorf("batching: %d rows have length 0 (empty token lists)", c)
		}
		lens = append(lens, l)
		cnt = append(cnt, c)
	}
	m := len(lens)
	if m == 0 {
		return Plan{}, errors.New("batching: no rows")
	}
	k := min(maxBuckets, m)
	prefix := make([]int64, m+1)
	for i, c := range cnt {
		prefix[i+1] = prefix[i] + c
	}
	// f[j][i]: least padded tokens covering lens[0..i) with j buckets, the
	// last ending at lens[i-1]; arg[j][i] the start of that last bucket.
	inf := int64(math.MaxInt64)
	f := make([][]int64, k+1)
	arg := make([][]int, k+1)
	for j := range f {
		f[j] = make([]int64, m+1)
		arg[j] = make([]int, m+1)
		for i := range f[j] {
			f[j][i] = inf
		}
	}
	f[0][0] = 0
	for j := 1; j <= k; j++ {
		for i := j; i <= m; i++ {
			bound := int64(lens[i-1])
			for s := j - 1; s < i; s++ { // last bucket holds lens[s..i)
				if f[j-1][s] == inf {
					continue
				}
				c := f[j-1][s] + bound*(prefix[i]-prefix[s])
				if c < f[j][i] {
					f[j][i], arg[j][i] = c, s
				}
			}
		}
	}
	best := 1
	for j := 2; j <= k; j++ {
		if f[j][m] < f[best][m] {
			best = j
		}
	}
	var bounds []int
	for j, i := best, m; j > 0; j-- {
		bounds = append(bounds, lens[i-1])
		i = arg[j][i]
	}
	sort.Ints(bounds)
	return FixedPlan(h, bounds)
}
