package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/trust"
	"github.com/w2st/w2st/trust/fairness"
)

// The loop with the real GPT-NeoX graph (tiny preset): a crash and resume
// reach bit-identical weights, and the HF export reloads to the same
// predictions.
func TestNeoXResumeAndExport(t *testing.T) {
	cfg, err := neox.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	batches := make([]*data.Batch, 4)
	for i := range batches {
		b := makeBatch(r, 4, 3+i%2, 8)
		for k := range b.Tokens {
			b.Tokens[k] *= 97 // spread the ids over the real vocabulary
		}
		batches[i] = b
	}
	model := NeoXModel(cfg, 0)
	tcfg := Config{LR: 1e-3, WeightDecay: 0.01, Epochs: 2, ClipNorm: 1, AccumSteps: 2, Seed: 1, CheckpointEvery: 1,
		Regularizers: []trust.Regularizer{fairness.NewDemographicParity(1)}}
	ref := context.New()
	if _, err := Train(testBackend, ref, model, &SliceSource{Batches: batches, Shuffle: true, Seed: 9}, tcfg); err != nil {
		t.Fatal(err)
	}
	run := tcfg
	run.CheckpointDir = filepath.Join(t.TempDir(), "ckpt")
	run.Resume = true
	crash := &failingSource{SliceSource: SliceSource{Batches: batches, Shuffle: true, Seed: 9}, failEpoch: 1, failAt: 2}
	if _, err := Train(testBackend, context.New(), model, crash, run); !errors.Is(err, errCrash) {
		t.Fatalf("want the crash, got %v", err)
	}
	resumed := context.New()
	res, err := Train(testBackend, resumed, model, &SliceSource{Batches: batches, Shuffle: true, Seed: 9}, run)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 3 || res.Steps != 4 {
		t.Fatalf("resumed from %d to %d, want 3 and 4", res.ResumedFrom, res.Steps)
	}
	a, b := varValues(t, ref), varValues(t, resumed)
	for name, va := range a {
		vb := b[name]
		if len(vb) != len(va) {
			t.Fatalf("%s: missing after resume", name)
		}
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				t.Fatalf("%s[%d]: resumed %v != uninterrupted %v", name, i, vb[i], va[i])
			}
		}
	}

	dir := t.TempDir()
	if err := neox.Export(resumed, cfg, dir); err != nil {
		t.Fatal(err)
	}
	loaded := context.New()
	if err := neox.LoadWeights(loaded, cfg, dir); err != nil {
		t.Fatal(err)
	}
	p1, _, err := Predict(testBackend, resumed, model, &SliceSource{Batches: batches})
	if err != nil {
		t.Fatal(err)
	}
	p2, _, err := Predict(testBackend, loaded, model, &SliceSource{Batches: batches})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1 {
		for c := range p1[i] {
			if p1[i][c] != p2[i][c] {
				t.Fatalf("row %d: trained %v, exported+reloaded %v", i, p1[i], p2[i])
			}
		}
	}
}

// The default decay exclusion is HF's rule (no decay for *.bias and
// *layernorm.weight) on every GPT-NeoX parameter, by the variables' ranks.
func TestDefaultNoDecayMatchesHFRuleOnNeoX(t *testing.T) {
	cfg, err := neox.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range cfg.Params() {
		hf := strings.HasSuffix(p.Name, ".bias") || strings.Contains(p.Name, "layernorm") || strings.Contains(p.Name, "layer_norm")
		if got := DefaultNoDecay("", p.Name, len(p.Shape)); got != hf {
			t.Errorf("%s %v: DefaultNoDecay %v, HF rule %v", p.Name, p.Shape, got, hf)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d parameters", n)
	}
}
