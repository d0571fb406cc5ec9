package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // GoMLX graph DSL
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/data"
)

// refFixture is testdata/adamw_ref.json, written by scripts/train/adamw_ref.py
// with PyTorch (torch.optim.AdamW, clip_grad_norm_, torch.quantile).
type refFixture struct {
	Vocab, Classes int
	Init           struct {
		Table [][]float32
		Bias  []float32
	}
	Batches []struct {
		Tokens []int32
		Soft   [][]float32
		Mask   []float32
	}
	Cases []struct {
		Name, Loss string
		Config     struct {
			LR          float64 `json:"lr"`
			WeightDecay float64 `json:"weight_decay"`
			WarmupFrac  float64 `json:"warmup_frac"`
			Epochs      int     `json:"epochs"`
			AccumSteps  int     `json:"accum_steps"`
			ClipNorm    float64 `json:"clip_norm"`
		}
		Expected struct {
			Table     []float32
			Bias      []float32
			Losses    []float64
			GradNorms []float64 `json:"grad_norms"`
		}
	}
}

// refModel: logits_i = table[token_i] + bias (variables created by the test).
func refModel(ctx *context.Context, b *BatchNodes) *Node {
	c := ctx.In("ref")
	table := c.VariableWithShape("table", shapes.Make(dtypes.Float32, 5, 2)).ValueGraph(b.Tokens.Graph())
	bias := c.VariableWithShape("bias", shapes.Make(dtypes.Float32, 2)).ValueGraph(b.Tokens.Graph())
	return Add(Gather(table, b.Tokens), ExpandAxes(bias, 0)) // tokens [B,1] -> [B,2]
}

func TestMatchesPyTorchReference(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "adamw_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx refFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	var batches []*data.Batch
	for _, rb := range fx.Batches {
		n := len(rb.Tokens)
		b := &data.Batch{Size: n, SeqLen: 1, Classes: 2, Tokens: rb.Tokens, Lengths: make([]int32, n), Labels: make([]int32, n),
			Groups: make([]int32, n), Mask: rb.Mask}
		for i := range rb.Tokens {
			b.Lengths[i] = 1
			b.SoftLabels = append(b.SoftLabels, rb.Soft[i]...)
			if rb.Mask[i] > 0 {
				b.Real++
			}
		}
		batches = append(batches, b)
	}
	if len(fx.Cases) != 4 {
		t.Fatalf("%d cases in the fixture", len(fx.Cases))
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ctx := context.New()
			var flat []float32
			for _, row := range fx.Init.Table {
				flat = append(flat, row...)
			}
			ctx.In("ref").VariableWithValue("table", tensors.FromFlatDataAndDimensions(flat, fx.Vocab, fx.Classes))
			ctx.In("ref").VariableWithValue("bias", tensors.FromFlatDataAndDimensions(append([]float32(nil), fx.Init.Bias...), fx.Classes))
			logPath := filepath.Join(t.TempDir(), "log.jsonl")
			cfg := c.Config
			res, err := Train(testBackend, ctx, refModel, &SliceSource{Batches: batches}, Config{
				LR: cfg.LR, WeightDecay: cfg.WeightDecay, WarmupFrac: cfg.WarmupFrac, Epochs: cfg.Epochs,
				AccumSteps: cfg.AccumSteps, ClipNorm: cfg.ClipNorm, Loss: c.Loss, LogPath: logPath})
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != len(c.Expected.Losses) {
				t.Fatalf("%d steps, the reference %d", res.Steps, len(c.Expected.Losses))
			}
			logs := readLog(t, logPath)
			for i, sl := range logs {
				if math.Abs(sl.Loss-c.Expected.Losses[i]) > 2e-6 || math.Abs(sl.GradNorm-c.Expected.GradNorms[i]) > 2e-6 {
					t.Fatalf("step %d: loss %.7g grad norm %.7g; PyTorch %.7g %.7g", i+1, sl.Loss, sl.GradNorm, c.Expected.Losses[i], c.Expected.GradNorms[i])
				}
			}
			got := varValues(t, ctx)
			var worst float64
			check := func(name string, want []float32) {
				g := got[name]
				if len(g) != len(want) {
					t.Fatalf("%s: %d values, want %d", name, len(g), len(want))
				}
				for i := range want {
					worst = math.Max(worst, math.Abs(float64(g[i]-want[i])))
					if math.Abs(float64(g[i]-want[i])) > 1e-5 {
						t.Fatalf("%s[%d] = %.7g, PyTorch %.7g", name, i, g[i], want[i])
					}
				}
			}
			check("/ref/table", c.Expected.Table)
			check("/ref/bias", c.Expected.Bias)
			t.Logf("%d steps: max |w - w_torch| = %.2g", res.Steps, worst)
		})
	}
}
