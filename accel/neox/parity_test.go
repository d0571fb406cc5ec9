package neox

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/accel/safetensors"
)

// fixture is one parity case written by scripts/reference/neox_ref.py.
type fixture struct {
	dir      string
	cfg      Config
	logits   []float32
	loss     float32
	grads    map[string][]float32
	gradList []string
	batch    int
	seq      int
	labels   int
	tokFlat  []int32
	lensFlat []int32
	softFlat []float32
}

func loadFixture(t *testing.T, name string) *fixture {
	t.Helper()
	dir := filepath.Join("testdata", "parity", name)
	cfg, weights, err := Resolve(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if weights != dir {
		t.Fatalf("Resolve(%s) weights path %q", dir, weights)
	}
	f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := &fixture{dir: dir, cfg: cfg, grads: map[string][]float32{}}
	readF := func(n string) ([]float32, []int) {
		ti, ok := f.Lookup(n)
		if !ok {
			t.Fatalf("%s: expected.safetensors has no %q", dir, n)
		}
		out := make([]float32, ti.NumElements())
		if err := f.ReadFloat32(n, out); err != nil {
			t.Fatal(err)
		}
		return out, ti.Shape
	}
	readI := func(n string) ([]int32, []int) {
		ti, _ := f.Lookup(n)
		raw := make([]byte, ti.NumBytes())
		if err := f.ReadInto(n, raw); err != nil {
			t.Fatal(err)
		}
		out := make([]int32, ti.NumElements())
		for i := range out {
			out[i] = int32(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		return out, ti.Shape
	}
	tok, tshape := readI("tokens")
	lens, _ := readI("lengths")
	soft, sshape := readF("soft_labels")
	fx.batch, fx.seq, fx.labels = tshape[0], tshape[1], sshape[1]
	fx.tokFlat, fx.lensFlat, fx.softFlat = tok, lens, soft
	fx.logits, _ = readF("logits")
	l, _ := readF("loss")
	fx.loss = l[0]
	for _, ti := range f.Tensors() {
		if g, ok := strings.CutPrefix(ti.Name, "grad/"); ok {
			fx.grads[g], _ = readF(ti.Name)
			fx.gradList = append(fx.gradList, g)
		}
	}
	sort.Strings(fx.gradList)
	return fx
}

// softXent is the mean soft-label cross-entropy, -Σ p·log_softmax(logits).
func softXent(logits, soft *Node) *Node {
	return Neg(ReduceAllMean(ReduceSum(Mul(soft, LogSoftmax(logits, -1)), -1)))
}

// runForwardBackward returns logits, loss and the gradients of gradNames.
func runForwardBackward(t *testing.T, ctx *context.Context, cfg Config, fx *fixture, opts ForwardOptions, gradNames []string) ([]float32, float32, map[string][]float32) {
	t.Helper()
	backend := accel.MustCPU()
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, tokens, lengths, soft *Node) []*Node {
		logits := Logits(ctx, cfg, tokens, lengths, opts)
		loss := softXent(logits, soft)
		var vars []*Node
		for _, n := range gradNames {
			vctx, name := VariableFor(ctx, n)
			v := vctx.GetVariableByScopeAndName(vctx.Scope(), name)
			if v == nil {
				panic(fmt.Sprintf("no variable for %s", n))
			}
			vars = append(vars, v.ValueGraph(tokens.Graph()))
		}
		out := []*Node{logits, loss}
		if len(vars) > 0 {
			out = append(out, Gradient(loss, vars...)...)
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	// Fresh tensors per call: a tensor that went to one backend cannot be fed to another.
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(fx.tokFlat, fx.batch, fx.seq),
		tensors.FromFlatDataAndDimensions(fx.lensFlat, fx.batch),
		tensors.FromFlatDataAndDimensions(fx.softFlat, fx.batch, fx.labels))
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float32{}
	for i, n := range gradNames {
		grads[n] = tensors.MustCopyFlatData[float32](outs[2+i])
	}
	return tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])[0], grads
}

// maxRelErr is max|a-b| / max|b| (or max|a-b| when b is all zero).
func maxRelErr(a, b []float32) float64 {
	var d, m float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	if m == 0 {
		return d
	}
	return d / m
}

func maxAbsErr(a, b []float32) float64 {
	var d float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestParityWithPyTorch compares logits, loss and gradients of a soft-label
// cross-entropy with the independent PyTorch reference (computed in float64):
// parallel and sequential residual, rotary_pct 0.25 and 0.5, F32/BF16/F16
// checkpoints (one sharded, one with extra HF buffers), padded batches of mixed
// lengths with random ids in the padding, and an absent score head.
func TestParityWithPyTorch(t *testing.T) {
	for _, name := range []string{"parallel", "sequential", "noscore"} {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			ctx := context.New()
			if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
				t.Fatal(err)
			}
			logits, loss, grads := runForwardBackward(t, ctx, fx.cfg, fx, ForwardOptions{}, fx.gradList)
			t.Logf("logits max abs err %.3g", maxAbsErr(logits, fx.logits))
			for _, n := range fx.gradList {
				t.Logf("grad %s max rel err %.3g", n, maxRelErr(grads[n], fx.grads[n]))
			}
			if e := maxAbsErr(logits, fx.logits); e > 1e-5 {
				t.Errorf("logits max abs error %.3g > 1e-5\n got  %v\n want %v", e, logits, fx.logits)
			}
			if e := math.Abs(float64(loss - fx.loss)); e > 1e-5 {
				t.Errorf("loss %v, want %v", loss, fx.loss)
			}
			if len(fx.gradList) < 3 {
				t.Fatalf("fixture has only %d gradients", len(fx.gradList))
			}
			for _, n := range fx.gradList {
				if e := maxRelErr(grads[n], fx.grads[n]); e > 1e-4 {
					t.Errorf("grad %s: max rel error %.3g > 1e-4", n, e)
				}
			}
		})
	}
}

// TestPaddingIDsDoNotMatter replaces every padding token by other ids: the
// logits must not change (pooling and masking use the explicit lengths).
func TestPaddingIDsDoNotMatter(t *testing.T) {
	fx := loadFixture(t, "parallel")
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	tok := append([]int32(nil), fx.tokFlat...)
	for b := 0; b < fx.batch; b++ {
		for s := int(fx.lensFlat[b]); s < fx.seq; s++ {
			tok[b*fx.seq+s] = int32((b*7 + s*3) % fx.cfg.VocabSize)
		}
	}
	fx2 := *fx
	fx2.tokFlat = tok
	logits, _, _ := runForwardBackward(t, ctx, fx.cfg, &fx2, ForwardOptions{}, nil)
	if e := maxAbsErr(logits, fx.logits); e > 1e-5 {
		t.Errorf("logits changed by %.3g when padding ids changed", e)
	}
}
