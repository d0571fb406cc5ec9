package fastgrad

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	Install()
	b, err := simplego.New("parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withOriginalVJPs runs fn with GoMLX's own VJPs registered (tests in this
// package run sequentially, so the swap is not observed elsewhere).
func withOriginalVJPs(fn func()) {
	saved := map[graph.NodeType]graph.VJP{}
	for t, v := range original {
		saved[t] = graph.VJPRegistration[t]
		graph.VJPRegistration[t] = v
	}
	defer func() {
		for t, v := range saved {
			graph.VJPRegistration[t] = v
		}
	}()
	fn()
}

func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

func flat64(t *tensors.Tensor) []float64 {
	return tensors.MustCopyFlatData[float64](t)
}

type dotCase struct {
	name             string
	lhsDims, rhsDims []int
	lc, lb, rc, rb   []int
	useDot           bool // Dot (rank-2) instead of DotGeneral
}

var dotCases = []dotCase{
	{name: "matmul", lhsDims: []int{3, 4}, rhsDims: []int{4, 5}, lc: []int{1}, rc: []int{0}},
	{name: "matmul-transposed-rhs", lhsDims: []int{3, 4}, rhsDims: []int{5, 4}, lc: []int{1}, rc: []int{1}},
	{name: "batch-first", lhsDims: []int{2, 3, 4}, rhsDims: []int{2, 4, 5}, lc: []int{2}, lb: []int{0}, rc: []int{1}, rb: []int{0}},
	{name: "batch-not-first", lhsDims: []int{3, 2, 4}, rhsDims: []int{4, 5, 2}, lc: []int{2}, lb: []int{1}, rc: []int{0}, rb: []int{2}},
	{name: "permuted-contracting", lhsDims: []int{2, 3, 4, 5}, rhsDims: []int{5, 6, 3}, lc: []int{3, 1}, rc: []int{0, 2}},
	{name: "two-batch-permuted", lhsDims: []int{2, 3, 4, 5}, rhsDims: []int{3, 5, 2, 6}, lc: []int{3}, lb: []int{1, 0}, rc: []int{1}, rb: []int{0, 2}},
	{name: "attention-like", lhsDims: []int{2, 7, 3, 4}, rhsDims: []int{2, 6, 3, 4}, lc: []int{3}, lb: []int{0, 2}, rc: []int{3}, rb: []int{0, 2}},
	{name: "dot-rank2", lhsDims: []int{6, 4}, rhsDims: []int{4, 3}, useDot: true},
}

// dotLossGrads builds loss = sum(DotGeneral(lhs, rhs) * w) in dtype and
// returns [loss, dLoss/dlhs, dLoss/drhs] as float64.
func dotLossGrads(c dotCase, dtype dtypes.DType) func(lhs, rhs, w *graph.Node) []*graph.Node {
	return func(lhs, rhs, w *graph.Node) []*graph.Node {
		l, r := graph.ConvertDType(lhs, dtype), graph.ConvertDType(rhs, dtype)
		var out *graph.Node
		if c.useDot {
			out = graph.Dot(l, r)
		} else {
			out = graph.DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
		}
		loss := graph.ReduceAllSum(graph.Mul(graph.ConvertDType(out, dtypes.Float64), w))
		g := graph.Gradient(loss, l, r)
		return []*graph.Node{loss, graph.ConvertDType(g[0], dtypes.Float64), graph.ConvertDType(g[1], dtypes.Float64)}
	}
}

func outDims(b backends.Backend, c dotCase) []int {
	zeroL := tensors.FromShape(tensorsShape(c.lhsDims))
	zeroR := tensors.FromShape(tensorsShape(c.rhsDims))
	out := graph.MustExecOnce(b, func(l, r *graph.Node) *graph.Node {
		if c.useDot {
			return graph.Dot(l, r)
		}
		return graph.DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
	}, zeroL, zeroR)
	return out.Shape().Dimensions
}

func maxAbsDiff(a, b []float64) (d float64) {
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func maxAbs(a []float64) (m float64) {
	for _, v := range a {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// TestDotGeneralVJPMatchesOriginal compares the GEMM-based gradients with
// GoMLX's own broadcast-Mul VJP, in f64, f32 and bf16.
func TestDotGeneralVJPMatchesOriginal(t *testing.T) {
	b := testBackend(t)
	for _, c := range dotCases {
		for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32, dtypes.BFloat16} {
			t.Run(c.name+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(len(c.name))))
				lhs, rhs := randTensor(rng, c.lhsDims...), randTensor(rng, c.rhsDims...)
				w := randTensor(rng, outDims(b, c)...)
				fast := graph.MustExecOnceN(b, dotLossGrads(c, dt), lhs, rhs, w)
				var orig []*tensors.Tensor
				withOriginalVJPs(func() { orig = graph.MustExecOnceN(b, dotLossGrads(c, dt), lhs, rhs, w) })
				tol := map[dtypes.DType]float64{dtypes.Float64: 1e-12, dtypes.Float32: 1e-5, dtypes.BFloat16: 3e-2}[dt]
				for i, name := range []string{"lhs", "rhs"} {
					f, o := flat64(fast[i+1]), flat64(orig[i+1])
					if d := maxAbsDiff(f, o); d > tol*math.Max(1, maxAbs(o)) {
						t.Errorf("grad %s: max |fast-orig| = %g > %g (scale %g)", name, d, tol, maxAbs(o))
					}
					if maxAbs(f) == 0 {
						t.Errorf("grad %s is all zeros", name)
					}
				}
			})
		}
	}
}

