package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/pipeline/cache"
	"github.com/w2st/w2st/pipeline/split"
	"github.com/w2st/w2st/pipeline/stats"
)

// linLearner is a host-side multinomial logistic regression on hashed bag-of-
// token features: a real (if simple) learner that lets the tests exercise the
// pipeline's orchestration without GoMLX. Model specs are "lin-D" (D features)
// with an optional ":vocab=V".
type linLearner struct {
	mu     sync.Mutex
	trains []TrainSpec
	soft   [][]data.Example // rows of each soft-label training call
}

func (l *linLearner) ID() string { return "lin-test-v1" }

func parseLin(spec string) (dim, vocab int, err error) {
	vocab = 1 << 20
	base, opt, _ := strings.Cut(spec, ":")
	if !strings.HasPrefix(base, "lin-") {
		return 0, 0, fmt.Errorf("unknown model %q", spec)
	}
	if dim, err = strconv.Atoi(strings.TrimPrefix(base, "lin-")); err != nil {
		return 0, 0, err
	}
	if v, ok := strings.CutPrefix(opt, "vocab="); ok {
		vocab, err = strconv.Atoi(v)
	}
	return dim, vocab, err
}

func (l *linLearner) Info(model string, numLabels int) (ModelInfo, error) {
	dim, vocab, err := parseLin(model)
	if err != nil {
		return ModelInfo{}, err
	}
	return ModelInfo{Spec: model, VocabSize: vocab, Parameters: int64((dim + 1) * numLabels)}, nil
}

func features(ex data.Example, dim int) []float64 {
	f := make([]float64, dim+1)
	for _, t := range ex.InputIDs {
		f[int(t)%dim] += 1 / float64(len(ex.InputIDs))
	}
	f[dim] = 1
	return f
}

func softmax(z []float64) []float32 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	s := 0.0
	e := make([]float64, len(z))
	for i, v := range z {
		e[i] = math.Exp(v - m)
		s += e[i]
	}
	out := make([]float32, len(z))
	for i := range e {
		out[i] = float32(e[i] / s)
	}
	return out
}

func (l *linLearner) Train(spec TrainSpec, rows []data.Example, dir, work string) (TrainInfo, error) {
	if st, err := os.Stat(work); err != nil || !st.IsDir() {
		return TrainInfo{}, fmt.Errorf("no work dir: %v", err)
	}
	dim, _, err := parseLin(spec.Model)
	if err != nil {
		return TrainInfo{}, err
	}
	l.mu.Lock()
	l.trains = append(l.trains, spec)
	if spec.Labels == "soft" {
		l.soft = append(l.soft, rows)
	}
	l.mu.Unlock()
	C := spec.NumLabels
	w := make([]float64, (dim+1)*C)
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 1))
	order := rng.Perm(len(rows))
	steps := 0
	for ep := 0; ep < spec.Hyper.Epochs; ep++ {
		for _, i := range order {
			f := features(rows[i], dim)
			z := make([]float64, C)
			for c := range C {
				for j, v := range f {
					z[c] += w[c*(dim+1)+j] * v
				}
			}
			p := softmax(z)
			for c := range C {
				target := 0.0
				if spec.Labels == "soft" {
					target = float64(rows[i].SoftLabel[c])
				} else if int(rows[i].Label) == c {
					target = 1
				}
				g := float64(p[c]) - target
				for j, v := range f {
					w[c*(dim+1)+j] -= spec.Hyper.LR * g * v
				}
			}
			steps++
		}
	}
	b, _ := json.Marshal(w)
	if err := os.WriteFile(filepath.Join(dir, "w.json"), b, 0o644); err != nil {
		return TrainInfo{}, err
	}
	return TrainInfo{Steps: steps, Examples: len(rows)}, nil
}

func (l *linLearner) Predict(spec TrainSpec, dir string, rows []data.Example) ([][]float32, error) {
	dim, _, err := parseLin(spec.Model)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "w.json"))
	if err != nil {
		return nil, err
	}
	var w []float64
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([][]float32, len(rows))
	for i, ex := range rows {
		f := features(ex, dim)
		z := make([]float64, spec.NumLabels)
		for c := range z {
			for j, v := range f {
				z[c] += w[c*(dim+1)+j] * v
			}
		}
		out[i] = softmax(z)
	}
	return out, nil
}

