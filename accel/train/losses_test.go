package train

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Hand-computed: p = softmax([ln 3, 0]) = [0.75, 0.25].
func TestPerExampleLossHandComputed(t *testing.T) {
	ln3 := float32(math.Log(3))
	cases := []struct {
		name      string
		loss      string
		logits    []float32
		targets   []float32
		coef, thr float32
		want      float64
	}{
		{"xent uniform logits one-hot", LossXent, []float32{0, 0}, []float32{1, 0}, 0, 0, math.Ln2},
		{"xent soft", LossXent, []float32{ln3, 0}, []float32{0.5, 0.5}, 0, 0, -(0.5*math.Log(0.75) + 0.5*math.Log(0.25))},
		// product: q ∝ p·t = [0.375, 0.125] -> [0.75, 0.25]
		{"product", LossProduct, []float32{ln3, 0}, []float32{0.5, 0.5}, 0, 0, -(0.75*math.Log(0.75) + 0.25*math.Log(0.25))},
		// logconf p0=0.75 >= θ=0.7 -> h=[1,0]; q = 0.5·[0.5,0.5] + 0.5·[1,0] = [0.75,0.25]
		{"logconf hardened to 0", LossLogconf, []float32{ln3, 0}, []float32{0.5, 0.5}, 0.5, 0.7, -(0.75*math.Log(0.75) + 0.25*math.Log(0.25))},
		// θ=0.8 > p0 -> h=[0,1]; q = [0.25, 0.75]
		{"logconf hardened to 1", LossLogconf, []float32{ln3, 0}, []float32{0.5, 0.5}, 0.5, 0.8, -(0.25*math.Log(0.75) + 0.75*math.Log(0.25))},
		// a=0: plain xent
		{"logconf coef 0", LossLogconf, []float32{ln3, 0}, []float32{0.5, 0.5}, 0, 0.8, -(0.5*math.Log(0.75) + 0.5*math.Log(0.25))},
		// a=1, p0 = θ counts as class 0 (p0 >= θ)
		{"logconf tie at threshold", LossLogconf, []float32{ln3, 0}, []float32{0, 1}, 1, 0.75, -math.Log(0.75)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := ExecOnce(testBackend, func(l, y, a, th *Node) *Node {
				return PerExampleLoss(c.loss, l, y, LossInputs{Coef: a, Threshold: th})
			}, tensors.FromFlatDataAndDimensions(c.logits, 1, 2), tensors.FromFlatDataAndDimensions(c.targets, 1, 2), c.coef, c.thr)
			if err != nil {
				t.Fatal(err)
			}
			got := float64(tensors.MustCopyFlatData[float32](out)[0])
			if math.Abs(got-c.want) > 1e-6 {
				t.Fatalf("loss %g, want %g", got, c.want)
			}
		})
	}
}

func TestLogconfNeedsTwoClasses(t *testing.T) {
	_, err := ExecOnce(testBackend, func(l *Node) *Node {
		return PerExampleLoss(LossLogconf, l, l, LossInputs{Coef: ScalarOne(l.Graph(), dtypes.Float32), Threshold: ScalarOne(l.Graph(), dtypes.Float32)})
	}, tensors.FromFlatDataAndDimensions([]float32{1, 2, 3}, 1, 3))
	if err == nil {
		t.Fatal("logconf with 3 classes: no error")
	}
}

// Expected values are torch.quantile's (linear interpolation), by hand.
func TestQuantile(t *testing.T) {
	xs := []float64{4, 1, 3, 2}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 1.75}, {1.0 / 3, 2}, {0.5, 2.5}, {0.9, 3.7}, {1, 4}, {-1, 1}, {2, 4}} {
		if got := Quantile(xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v, %g) = %g, want %g", xs, c.q, got, c.want)
		}
	}
	if got := Quantile([]float64{5}, 0.3); got != 5 {
		t.Errorf("single value: %g", got)
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("empty: want NaN")
	}
}