// TestDotGeneralVJPFiniteDifferences checks the f64 gradients against central
// finite differences, an independent reference that does not use any VJP.
func TestDotGeneralVJPFiniteDifferences(t *testing.T) {
	b := testBackend(t)
	for _, c := range dotCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, uint64(len(c.name))))
			lhs, rhs := randTensor(rng, c.lhsDims...), randTensor(rng, c.rhsDims...)
			w := randTensor(rng, outDims(b, c)...)
			exec, err := graph.NewExec(b, dotLossGrads(c, dtypes.Float64))
			if err != nil {
				t.Fatal(err)
			}
			res := exec.MustExec(lhs, rhs, w)
			grads := [][]float64{flat64(res[1]), flat64(res[2])}
			const eps = 1e-5
			for which, base := range []*tensors.Tensor{lhs, rhs} {
				vals := flat64(base)
				for i := range vals {
					plus, minus := append([]float64(nil), vals...), append([]float64(nil), vals...)
					plus[i] += eps
					minus[i] -= eps
					lossAt := func(v []float64) float64 {
						pt := tensors.FromFlatDataAndDimensions(v, base.Shape().Dimensions...)
						args := []any{lhs, rhs, w}
						args[which] = pt
						return flat64(exec.MustExec(args...)[0])[0]
					}
					fd := (lossAt(plus) - lossAt(minus)) / (2 * eps)
					if d := math.Abs(fd - grads[which][i]); d > 1e-6*math.Max(1, math.Abs(fd)) {
						t.Fatalf("operand %d element %d: analytic %g, finite difference %g", which, i, grads[which][i], fd)
					}
				}
			}
		})
	}
}

