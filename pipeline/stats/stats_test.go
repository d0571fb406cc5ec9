package stats

import (
	"math"
	"sort"
	"testing"
)

func TestComputePGR(t *testing.T) {
	cases := []struct {
		name               string
		weak, ceiling, w2s float64
		higherBetter       bool
		want               float64
		defined            bool
	}{
		// Hand-computed: (0.8-0.7)/(0.9-0.7) = 0.5.
		{"accuracy half recovered", 0.7, 0.9, 0.8, true, 0.5, true},
		{"w2s equals ceiling", 0.6, 0.8, 0.8, true, 1, true},
		{"w2s below weak", 0.6, 0.8, 0.5, true, -0.5, true},
		{"w2s above ceiling", 0.6, 0.8, 0.9, true, 1.5, true},
		// Lower is better (DPD): weak 0.30, ceiling 0.10, w2s 0.25 → (0.30-0.25)/(0.30-0.10) = 0.25.
		{"dpd quarter recovered", 0.30, 0.10, 0.25, false, 0.25, true},
		{"dpd w2s worse than weak", 0.30, 0.10, 0.40, false, -0.5, true},
		{"ceiling equals weak", 0.7, 0.7, 0.8, true, 0, false},
		{"ceiling below weak", 0.7, 0.6, 0.8, true, 0, false},
		{"dpd ceiling worse than weak", 0.10, 0.30, 0.2, false, 0, false},
		{"NaN", math.NaN(), 0.9, 0.8, true, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ComputePGR(c.weak, c.ceiling, c.w2s, c.higherBetter)
			if got.Defined != c.defined {
				t.Fatalf("Defined = %v (reason %q), want %v", got.Defined, got.Reason, c.defined)
			}
			if !c.defined {
				if got.Reason == "" {
					t.Errorf("undefined PGR without a reason")
				}
				return
			}
			if math.Abs(got.Value-c.want) > 1e-12 {
				t.Errorf("PGR = %v, want %v", got.Value, c.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	// Type-7 values computed by hand (they equal numpy.quantile's default):
	// x = [1 2 3 4 10], h = 4q.
	x := []float64{1, 2, 3, 4, 10}
	cases := []struct{ q, want float64 }{
		{0, 1}, {1, 10}, {0.5, 3}, {0.25, 2}, {0.1, 1.4}, {0.9, 7.6}, {0.975, 9.4}, {0.025, 1.1},
	}
	for _, c := range cases {
		if got := Quantile(x, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := Quantile([]float64{7}, 0.3); got != 7 {
		t.Errorf("single value: %v", got)
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Errorf("empty: want NaN")
	}
}

func TestBootstrapCIHandCases(t *testing.T) {
	cases := []struct {
		name   string
		xs     []float64
		lo, hi float64
	}{
		// Every resample of identical values has the same mean.
		{"constant", []float64{2, 2, 2}, 2, 2},
		// One seed: the interval is the value.
		{"single", []float64{0.42}, 0.42, 0.42},
		// Two seeds [1,3]: resample means are 1 (p=1/4), 2 (1/2), 3 (1/4); the
		// 2.5% and 97.5% quantiles are the extremes.
		{"two seeds", []float64{1, 3}, 1, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iv, err := BootstrapCI(c.xs, 0.95, 2000, 1)
			if err != nil {
				t.Fatal(err)
			}
			if iv.Lo != c.lo || iv.Hi != c.hi || iv.N != len(c.xs) {
				t.Errorf("got %+v, want [%v, %v]", iv, c.lo, c.hi)
			}
			if math.Abs(iv.Mean-Mean(c.xs)) > 1e-15 {
				t.Errorf("mean %v", iv.Mean)
			}
		})
	}
}

// TestBootstrapCIMatchesExactEnumeration compares the Monte Carlo bootstrap
// with the exact bootstrap distribution, obtained by enumerating all n^n
// resamples of a small sample.
func TestBootstrapCIMatchesExactEnumeration(t *testing.T) {
	xs := []float64{0, 1, 2, 10}
	n := len(xs)
	var exact []float64
	idx := make([]int, n)
	for {
		s := 0.0
		for _, i := range idx {
			s += xs[i]
		}
		exact = append(exact, s/float64(n))
		k := 0
		for k < n {
			idx[k]++
			if idx[k] < n {
				break
			}
			idx[k] = 0
			k++
		}
		if k == n {
			break
		}
	}
	sort.Float64s(exact) // 256 equally likely means
	// Exact quantiles of the discrete distribution: the smallest atom whose CDF
	// reaches q.
	inv := func(q float64) float64 {
		for i, v := range exact {
			if float64(i+1)/float64(len(exact)) >= q {
				return v
			}
		}
		return exact[len(exact)-1]
	}
	iv, err := BootstrapCI(xs, 0.95, 100000, 7)
	if err != nil {
		t.Fatal(err)
	}
	if wantLo, wantHi := inv(0.025), inv(0.975); iv.Lo != wantLo || iv.Hi != wantHi {
		t.Errorf("bootstrap [%v, %v], exact enumeration [%v, %v]", iv.Lo, iv.Hi, wantLo, wantHi)
	}
	again, _ := BootstrapCI(xs, 0.95, 100000, 7)
	if again != iv {
		t.Errorf("same seed gave %+v then %+v", iv, again)
	}
}

func TestBootstrapCIErrors(t *testing.T) {
	if _, err := BootstrapCI(nil, 0.95, 10, 0); err == nil {
		t.Error("empty: want error")
	}
	if _, err := BootstrapCI([]float64{1}, 1.5, 10, 0); err == nil {
		t.Error("level 1.5: want error")
	}
	if _, err := BootstrapCI([]float64{1, 2}, 0.95, 0, 0); err == nil {
		t.Error("0 resamples: want error")
	}
	if _, err := BootstrapCI([]float64{1, math.NaN()}, 0.95, 10, 0); err == nil {
		t.Error("NaN: want error")
	}
}

func BenchmarkBootstrapCI(b *testing.B) {
	xs := []float64{0.71, 0.74, 0.69, 0.73, 0.70}
	for b.Loop() {
		if _, err := BootstrapCI(xs, 0.95, 10000, 1); err != nil {
			b.Fatal(err)
		}
	}
}