func TestLogconfThreshold(t *testing.T) {
	// Weak prior of class 1 is 1/4; p0 sorted [0.1 0.3 0.8 0.9]; h = 3·0.25 = 0.75 -> 0.1 + 0.75·0.2 = 0.25.
	p0 := []float64{0.9, 0.8, 0.3, 0.1}
	thr := LogconfThreshold(p0, []float64{0, 0, 1, 0})
	if math.Abs(thr-0.25) > 1e-12 {
		t.Fatalf("threshold %g, want 0.25", thr)
	}
	ones := 0
	for _, p := range p0 {
		if p < thr {
			ones++
		}
	}
	if ones != 1 {
		t.Fatalf("%d rows hardened to class 1, want 1 (the weak prior 1/4 of 4 rows)", ones)
	}
	// Soft labels: prior = mean(0.2, 0.6) = 0.4 over p0 [0.2, 0.7]: 0.2 + 0.4·0.5 = 0.4.
	if got := LogconfThreshold([]float64{0.7, 0.2}, []float64{0.2, 0.6}); math.Abs(got-0.4) > 1e-12 {
		t.Fatalf("soft threshold %g, want 0.4", got)
	}
}

func TestLogconfWarmup(t *testing.T) {
	for _, c := range []struct{ f, want float64 }{{0, 0}, {0.02, 0.1}, {0.05, 0.25}, {0.1, 0.5}, {0.5, 0.5}, {1, 0.5}} {
		if got := LogconfWeight(0.5, 0.1, c.f); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LogconfWeight(0.5, 0.1, %g) = %g, want %g", c.f, got, c.want)
		}
	}
	if got := LogconfWeight(0.5, 0, 0); got != 0.5 {
		t.Errorf("no warm-up: %g", got)
	}
}

func TestLearningRate(t *testing.T) {
	cases := []struct {
		sched    string
		warm     float64
		s, total int
		want     float64
	}{
		{ScheduleCosine, 0, 0, 10, 1},
		{ScheduleCosine, 0, 5, 10, 0.5},
		{ScheduleCosine, 0, 9, 10, 0.5 * (1 + math.Cos(math.Pi*0.9))},
		{ScheduleCosine, 0.2, 0, 10, 0.5}, // warm-up 2 steps: 1/2
		{ScheduleCosine, 0.2, 1, 10, 1},   // 2/2
		{ScheduleCosine, 0.2, 2, 10, 1},   // cosine starts
		{ScheduleCosine, 0.2, 6, 10, 0.5}, // half-way through 8 cosine steps
		{ScheduleConstant, 0.2, 0, 10, 0.5},
		{ScheduleConstant, 0.2, 9, 10, 1},
	}
	for _, c := range cases {
		if got := LearningRate(1, c.sched, c.warm, c.s, c.total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LearningRate(%s, warm %g, step %d/%d) = %g, want %g", c.sched, c.warm, c.s, c.total, got, c.want)
		}
	}
}

func TestClipByGlobalNorm(t *testing.T) {
	// Norm of [3,4] and [12] is 13.
	cases := []struct {
		clip  float64
		scale float64
	}{{0, 1}, {100, 1}, {13, 1}, {6.5, 0.5}, {1.3, 0.1}}
	for _, c := range cases {
		e, err := NewExec(testBackend, func(a, b *Node) []*Node {
			gs, n := ClipByGlobalNorm([]*Node{a, b}, c.clip)
			return append(gs, n)
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := e.Exec([]float32{3, 4}, []float32{12})
		if err != nil {
			t.Fatal(err)
		}
		a, b := tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
		n := outs[2].Value().(float32)
		if math.Abs(float64(n)-13) > 1e-5 {
			t.Fatalf("clip %g: norm %g, want 13", c.clip, n)
		}
		want := []float64{3 * c.scale, 4 * c.scale, 12 * c.scale}
		got := []float32{a[0], a[1], b[0]}
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5 {
				t.Fatalf("clip %g: grads %v, want %v", c.clip, got, want)
			}
		}
	}
}
