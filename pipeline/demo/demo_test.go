package demo

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/cache"
)

// priorLearner predicts the training pool's class prior for every row: a
// cheap stand-in for the GoMLX learner (cmd/w2st's demo test runs the real one).
type priorLearner struct{ trains int }

func (*priorLearner) ID() string { return "prior-test" }
func (*priorLearner) Info(m string, _ int) (pipeline.ModelInfo, error) {
	n := int64(len(m))
	return pipeline.ModelInfo{Spec: m, VocabSize: 1 << 20, Parameters: n}, nil
}
func (l *priorLearner) Train(spec pipeline.TrainSpec, rows []data.Example, dir, _ string) (pipeline.TrainInfo, error) {
	l.trains++
	p1 := 0.0
	for _, r := range rows {
		if spec.Labels == "soft" {
			p1 += float64(r.SoftLabel[1])
		} else {
			p1 += float64(r.Label)
		}
	}
	b, _ := json.Marshal(p1 / float64(len(rows)))
	return pipeline.TrainInfo{Examples: len(rows)}, os.WriteFile(filepath.Join(dir, "p1"), b, 0o644)
}
func (*priorLearner) Predict(_ pipeline.TrainSpec, dir string, rows []data.Example) ([][]float32, error) {
	b, err := os.ReadFile(filepath.Join(dir, "p1"))
	if err != nil {
		return nil, err
	}
	var p1 float32
	if err := json.Unmarshal(b, &p1); err != nil {
		return nil, err
	}
	out := make([][]float32, len(rows))
	for i := range out {
		out[i] = []float32{1 - p1, p1}
	}
	return out, nil
}

func TestRunRecomputesAForeignCache(t *testing.T) {
	out := t.TempDir()
	s := Quick()
	s.TrainRows, s.TestRows = 40, 20
	var log bytes.Buffer
	l := &priorLearner{}
	res, err := Run(Options{Out: out, Setting: s, Code: "v1", Log: &log}, l)
	if err != nil {
		t.Fatal(err)
	}
	// 2 seeds × (2 weak + 2 ceilings + 4 students).
	if l.trains != 16 {
		t.Errorf("%d trainings, want 16", l.trains)
	}
	if !strings.Contains(res.Markdown, "| W2S · Weak+WTS TFT (λ=0.5) |") {
		t.Errorf("report:\n%s", res.Markdown)
	}
	if _, err := os.Stat(res.Report.Markdown); err != nil {
		t.Error(err)
	}
	// Same version: everything cached.
	if _, err := Run(Options{Out: out, Setting: s, Code: "v1", Log: &log}, l); err != nil || l.trains != 16 {
		t.Fatalf("rerun: %d trainings, err %v", l.trains, err)
	}
	// Another version: the demo's own cache is recomputed, not refused.
	log.Reset()
	if _, err := Run(Options{Out: out, Setting: s, Code: "v2", Log: &log}, l); err != nil {
		t.Fatal(err)
	}
	if l.trains != 32 || !strings.Contains(log.String(), "another w2st version") {
		t.Errorf("after a version change: %d trainings; log:\n%s", l.trains, log.String())
	}
	m, err := os.ReadFile(filepath.Join(out, "experiment", cache.ManifestName))
	if err != nil || !strings.Contains(string(m), `"v2"`) {
		t.Errorf("manifest %s (%v)", m, err)
	}
}