// TestSliceVJP checks the Pad-free Slice gradient: for loss = sum(slice(x)*w)
// the gradient is w placed in the slice window and zero elsewhere (hand-derived).
func TestSliceVJP(t *testing.T) {
	b := testBackend(t)
	cases := []struct {
		name   string
		dims   []int
		starts []int
		limits []int
	}{
		{"middle-2d", []int{5, 6}, []int{1, 2}, []int{4, 5}},
		{"prefix-3d", []int{2, 7, 4}, []int{0, 0, 0}, []int{2, 3, 4}},
		{"suffix-last-axis", []int{3, 8}, []int{0, 5}, []int{3, 8}},
		{"single-row", []int{4, 3, 5}, []int{0, 2, 1}, []int{4, 3, 4}},
	}
	for _, c := range cases {
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
			t.Run(c.name+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 3))
				x := randTensor(rng, c.dims...)
				wDims := make([]int, len(c.dims))
				for i := range wDims {
					wDims[i] = c.limits[i] - c.starts[i]
				}
				w := randTensor(rng, wDims...)
				got := graph.MustExecOnce(b, func(x, w *graph.Node) *graph.Node {
					xc := graph.ConvertDType(x, dt)
					specs := make([]graph.SliceAxisSpec, len(c.dims))
					for i := range specs {
						specs[i] = graph.AxisRange(c.starts[i], c.limits[i])
					}
					s := graph.Slice(xc, specs...)
					loss := graph.ReduceAllSum(graph.Mul(graph.ConvertDType(s, dtypes.Float64), w))
					return graph.ConvertDType(graph.Gradient(loss, xc)[0], dtypes.Float64)
				}, x, w)
				g, wv := flat64(got), flat64(w)
				// Expected: w inside the window, 0 outside (bf16 rounds w).
				strides := make([]int, len(c.dims))
				s := 1
				for i := len(c.dims) - 1; i >= 0; i-- {
					strides[i] = s
					s *= c.dims[i]
				}
				wStrides := make([]int, len(wDims))
				s = 1
				for i := len(wDims) - 1; i >= 0; i-- {
					wStrides[i] = s
					s *= wDims[i]
				}
				tol := map[dtypes.DType]float64{dtypes.Float32: 1e-6, dtypes.BFloat16: 1e-2}[dt]
				for idx := range g {
					inside, wIdx := true, 0
					for ax := range c.dims {
						coord := idx / strides[ax] % c.dims[ax]
						if coord < c.starts[ax] || coord >= c.limits[ax] {
							inside = false
							break
						}
						wIdx += (coord - c.starts[ax]) * wStrides[ax]
					}
					want := 0.0
					if inside {
						want = wv[wIdx]
					}
					if math.Abs(g[idx]-want) > tol*math.Max(1, math.Abs(want)) {
						t.Fatalf("grad[%d] = %g, want %g", idx, g[idx], want)
					}
				}
			})
		}
	}
}

// TestSliceVJPComposite checks a nonlinear function of two overlapping slices
// against finite differences.
func TestSliceVJPComposite(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(4, 4))
	x := randTensor(rng, 3, 10)
	fn := func(x *graph.Node) []*graph.Node {
		a := graph.Slice(x, graph.AxisRange(), graph.AxisRange(0, 6))
		c := graph.Slice(x, graph.AxisRange(1, 3), graph.AxisRange(4, 10))
		loss := graph.Add(graph.ReduceAllSum(graph.Mul(graph.Tanh(a), a)), graph.ReduceAllSum(graph.Square(c)))
		return []*graph.Node{loss, graph.Gradient(loss, x)[0]}
	}
	exec, err := graph.NewExec(b, fn)
	if err != nil {
		t.Fatal(err)
	}
	res := exec.MustExec(x)
	grad := flat64(res[1])
	vals := flat64(x)
	const eps = 1e-5
	for i := range vals {
		p, m := append([]float64(nil), vals...), append([]float64(nil), vals...)
		p[i] += eps
		m[i] -= eps
		lp := flat64(exec.MustExec(tensors.FromFlatDataAndDimensions(p, 3, 10))[0])[0]
		lm := flat64(exec.MustExec(tensors.FromFlatDataAndDimensions(m, 3, 10))[0])[0]
		if fd := (lp - lm) / (2 * eps); math.Abs(fd-grad[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
			t.Fatalf("element %d: analytic %g, finite difference %g", i, grad[i], fd)
		}
	}
}

func TestInstallReplacesOnce(t *testing.T) {
	Install()
	Install()
	for _, nt := range []graph.NodeType{graph.NodeTypeDotGeneral, graph.NodeTypeDot, graph.NodeTypeSlice} {
		if !Replaced(nt) || Original(nt) == nil {
			t.Errorf("%s: not replaced or original missing", nt)
		}
	}
	if Replaced(graph.NodeTypeAdd) {
		t.Errorf("graph.Add reported as replaced")
	}
}

func tensorsShape(dims []int) shapes.Shape { return shapes.Make(dtypes.Float64, dims...) }