// writePool writes n synthetic rows: the label is 1 when the text says
// "high", with a noisy cue word; group alternates.
func writePool(t testing.TB, path string, n int, seed uint64, withGroups bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	words := []string{"alpha", "beta", "gamma", "delta", "eps", "zeta"}
	rows := make([]data.Example, n)
	for i := range rows {
		label := int32(rng.IntN(2))
		level := "low"
		if label == 1 {
			level = "high"
		}
		if rng.Float64() < 0.15 {
			level = map[string]string{"low": "high", "high": "low"}[level]
		}
		text := fmt.Sprintf("person %s %s income %s", words[rng.IntN(len(words))], words[rng.IntN(len(words))], level)
		g := ""
		if withGroups {
			g = []string{"Female", "Male"}[i%2]
		}
		rows[i] = data.Example{ID: fmt.Sprintf("r%04d", i), Text: text, Label: label, Group: g}
	}
	if err := parquetio.WriteFile(path, rows, parquetio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	dir, train, test string
}

func newFixture(t testing.TB) fixture {
	dir := t.TempDir()
	f := fixture{dir: dir, train: filepath.Join(dir, "train.parquet"), test: filepath.Join(dir, "test.parquet")}
	writePool(t, f.train, 200, 1, true)
	writePool(t, f.test, 80, 2, true)
	return f
}

func (f fixture) config(out string, strategies ...Strategy) Config {
	h := DefaultHyper()
	h.LR, h.Epochs = 0.5, 2
	return Config{Weak: "lin-2", Strong: "lin-16", Train: f.train, Test: f.test, Property: "fairness",
		Strategies: strategies, Lambda: 1, Seeds: []int64{0, 1}, Out: out, Hyper: h, Code: "test-v1", Bootstrap: 500}
}

func TestRunCachesAndReusesStages(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "exp")
	l := &linLearner{}
	sums, err := Run(f.config(out, StrategyNone, StrategyWeakWTSTFT), l)
	if err != nil {
		t.Fatal(err)
	}
	// Per seed: weak plain + weak regularized, ceiling plain + regularized, two students.
	if got := len(l.trains); got != 12 {
		t.Fatalf("first run trained %d models, want 12", got)
	}
	if len(sums) != 2 {
		t.Fatalf("%d summaries", len(sums))
	}
	for _, s := range sums {
		if _, err := os.Stat(filepath.Join(out, RunsDir, s.Name, SummaryFile)); err != nil {
			t.Errorf("summary not written: %v", err)
		}
		for _, sr := range s.PerSeed {
			if sr.SplitSizes.Weak != 100 || sr.SplitSizes.Strong != 100 {
				t.Errorf("split sizes %+v", sr.SplitSizes)
			}
			// The recorded PGR is the PGR of the recorded metrics.
			for _, d := range s.Metrics {
				m := func(role string) float64 { return float64(sr.Metrics[role][s.Tests[0].Name][d.Name]) }
				want := stats.ComputePGR(m(RoleWeak), m(RoleCeiling), m(RoleW2S), d.HigherBetter)
				if got := sr.PGR[s.Tests[0].Name][d.Name]; got.Defined != want.Defined || got.Value != want.Value {
					t.Errorf("seed %d %s: PGR %+v, want %+v", sr.Seed, d.Name, got, want)
				}
			}
		}
		acc := s.Aggregate[RoleW2S][s.Tests[0].Name]["accuracy"]
		mean := (float64(s.PerSeed[0].Metrics[RoleW2S][s.Tests[0].Name]["accuracy"]) + float64(s.PerSeed[1].Metrics[RoleW2S][s.Tests[0].Name]["accuracy"])) / 2
		if acc == nil || math.Abs(acc.Mean-mean) > 1e-12 || acc.N != 2 || acc.Lo > acc.Mean || acc.Hi < acc.Mean {
			t.Errorf("aggregate accuracy %+v, want mean %v", acc, mean)
		}
		if s.PerSeed[0].Metrics[RoleCeiling][s.Tests[0].Name]["accuracy"] < 0.7 {
			t.Errorf("ceiling did not learn the task: %+v", s.PerSeed[0].Metrics[RoleCeiling])
		}
	}
	// Strategies share stages: the plain weak model and the regularized one differ.
	none, both := sums[0].PerSeed[0].Stages, sums[1].PerSeed[0].Stages
	if none["split"].Hash != both["split"].Hash || none["weak"].Hash == both["weak"].Hash || none["ceiling"].Hash == both["ceiling"].Hash {
		t.Errorf("stage sharing wrong: none %v both %v", none, both)
	}
	// Every student trained on weak labels with the label column replaced.
	for _, rows := range l.soft {
		for _, ex := range rows {
			if ex.Label != int32(split.Argmax(ex.SoftLabel)) {
				t.Fatalf("student row %s: label %d, soft %v", ex.ID, ex.Label, ex.SoftLabel)
			}
		}
	}
	// A rerun hits the cache everywhere.
	l2 := &linLearner{}
	if _, err := Run(f.config(out, StrategyNone, StrategyWeakWTSTFT), l2); err != nil {
		t.Fatal(err)
	}
	if len(l2.trains) != 0 {
		t.Errorf("rerun trained %d models, want 0", len(l2.trains))
	}
	// A new strategy reuses the regularized weak model and the plain ceiling: only students train.
	l3 := &linLearner{}
	if _, err := Run(f.config(out, StrategyWeakTFT), l3); err != nil {
		t.Fatal(err)
	}
	if len(l3.trains) != 2 || l3.trains[0].Labels != "soft" || l3.trains[0].Regularizer != "" {
		t.Errorf("weak-tft after none+weak-wts-tft trained %+v, want only 2 plain students", l3.trains)
	}
	// --force recomputes every stage once, even when strategies share it.
	l4 := &linLearner{}
	cfg := f.config(out, StrategyNone, StrategyWeakTFT)
	cfg.Force = true
	if _, err := Run(cfg, l4); err != nil {
		t.Fatal(err)
	}
	if len(l4.trains) != 10 { // per seed: 2 weak, 1 shared ceiling, 2 students
		t.Errorf("force trained %d models, want 10", len(l4.trains))
	}
	// Another code version refuses the cache early.
	cfg = f.config(out, StrategyNone)
	cfg.Code = "test-v2"
	var ve *cache.VersionError
	if _, err := Run(cfg, &linLearner{}); !errors.As(err, &ve) {
		t.Errorf("foreign cache version: err = %v", err)
	}
}

