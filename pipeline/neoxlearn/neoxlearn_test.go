package neoxlearn

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/accel/train"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/batching"
	"github.com/w2st/w2st/pipeline"
)

func TestParseModel(t *testing.T) {
	cases := []struct {
		spec                         string
		hidden, layers, heads, vocab int
		inter                        int
		wantErr                      string
	}{
		{spec: "tiny:hidden=32,layers=3,heads=4,vocab=300", hidden: 32, layers: 3, heads: 4, vocab: 300, inter: 128},
		{spec: "tiny:intermediate=40,hidden=32", hidden: 32, layers: 2, heads: 2, vocab: 50304, inter: 40},
		{spec: "tiny:depth=3", wantErr: "unknown override"},
		{spec: "tiny:hidden=x", wantErr: "positive integer"},
		{spec: "tiny:hidden", wantErr: "key=value"},
		{spec: "tiny:hidden=8,heads=2", wantErr: "rotary"}, // head size 4 → 1 rotary dim, invalid
		{spec: "no-such-model", wantErr: "preset"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			cfg, w, err := ParseModel(c.spec, 2)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w != "" || cfg.HiddenSize != c.hidden || cfg.NumLayers != c.layers || cfg.NumHeads != c.heads || cfg.VocabSize != c.vocab || cfg.IntermediateSize != c.inter || cfg.NumLabels != 2 {
				t.Errorf("got %+v (weights %q)", cfg, w)
			}
		})
	}
}

// TestTrainPredict trains a tiny classifier on a separable toy task (label 1
// iff token 3 occurs), exports it and predicts from the export.
func TestTrainPredict(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	b := accel.MustCPU()
	defer b.Finalize()
	var rows []data.Example
	for i := 0; i < 64; i++ {
		ids := []int32{int32(4 + i%7), int32(5 + i%5), int32(6 + i%3), int32(4 + i%4)}
		label := int32(i % 2)
		if label == 1 {
			ids[i%4] = 3
		}
		rows = append(rows, data.Example{ID: string(rune('a' + i%26)), InputIDs: ids, Label: label, Group: []string{"F", "M"}[i%2]})
	}
	h := pipeline.DefaultHyper()
	h.LR, h.Epochs, h.BatchSize = 1e-2, 8, 16
	spec := pipeline.TrainSpec{Model: "tiny:hidden=16,layers=1,heads=2,vocab=16", Labels: "gt", Loss: "xent", Seed: 1,
		NumLabels: 2, Groups: []string{"F", "M"}, PadID: 0, Hyper: h, Regularizer: "demographic_parity", Lambda: 0.1}
	l := New(b)
	dir, work := t.TempDir(), t.TempDir()
	info, err := l.Train(spec, rows, dir, work)
	if err != nil {
		t.Fatal(err)
	}
	if info.Steps != 32 || info.Examples != 8*64 {
		t.Errorf("train info %+v", info)
	}
	for _, f := range []string{"config.json", "model.safetensors", "train.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("model dir: %v", err)
		}
	}
	probs, err := l.Predict(spec, dir, rows)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range probs {
		if len(p) != 2 || math.Abs(float64(p[0]+p[1])-1) > 1e-5 {
			t.Fatalf("row %d: probabilities %v", i, p)
		}
		if (p[1] > p[0]) == (rows[i].Label == 1) {
			correct++
		}
	}
	if correct < 48 {
		t.Errorf("train accuracy %d/64 after %d steps (final loss %.3f)", correct, info.Steps, info.FinalLoss)
	}
	// Row order is kept: predictions of reversed rows are the reversed predictions.
	rev := slices.Clone(rows)
	slices.Reverse(rev)
	rp, err := l.Predict(spec, dir, rev)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rp {
		if !slices.Equal(rp[i], probs[len(probs)-1-i]) {
			t.Fatalf("row %d: %v vs %v", i, rp[i], probs[len(probs)-1-i])
		}
	}
	bad := spec
	bad.Regularizer = "nope"
	if _, err := l.Train(bad, rows, t.TempDir(), t.TempDir()); err == nil {
		t.Error("unknown regularizer: want error")
	}
}

func TestBatcherSource(t *testing.T) {
	var rows []data.Example
	for i := 0; i < 10; i++ {
		rows = append(rows, data.Example{ID: "dup", InputIDs: make([]int32, 1+i%3), Group: "g", SoftLabel: []float32{1}})
	}
	in := indexed(rows, false)
	for i, r := range in {
		if r.ID != strconv.Itoa(i) || r.SoftLabel != nil || int(r.Length) != len(r.InputIDs) {
			t.Fatalf("indexed row %d: %+v", i, r)
		}
	}
	if rows[0].ID != "dup" {
		t.Fatal("indexed modified its input")
	}
	bt, err := batching.NewBatcher(in, batching.Options{BatchSize: 4, Classes: 2, Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	src := train.Epochs(bt)
	first := func(epoch int) []string {
		if err := src.Reset(epoch); err != nil {
			t.Fatal(err)
		}
		b, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		return b.IDs
	}
	// An epoch's order is a function of the epoch index only (needed for exact resume).
	a, _ := first(1), first(2)
	if b := first(1); !slices.Equal(a, b) {
		t.Errorf("epoch 1 order changed: %v then %v", a, b)
	}
	if src.Len() != bt.NumBatches() {
		t.Errorf("Len %d, NumBatches %d", src.Len(), bt.NumBatches())
	}
}

// TestInfoChecksCheckpointFiles: Info (which the pipeline calls before any
// training) rejects an HF folder whose safetensors is corrupt or missing,
// instead of failing only when that model's stage starts.
func TestInfoChecksCheckpointFiles(t *testing.T) {
	b := accel.MustCPU()
	defer b.Finalize()
	cfg, _, err := ParseModel("tiny:hidden=8,layers=1,heads=1,vocab=32", 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	if err := neox.Materialize(b, ctx, cfg); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "model")
	if err := neox.Export(ctx, cfg, good); err != nil {
		t.Fatal(err)
	}
	l := New(b)
	if mi, err := l.Info(good, 2); err != nil || mi.VocabSize != 32 {
		t.Fatalf("good folder: %+v, %v", mi, err)
	}
	st, err := os.ReadFile(filepath.Join(good, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		content []byte // nil: no safetensors file
		want    string
	}{
		{"truncated", st[:len(st)/2], "model.safetensors"},
		{"missing", nil, "safetensors"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			cj, err := os.ReadFile(filepath.Join(good, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "config.json"), cj, 0o644); err != nil {
				t.Fatal(err)
			}
			if c.content != nil {
				if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), c.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := l.Info(dir, 2); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}
