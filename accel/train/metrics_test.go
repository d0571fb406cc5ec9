package train

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestAUC(t *testing.T) {
	cases := []struct {
		name   string
		scores []float64
		pos    []bool
		want   float64
	}{
		{"sklearn doc example", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{"ties count half", []float64{0.5, 0.5, 0.5, 0.9}, []bool{false, true, false, true}, 0.75},
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all tied", []float64{0.3, 0.3, 0.3}, []bool{true, false, true}, 0.5},
	}
	for _, c := range cases {
		if got := AUC(c.scores, c.pos); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: AUC %g, want %g", c.name, got, c.want)
		}
	}
	if !math.IsNaN(AUC([]float64{0.1, 0.2}, []bool{true, true})) {
		t.Error("no negatives: want NaN")
	}
}

func TestComputeMetricsHandComputed(t *testing.T) {
	probs := [][]float32{{0.1, 0.9}, {0.2, 0.8}, {0.6, 0.4}, {0.45, 0.55}}
	labels := []int32{1, 0, 0, 1}
	m, err := ComputeMetrics(probs, labels)
	if err != nil {
		t.Fatal(err)
	}
	// Confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.55 (right) fall in 4 different bins of width 1/15.
	wantECE := (0.1 + 0.8 + 0.4 + 0.45) / 4
	wantLoss := -(math.Log(0.9) + math.Log(0.2) + math.Log(0.6) + math.Log(0.55)) / 4
	if m.N != 4 || m.Accuracy != 0.75 || math.Abs(m.AUC-0.75) > 1e-12 ||
		math.Abs(m.ECE-wantECE) > 1e-6 || math.Abs(m.Loss-wantLoss) > 1e-6 {
		t.Fatalf("metrics %+v, want n 4, accuracy 0.75, AUC 0.75, ECE %g, loss %g", m, wantECE, wantLoss)
	}
	// Two rows in one bin: conf 0.9 right and 0.92 wrong -> |0.5 - 0.91| = 0.41.
	m, err = ComputeMetrics([][]float32{{0.1, 0.9}, {0.92, 0.08}}, []int32{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.ECE-0.41) > 1e-6 {
		t.Fatalf("ECE %g, want 0.41", m.ECE)
	}
}

func TestComputeMetricsErrors(t *testing.T) {
	if _, err := ComputeMetrics(nil, nil); err == nil {
		t.Error("no rows: no error")
	}
	if _, err := ComputeMetrics([][]float32{{0.5, 0.5}}, []int32{2}); err == nil {
		t.Error("label out of range: no error")
	}
	if _, err := ComputeMetrics([][]float32{{0.5, 0.5}}, []int32{0, 1}); err == nil {
		t.Error("length mismatch: no error")
	}
}

func TestMetricsJSONUndefinedIsNull(t *testing.T) {
	m, err := ComputeMetrics([][]float32{{0.3, 0.7}, {0.6, 0.4}}, []int32{1, 1}) // one class: AUC undefined
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"auc":null`; !json.Valid(raw) || !strings.Contains(string(raw), want) {
		t.Fatalf("%s lacks %s", raw, want)
	}
	var back Metrics
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.AUC) || back.Accuracy != 0.5 || back.N != 2 {
		t.Fatalf("round trip: %+v", back)
	}
}
