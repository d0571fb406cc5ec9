package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/metrics"
	"github.com/w2st/w2st/pipeline/stats"
)

func iv(mean, lo, hi float64) *stats.Interval {
	return &stats.Interval{Mean: mean, Lo: lo, Hi: hi, N: 2}
}

// summary builds a hand-made two-seed summary; weakHash/ceilHash name the
// shared stages so that deduplication can be tested.
func summary(st pipeline.Strategy, weakHash, ceilHash string, w2sAcc float64, pgrAcc *stats.Interval) *pipeline.Summary {
	defs := []metrics.Def{metrics.DefAccuracy, metrics.DefDPD}
	agg := func(acc, dpd float64) map[string]map[string]*stats.Interval {
		return map[string]map[string]*stats.Interval{"test": {"accuracy": iv(acc, acc-0.05, acc+0.05), "dpd": iv(dpd, dpd-0.01, dpd+0.01)}}
	}
	pgr := pipeline.PGRSummary{Interval: pgrAcc, Seeds: 2, Defined: 2}
	if pgrAcc == nil {
		pgr.Defined, pgr.Note = 0, "undefined on 2 of 2 seeds: [strong ceiling is not better than weak]"
	}
	return &pipeline.Summary{
		Name: "fairness-" + string(st), Property: "fairness", Strategy: st, StrategyDoc: st.Describe(),
		Regularizer: "demographic_parity", Lambda: 2, RegularizeWeak: st.RegularizeWeak(), RegularizeStrong: st.RegularizeStrong(),
		Weak: pipeline.ModelInfo{Spec: "tiny", Parameters: 1500}, Strong: pipeline.ModelInfo{Spec: "small", Parameters: 2_500_000},
		Seeds: []int64{0, 1}, Train: pipeline.FileRef{Name: "train", Rows: 100},
		Tests: []pipeline.FileRef{{Name: "test", Rows: 40}}, Metrics: defs, CIMethod: stats.CIMethod, Bootstrap: 1000,
		PerSeed: []pipeline.SeedResult{
			{Seed: 0, SplitSizes: pipeline.SplitSizes{Weak: 50, Strong: 50}, Stages: stages(weakHash+"0", ceilHash+"0")},
			{Seed: 1, SplitSizes: pipeline.SplitSizes{Weak: 50, Strong: 50}, Stages: stages(weakHash+"1", ceilHash+"1")},
		},
		Aggregate: map[string]map[string]map[string]*stats.Interval{
			pipeline.RoleWeak: agg(0.70, 0.20), pipeline.RoleCeiling: agg(0.90, 0.10), pipeline.RoleW2S: agg(w2sAcc, 0.15),
		},
		PGR: map[string]map[string]pipeline.PGRSummary{"test": {"accuracy": pgr, "dpd": {Interval: iv(0.5, 0.4, 0.6), Seeds: 2, Defined: 2}}},
	}
}

func stages(weak, ceil string) map[string]pipeline.StageRef {
	return map[string]pipeline.StageRef{pipeline.RoleWeak: {Hash: weak}, pipeline.RoleCeiling: {Hash: ceil}}
}