func TestLeakCheckFailsTheRun(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "exp")
	cfg := f.config(out, StrategyNone)
	cfg.Seeds = []int64{0}
	sums, err := Run(cfg, &linLearner{})
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	// Craft a leak: put ground truth into the student's label column, then
	// drop the finished student stage so that it is recomputed.
	wlDir := filepath.Join(out, s.PerSeed[0].Stages["weaklabels"].Dir)
	student, err := parquetio.ReadAll(filepath.Join(wlDir, StudentFile))
	if err != nil {
		t.Fatal(err)
	}
	train, _ := parquetio.ReadAll(f.train)
	gt := map[string]int32{}
	for _, ex := range train {
		gt[ex.ID] = ex.Label
	}
	changed := 0
	for i := range student {
		if student[i].Label != gt[student[i].ID] {
			changed++
		}
		student[i].Label = gt[student[i].ID]
	}
	if changed == 0 {
		t.Fatal("test setup: the weak labels agree with ground truth everywhere; no leak to craft")
	}
	if err := parquetio.WriteFile(filepath.Join(wlDir, StudentFile), student, parquetio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(out, s.PerSeed[0].Stages["w2s"].Dir)); err != nil {
		t.Fatal(err)
	}
	l := &linLearner{}
	_, err = Run(cfg, l)
	var le *split.LeakError
	if !errors.As(err, &le) {
		t.Fatalf("crafted leak: err = %v, want a LeakError", err)
	}
	if len(l.soft) != 0 {
		t.Errorf("the student trained despite the leak")
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	noGroup := filepath.Join(f.dir, "nogroup.parquet")
	writePool(t, noGroup, 20, 3, false)
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"missing train", func(c *Config) { c.Train = filepath.Join(f.dir, "nope.parquet") }, "nope.parquet"},
		{"missing trust test", func(c *Config) { c.TrustTests = []string{filepath.Join(f.dir, "gone.parquet")} }, "gone.parquet"},
		{"test without group", func(c *Config) { c.Test = noGroup }, "nogroup.parquet row 1"},
		{"vocab too small", func(c *Config) { c.Strong = "lin-16:vocab=5" }, "vocabulary of 5 tokens"},
		{"property not yet supported", func(c *Config) { c.Property = "ood" }, "not yet supported"},
		{"unknown model", func(c *Config) { c.Weak = "gpt-9" }, "weak model"},
		{"negative lambda", func(c *Config) { c.Lambda = -1 }, "λ"},
		{"duplicate seed", func(c *Config) { c.Seeds = []int64{1, 1} }, "seed 1"},
		{"not parquet", func(c *Config) { c.Test = f.dir + "/x.csv"; _ = os.WriteFile(c.Test, []byte("a"), 0o644) }, "Parquet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := f.config(filepath.Join(t.TempDir(), "exp"), StrategyNone)
			c.mod(&cfg)
			l := &linLearner{}
			_, err := Run(cfg, l)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if len(l.trains) != 0 {
				t.Errorf("trained %d models before failing", len(l.trains))
			}
		})
	}
	// A weak model larger than the strong one is a warning, not an error.
	var log bytes.Buffer
	cfg := f.config(filepath.Join(t.TempDir(), "exp"), StrategyNone)
	cfg.Weak, cfg.Strong, cfg.Seeds, cfg.Log = "lin-16", "lin-2", []int64{0}, &log
	if _, err := Run(cfg, &linLearner{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "warning: the weak model lin-16") {
		t.Errorf("no size warning in log:\n%s", log.String())
	}
	if strings.Contains(log.String(), "is the training pool") {
		t.Errorf("train/test warning for distinct files:\n%s", log.String())
	}
	// A test set that is the training file itself is a warning too.
	log.Reset()
	cfg = f.config(filepath.Join(t.TempDir(), "exp"), StrategyNone)
	cfg.Test, cfg.TrustTests, cfg.Seeds, cfg.Log = f.train, []string{f.test}, []int64{0}, &log
	if _, err := Run(cfg, &linLearner{}); err != nil {
		t.Fatal(err)
	}
	if want := "warning: test set " + f.train + " is the training pool"; strings.Count(log.String(), "is the training pool") != 1 ||
		!strings.Contains(log.String(), want) {
		t.Errorf("want one %q warning in log:\n%s", want, log.String())
	}
}

