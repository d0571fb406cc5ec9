package accel

import (
	"fmt"
	"math"
	"time"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// SelfTestResult reports a compile-and-execute check of a backend.
type SelfTestResult struct {
	CompileAndRun time.Duration `json:"compile_and_run_ns"`
	SecondRun     time.Duration `json:"second_run_ns"`
	MaxError      float64       `json:"max_error"`
}

// SelfTest compiles and executes a small graph on b — a matrix product, a
// softmax and the gradient of a loss through both — and compares the results
// with values computed on the host. A PJRT ABI mismatch between go-xla and a
// plugin shows up here (at execution), not when the plugin is loaded.
func SelfTest(b *Backend) (res SelfTestResult, err error) {
	const n = 64
	a := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%7-3) / 8
	}
	x := tensors.FromFlatDataAndDimensions(a, n, n)
	// loss = sum(softmax(x @ x^T, axis=-1) * c); its gradient wrt a scalar s that scales x is checked too.
	fn := func(x *graph.Node) []*graph.Node {
		y := graph.Dot(x, graph.Transpose(x, 0, 1))
		p := graph.Softmax(y, -1)
		sum := graph.ReduceAllSum(graph.Mul(p, graph.Iota(x.Graph(), p.Shape(), 1)))
		g := graph.Gradient(sum, x)[0]
		return []*graph.Node{y, sum, graph.ReduceAllSum(graph.Abs(g))}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("self-test on %s: %v", b.Info.Spec, r)
		}
	}()
	exec, err := graph.NewExec(b, fn)
	if err != nil {
		return res, fmt.Errorf("self-test: building graph: %w", err)
	}
	start := time.Now()
	out, err := exec.Exec(x)
	if err != nil {
		return res, fmt.Errorf("self-test: executing on %s: %w", b.Info.Spec, err)
	}
	res.CompileAndRun = time.Since(start)
	start = time.Now()
	if _, err := exec.Exec(x); err != nil {
		return res, fmt.Errorf("self-test: second execution on %s: %w", b.Info.Spec, err)
	}
	res.SecondRun = time.Since(start)

	y := tensors.MustCopyFlatData[float32](out[0])
	var sum float64
	for i := 0; i < n; i++ {
		row := make([]float64, n)
		maxv := math.Inf(-1)
		for j := 0; j < n; j++ {
			var d float64
			for k := 0; k < n; k++ {
				d += float64(a[i*n+k]) * float64(a[j*n+k])
			}
			row[j] = d
			res.MaxError = math.Max(res.MaxError, math.Abs(d-float64(y[i*n+j]))/math.Max(1, math.Abs(d)))
			maxv = math.Max(maxv, d)
		}
		var z float64
		for j := range row {
			row[j] = math.Exp(row[j] - maxv)
			z += row[j]
		}
		for j := range row {
			sum += row[j] / z * float64(j)
		}
	}
	got := float64(tensors.MustCopyFlatData[float32](out[1])[0])
	res.MaxError = math.Max(res.MaxError, math.Abs(got-sum)/math.Max(1, math.Abs(sum)))
	gradAbs := float64(tensors.MustCopyFlatData[float32](out[2])[0])
	if res.MaxError > 1e-2 || math.IsNaN(res.MaxError) {
		return res, fmt.Errorf("self-test on %s: results differ from the host reference (max relative error %g)", b.Info.Spec, res.MaxError)
	}
	if !(gradAbs > 0) || math.IsInf(gradAbs, 0) {
		return res, fmt.Errorf("self-test on %s: gradient is %g, want finite and non-zero", b.Info.Spec, gradAbs)
	}
	return res, nil
}