func TestMarkdownAndCSV(t *testing.T) {
	sums := []*pipeline.Summary{
		summary(pipeline.StrategyWeakWTSTFT, "wr", "cr", 0.85, nil),
		summary(pipeline.StrategyNone, "wp", "cp", 0.80, iv(0.5, 0.25, 0.75)),
		summary(pipeline.StrategyWeakTFT, "wr", "cp", 0.78, iv(0.4, 0.3, 0.5)), // shares weak with weak-wts-tft, ceiling with none
	}
	groups, err := Build(sums)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 {
		t.Fatalf("%d groups", len(groups))
	}
	// 2 distinct weak models, 2 distinct ceilings, 3 students.
	if n := len(groups[0].Rows); n != 7 {
		for _, r := range groups[0].Rows {
			t.Log(r.Name)
		}
		t.Fatalf("%d rows, want 7", n)
	}
	md := Markdown(groups)
	for _, want := range []string{
		"| Model | Accuracy (%) ↑ | DPD (pp) ↓ | PGR Accuracy ↑ | PGR DPD ↑ |",
		"Seeds: 0, 1 (n = 2)",
		"95% percentile bootstrap over seeds",
		// Hand-formatted cells: accuracy 0.80 ± 0.05 in percent; DPD 0.15 ± 0.01 in pp; PGR 0.5 [0.25, 0.75].
		"| W2S · vanilla | 80.0 [75.0, 85.0] | 15.0 [14.0, 16.0] | 0.500 [0.250, 0.750] | 0.500 [0.400, 0.600] |",
		"| Weak model · plain | 70.0 [65.0, 75.0] | 20.0 [19.0, 21.0] | — | — |",
		"Weak model · TFT (λ=2)",
		"Strong ceiling · TFT (λ=2)",
		"undefined (ceiling ≤ weak)",
		"↑ means higher is better",
		"D_weak 50 rows, D_strong 50 rows",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Row order: weak rows, ceilings, then students in strategy order.
	iNone := strings.Index(md, "W2S · vanilla")
	iBoth := strings.Index(md, "W2S · Weak+WTS TFT (λ=2)")
	iCeil := strings.Index(md, "Strong ceiling · plain")
	if !(iCeil < iNone && iNone < iBoth) {
		t.Errorf("row order wrong")
	}
	b, err := CSV(groups)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// 7 rows × 2 metrics + 3 students × 2 PGRs + header.
	if len(recs) != 1+14+6 {
		t.Fatalf("%d CSV records", len(recs))
	}
	found := false
	for _, r := range recs {
		if r[2] == "W2S · vanilla" && r[5] == "pgr" && r[6] == "accuracy" {
			found = r[8] == "0.5" && r[9] == "0.25" && r[10] == "0.75" && r[11] == "2"
		}
	}
	if !found {
		t.Errorf("CSV lacks the vanilla accuracy PGR 0.5 [0.25, 0.75]:\n%s", b)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	sums := []*pipeline.Summary{summary(pipeline.StrategyNone, "a", "b", 0.8, iv(0.5, 0.25, 0.75)), summary(pipeline.StrategyWTSTFT, "a", "c", 0.82, nil)}
	f, _, err := Write(dir, sums)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Plots) != 4 { // accuracy-vs-dpd and pgr, png+svg each
		t.Fatalf("plots %v", f.Plots)
	}
	for _, p := range f.Plots {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(p) {
		case ".png":
			if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Errorf("%s is not a PNG", p)
			}
		case ".svg":
			if !bytes.Contains(b, []byte("<svg")) {
				t.Errorf("%s is not an SVG", p)
			}
		}
	}
	md, _ := os.ReadFile(f.Markdown)
	if !strings.Contains(string(md), "-pgr.png") {
		t.Errorf("report does not link the PGR plot")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestBuildRejectsMismatchedSeeds(t *testing.T) {
	a := summary(pipeline.StrategyNone, "a", "b", 0.8, nil)
	b := summary(pipeline.StrategyWTSTFT, "a", "c", 0.8, nil)
	b.Seeds = []int64{0, 1, 2}
	if _, err := Build([]*pipeline.Summary{a, b}); err == nil {
		t.Error("mismatched seeds: want error")
	}
	if _, err := Build(nil); err == nil {
		t.Error("no summaries: want error")
	}
}

// FuzzReadSummaryAndReport feeds arbitrary bytes to the summary reader and
// renders whatever it accepts: neither may panic.
func FuzzReadSummaryAndReport(f *testing.F) {
	good, err := json.Marshal(summary(pipeline.StrategyNone, "a", "b", 0.8, iv(0.5, 0.25, 0.75)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"name":"x","property":"fairness","metric_defs":[{"name":"accuracy"}],"tests":[{"name":"t"}],"seeds":[0],"per_seed":[{"seed":0}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "summary.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := pipeline.ReadSummary(p)
		if err != nil {
			return
		}
		groups, err := Build([]*pipeline.Summary{s})
		if err != nil {
			return
		}
		_ = Markdown(groups)
		if _, err := CSV(groups); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBuildRejectsMixedExperiments: summaries of the same models from other
// experiments (another training pool, other hyperparameters) or the same
// summary twice would put incomparable or duplicate rows in one table.
func TestBuildRejectsMixedExperiments(t *testing.T) {
	cases := []struct {
		name string
		mod  func(b *pipeline.Summary)
		want string // "" = accepted
	}{
		{"another strategy of the same experiment", func(b *pipeline.Summary) {}, ""},
		{"same strategy and λ twice", func(b *pipeline.Summary) { b.Strategy, b.Name = pipeline.StrategyNone, "fairness-none" }, "fairness-none (strategy none, λ=2) is given twice"},
		{"vanilla twice, other λ", func(b *pipeline.Summary) { b.Strategy, b.Lambda = pipeline.StrategyNone, 1 }, "(strategy none, λ=1) is given twice"},
		{"other epochs", func(b *pipeline.Summary) { b.Hyper.Epochs = 4 }, "other hyperparameters"},
		{"other training pool", func(b *pipeline.Summary) { b.Train.SHA256 = "ffffffffffffffffff" }, "training pool ffffffffffff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := summary(pipeline.StrategyNone, "a", "b", 0.8, nil)
			b := summary(pipeline.StrategyWTSTFT, "a", "c", 0.8, nil)
			c.mod(b)
			_, err := Build([]*pipeline.Summary{a, b})
			if c.want == "" && err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}
