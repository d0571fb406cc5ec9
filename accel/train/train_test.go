package train

import (
	"bufio"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/trust"
	"github.com/w2st/w2st/trust/fairness"
)

func tinyBatches(seed uint64, n, size, real, seq int) []*data.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]*data.Batch, n)
	for i := range out {
		out[i] = makeBatch(r, size, real, seq)
	}
	return out
}

func TestTrainLearnsAndLogs(t *testing.T) {
	dir := t.TempDir()
	batches := tinyBatches(1, 8, 16, 16, 6)
	ctx := newCtx()
	logPath := filepath.Join(dir, "log.jsonl")
	res, err := Train(testBackend, ctx, tinyModel, &SliceSource{Batches: batches, Shuffle: true, Seed: 3},
		Config{LR: 0.05, Epochs: 6, Targets: TargetsGT, LogPath: logPath, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 48 || res.TotalSteps != 48 || res.StepsPerEpoch != 8 || res.Compilations != 1 {
		t.Fatalf("steps %d/%d per epoch %d, %d graphs; want 48/48/8, 1", res.Steps, res.TotalSteps, res.StepsPerEpoch, res.Compilations)
	}
	m, err := Evaluate(testBackend, ctx, tinyModel, &SliceSource{Batches: batches})
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 128 || m.Accuracy < 0.85 || m.AUC < 0.9 {
		t.Fatalf("after training: %+v, want n=128, accuracy >= 0.85, AUC >= 0.9", m)
	}
	t.Logf("res %+v metrics %+v", res, m)
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	var first, last StepLog
	for sc.Scan() {
		var sl StepLog
		if err := json.Unmarshal(sc.Bytes(), &sl); err != nil {
			t.Fatalf("log line %d: %v", n+1, err)
		}
		if n == 0 {
			first = sl
		}
		last = sl
		n++
		if sl.Step != n || sl.Examples != 16 || sl.Tokens <= 0 || !(sl.GradNorm > 0) || sl.TokensPerS <= 0 {
			t.Fatalf("log line %d: %+v", n, sl)
		}
	}
	if n != 48 {
		t.Fatalf("log has %d lines, want 48", n)
	}
	if !(last.Loss < first.Loss) {
		t.Fatalf("loss did not go down: first %g last %g", first.Loss, last.Loss)
	}
	if first.LR != 0.05 || math.Abs(last.LR-0.05*0.5*(1+math.Cos(math.Pi*47/48))) > 1e-12 {
		t.Fatalf("lr first %g last %g: not the cosine schedule", first.LR, last.LR)
	}
}

// With labels tied to the group (the group is visible as token 4), the
// demographic-parity penalty trades accuracy for a smaller gap in P(y=1).
func TestFairnessPenaltyShrinksTheGap(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	var batches []*data.Batch
	for k := 0; k < 8; k++ {
		b := makeBatch(r, 16, 16, 6)
		for i := 0; i < b.Size; i++ {
			g := int32(i % 2)
			b.Groups[i] = g
			if g == 1 {
				b.Tokens[i*b.SeqLen] = 4 // the group marker
			}
			y := g
			if r.Float64() < 0.1 {
				y = 1 - g
			}
			b.Labels[i] = y
		}
		batches = append(batches, b)
	}
	gap := func(lambda float64) (float64, float64) {
		ctx := newCtx()
		cfg := Config{LR: 0.05, Epochs: 8, Targets: TargetsGT, Seed: 2}
		if lambda > 0 {
			cfg.Regularizers = []trust.Regularizer{fairness.NewDemographicParity(lambda)}
		}
		if _, err := Train(testBackend, ctx, tinyModel, &SliceSource{Batches: batches, Shuffle: true, Seed: 1}, cfg); err != nil {
			t.Fatal(err)
		}
		p, err := PredictAll(testBackend, ctx, tinyModel, &SliceSource{Batches: batches})
		if err != nil {
			t.Fatal(err)
		}
		dpd, err := fairness.DPD(fairness.HardPredictions(p.Probs), p.Groups)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ComputeMetrics(p.Probs, p.Labels)
		if err != nil {
			t.Fatal(err)
		}
		return dpd, m.Accuracy
	}
	dpd0, acc0 := gap(0)
	dpd1, acc1 := gap(5)
	t.Logf("λ=0: DPD %.3f accuracy %.3f; λ=5: DPD %.3f accuracy %.3f", dpd0, acc0, dpd1, acc1)
	if !(dpd0 > 0.4 && dpd1 < dpd0/3) {
		t.Fatalf("DPD %.3f without and %.3f with the penalty: want > 0.4 and less than a third of it", dpd0, dpd1)
	}
}