func TestNumJSON(t *testing.T) {
	b, err := json.Marshal(map[string]Num{"a": Num(math.NaN()), "b": 0.5})
	if err != nil || string(b) != `{"a":null,"b":0.5}` {
		t.Fatalf("%s %v", b, err)
	}
	var m map[string]Num
	if err := json.Unmarshal(b, &m); err != nil || !math.IsNaN(float64(m["a"])) || m["b"] != 0.5 {
		t.Errorf("%v %v", m, err)
	}
}

func TestStrategies(t *testing.T) {
	cases := []struct {
		s            Strategy
		weak, strong bool
	}{{StrategyNone, false, false}, {StrategyWeakTFT, true, false}, {StrategyWTSTFT, false, true}, {StrategyWeakWTSTFT, true, true}}
	for _, c := range cases {
		if c.s.RegularizeWeak() != c.weak || c.s.RegularizeStrong() != c.strong {
			t.Errorf("%s: weak %v strong %v", c.s, c.s.RegularizeWeak(), c.s.RegularizeStrong())
		}
		if got, err := ParseStrategy(string(c.s)); err != nil || got != c.s {
			t.Errorf("ParseStrategy(%s) = %v, %v", c.s, got, err)
		}
	}
	if _, err := ParseStrategy("both"); err == nil {
		t.Error("unknown strategy: want error")
	}
}

// crashLearner fails the first soft-label (student) training after leaving a
// "checkpoint" in its work directory, like a run killed mid-stage.
type crashLearner struct {
	linLearner
	crashed bool
	sawCkpt bool
}

func (c *crashLearner) Train(spec TrainSpec, rows []data.Example, dir, work string) (TrainInfo, error) {
	if spec.Labels == "soft" {
		if _, err := os.Stat(filepath.Join(work, "ckpt")); err == nil {
			c.sawCkpt = true
		}
		if !c.crashed {
			c.crashed = true
			_ = os.WriteFile(filepath.Join(work, "ckpt"), []byte("step 7"), 0o644)
			return TrainInfo{}, errors.New("killed")
		}
	}
	return c.linLearner.Train(spec, rows, dir, work)
}

func TestInterruptedRunResumes(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "exp")
	cfg := f.config(out, StrategyNone)
	cfg.Seeds = []int64{0}
	l := &crashLearner{}
	if _, err := Run(cfg, l); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first run: err = %v", err)
	}
	// Nothing half-written: no w2s stage directory, no temporary directory.
	entries, _ := os.ReadDir(filepath.Join(out, "stages"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "w2s-") || cache.IsTemp(e.Name()) {
			t.Errorf("interrupted stage left %s", e.Name())
		}
	}
	n := len(l.trains)
	if _, err := Run(cfg, l); err != nil {
		t.Fatal(err)
	}
	// Only the student trains again, and it finds its scratch checkpoint.
	if got := len(l.trains) - n; got != 1 || !l.sawCkpt {
		t.Errorf("resume trained %d models (want 1), saw checkpoint %v", got, l.sawCkpt)
	}
	work, _ := os.ReadDir(filepath.Join(out, WorkDir))
	if len(work) != 0 {
		t.Errorf("finished stages left work dirs: %v", work)
	}
}

// BenchmarkRunAllCached measures the pipeline's own overhead: a rerun of two
// strategies × two seeds where every stage is a cache hit (reading the data,
// tokenizing, hashing keys, reading results, bootstrap CIs, summaries).
func BenchmarkRunAllCached(b *testing.B) {
	f := newFixture(b)
	out := filepath.Join(f.dir, "exp")
	cfg := f.config(out, StrategyNone, StrategyWeakWTSTFT)
	if _, err := Run(cfg, &linLearner{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Run(cfg, &linLearner{}); err != nil {
			b.Fatal(err)
		}
	}
}
