package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/pipeline/cache"
	"github.com/w2st/w2st/pipeline/metrics"
	"github.com/w2st/w2st/pipeline/split"
	"github.com/w2st/w2st/pipeline/stats"
)

// Roles of the three models of a W2S experiment.
const (
	RoleWeak    = "weak"
	RoleCeiling = "ceiling"
	RoleW2S     = "w2s"
)

// Roles in report order.
var Roles = []string{RoleWeak, RoleCeiling, RoleW2S}

// Stage artifact names.
const (
	SplitFile     = "split.json"
	WeakProbsFile = "weak_probs.parquet" // id + soft_label: the weak model's predictions on D_strong
	StudentFile   = "student.parquet"    // the W2S student's training rows (labels replaced)
	PredsFile     = "predictions.parquet"
)

// RunsDir is the folder of an experiment directory holding one summary per
// (property, strategy, λ).
const RunsDir = "runs"

// SummaryFile is the per-experiment summary name.
const SummaryFile = "summary.json"

// Run executes the experiment described by cfg with learner and returns the
// summaries (one per strategy), which are also written to
// cfg.Out/runs/<name>/summary.json.
func Run(cfg Config, learner Learner) ([]*Summary, error) {
	r := &runner{cfg: cfg, learner: learner, log: cfg.Log}
	if r.log == nil {
		r.log = io.Discard
	}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	var out []*Summary
	for _, st := range cfg.Strategies {
		s, err := r.runStrategy(st)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

type dataset struct {
	Name   string // short name used in results (file base name)
	Path   string
	SHA256 string
	Rows   []data.Example
}

type runner struct {
	cfg     Config
	learner Learner
	log     io.Writer
	prop    Property
	store   *cache.Store

	train     dataset
	tests     []dataset
	tokID     string
	numLabels int
	groups    []string
	padID     int32
	weakInfo  ModelInfo
	strInfo   ModelInfo
	maxToken  int32
	truncated int
	fresh     map[string]bool // stages computed (or forced) in this invocation
}

func (r *runner) warnf(format string, a ...any) {
	fmt.Fprintf(r.log, "warning: "+format+"\n", a...)
}

func (r *runner) logf(format string, a ...any) {
	fmt.Fprintf(r.log, format+"\n", a...)
}

// prepare checks everything that can be checked before any training: flags,
// files, the cache version, the data's columns, the tokenizer and models.
func (r *runner) prepare() error {
	c := &r.cfg
	prop, err := PropertyFor(c.Property)
	if err != nil {
		return err
	}
	r.prop = prop
	if c.Weak == "" || c.Strong == "" {
		return errors.New("both a weak and a strong model are needed")
	}
	if len(c.Strategies) == 0 {
		return errors.New("no strategy given")
	}
	if len(c.Seeds) == 0 {
		return errors.New("no seed given")
	}
	seen := map[int64]bool{}
	for _, s := range c.Seeds {
		if seen[s] {
			return fmt.Errorf("seed %d is given twice", s)
		}
		seen[s] = true
	}
	if c.Lambda < 0 || math.IsNaN(c.Lambda) || math.IsInf(c.Lambda, 0) {
		return fmt.Errorf("λ (--lambda) %v: want a finite value ≥ 0", c.Lambda)
	}
	for _, st := range c.Strategies {
		if (st.RegularizeWeak() || st.RegularizeStrong()) && c.Lambda == 0 {
			r.warnf("strategy %s with λ = 0 trains exactly like the vanilla strategy", st)
		}
	}
	if err := c.Hyper.validate(); err != nil {
		return err
	}
	if c.Bootstrap == 0 {
		c.Bootstrap = 10000
	}
	if c.Code == "" {
		return errors.New("pipeline: empty code version")
	}
	if c.Out == "" {
		return errors.New("no output directory (--out)")
	}
	// Files first: a missing file is an early, clear error.
	files := append([]string{c.Train, c.Test}, c.TrustTests...)
	for i, f := range files {
		if f == "" {
			if i == 0 {
				return errors.New("no training file (--train)")
			}
			return errors.New("no test file (--test)")
		}
		st, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("input file: %w", err)
		}
		if st.IsDir() {
			return fmt.Errorf("input file %s is a directory", f)
		}
	}
	if c.Tokenizer != "" && c.Tokenizer != "words" {
		if _, err := os.Stat(c.Tokenizer); err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
	}
	store, err := cache.Open(c.Out, c.Code)
	if err != nil {
		return err
	}
	r.store = store

	if r.train, err = loadDataset(c.Train); err != nil {
		return err
	}
	if err := r.checkRows(r.train, true); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, f := range append([]string{c.Test}, c.TrustTests...) {
		ds, err := loadDataset(f)
		if err != nil {
			return err
		}
		if err := r.checkRows(ds, false); err != nil {
			return err
		}
		if ds.SHA256 == r.train.SHA256 {
			r.warnf("test set %s is the training pool %s (same sha256): its numbers are measured on training data", f, c.Train)
		}
		base := ds.Name
		for i := 2; names[ds.Name]; i++ {
			ds.Name = base + "-" + strconv.Itoa(i)
		}
		names[ds.Name] = true
		r.tests = append(r.tests, ds)
	}
	// Labels and groups come from the training pool.
	maxLabel := int32(0)
	gset := map[string]bool{}
	for _, ex := range r.train.Rows {
		maxLabel = max(maxLabel, ex.Label)
		if ex.Group != "" {
			gset[ex.Group] = true
		}
	}
	r.numLabels = max(2, int(maxLabel)+1)
	for _, ds := range r.tests {
		for i, ex := range ds.Rows {
			if int(ex.Label) >= r.numLabels {
				return fmt.Errorf("%s row %d: label %d, but the training pool only has labels 0..%d", ds.Path, i+1, ex.Label, r.numLabels-1)
			}
		}
	}
	for g := range gset {
		r.groups = append(r.groups, g)
	}
	sort.Strings(r.groups)
	if prop.NeedsGroups && len(r.groups) < 2 {
		return fmt.Errorf("%s: property %s needs at least two groups in the group column, found %d", c.Train, prop.Name, len(r.groups))
	}
	if err := r.tokenize(); err != nil {
		return err
	}
	// Models: vocabulary and size.
	if r.weakInfo, err = learnerInfo(r.learner, c.Weak, r.numLabels); err != nil {
		return fmt.Errorf("weak model: %w", err)
	}
	if r.strInfo, err = learnerInfo(r.learner, c.Strong, r.numLabels); err != nil {
		return fmt.Errorf("strong model: %w", err)
	}
	for _, mi := range []ModelInfo{r.weakInfo, r.strInfo} {
		if int(r.maxToken) >= mi.VocabSize {
			return fmt.Errorf("model %s has a vocabulary of %d tokens, but the tokenized data uses token id %d (tokenizer %s): use a model whose vocabulary covers the tokenizer",
				mi.Spec, mi.VocabSize, r.maxToken, r.tokID)
		}
	}
	if r.weakInfo.Parameters > r.strInfo.Parameters {
		r.warnf("the weak model %s (%d parameters) is larger than the strong model %s (%d parameters)",
			c.Weak, r.weakInfo.Parameters, c.Strong, r.strInfo.Parameters)
	}
	if r.truncated > 0 {
		r.warnf("%d rows were longer than --max-len %d tokens and were truncated", r.truncated, c.Hyper.MaxLen)
	}
	return nil
}

func learnerInfo(l Learner, spec string, numLabels int) (mi ModelInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("model %s: %v", spec, p)
		}
	}()
	return l.Info(spec, numLabels)
}

// loadDataset reads a Parquet dataset and hashes the file.
func loadDataset(path string) (dataset, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".parquet" {
		return dataset{}, fmt.Errorf("%s: want a Parquet file (.parquet); convert other formats with `w2st data`", path)
	}
	h, err := cache.HashFile(path)
	if err != nil {
		return dataset{}, fmt.Errorf("input file: %w", err)
	}
	rows, err := parquetio.ReadAll(path)
	if err != nil {
		return dataset{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(rows) == 0 {
		return dataset{}, fmt.Errorf("%s: no rows", path)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return dataset{Name: name, Path: path, SHA256: h, Rows: rows}, nil
}

// checkRows validates the columns a dataset needs.
func (r *runner) checkRows(ds dataset, isTrain bool) error {
	for i, ex := range ds.Rows {
		if ex.Label < 0 {
			return fmt.Errorf("%s row %d (id %q): negative label %d", ds.Path, i+1, ex.ID, ex.Label)
		}
		if ex.Text == "" && len(ex.InputIDs) == 0 {
			return fmt.Errorf("%s row %d (id %q): empty text and no input_ids", ds.Path, i+1, ex.ID)
		}
		if r.prop.NeedsGroups && ex.Group == "" {
			what := "test set"
			if isTrain {
				what = "training file"
			}
			return fmt.Errorf("%s row %d (id %q): empty group column; the %s property needs the sensitive attribute in `group` on every row of the %s",
				ds.Path, i+1, ex.ID, r.prop.Name, what)
		}
	}
	return nil
}

// tokenize fills InputIDs/Length of every row that lacks them.
func (r *runner) tokenize() error {
	tok, id, err := r.openTokenizer()
	if err != nil {
		return err
	}
	r.tokID = id
	r.padID = tok.PadID()
	all := append([]*dataset{&r.train}, ptrs(r.tests)...)
	for _, ds := range all {
		for i := range ds.Rows {
			ex := &ds.Rows[i]
			if len(ex.InputIDs) == 0 {
				ids, err := tok.Encode(ex.Text)
				if err != nil {
					return fmt.Errorf("%s row %d (id %q): tokenizing: %w", ds.Path, i+1, ex.ID, err)
				}
				if len(ids) == 0 {
					ids = []int32{tok.PadID()}
				}
				ex.InputIDs = ids
			}
			if len(ex.InputIDs) > r.cfg.Hyper.MaxLen {
				ex.InputIDs = ex.InputIDs[:r.cfg.Hyper.MaxLen]
				r.truncated++
			}
			ex.Length = int32(len(ex.InputIDs))
			for _, t := range ex.InputIDs {
				if t < 0 {
					return fmt.Errorf("%s row %d (id %q): negative token id %d", ds.Path, i+1, ex.ID, t)
				}
				r.maxToken = max(r.maxToken, t)
			}
		}
	}
	return nil
}

func ptrs(ds []dataset) []*dataset {
	out := make([]*dataset, len(ds))
	for i := range ds {
		out[i] = &ds[i]
	}
	return out
}

// StageRef records a stage in a summary.
type StageRef struct {
	Stage  string `json:"stage"`
	Hash   string `json:"hash"`
	Dir    string `json:"dir"` // relative to the experiment directory
	Cached bool   `json:"cached"`
}

func (r *runner) ref(name string, st cache.Stage) StageRef {
	rel, err := filepath.Rel(r.store.Dir(), st.Dir)
	if err != nil {
		rel = st.Dir
	}
	return StageRef{Stage: name, Hash: st.Hash, Dir: rel, Cached: st.Cached}
}

func (r *runner) run(seed int64, key cache.Key, fn cache.Func) (cache.Stage, error) {
	key.Code = r.cfg.Code
	hash, err := key.Hash()
	if err != nil {
		return cache.Stage{}, err
	}
	// --force recomputes each stage once per invocation, not once per strategy.
	force := r.cfg.Force && !r.fresh[hash]
	start := time.Now()
	st, err := r.store.Run(key, force, fn)
	if err != nil {
		return st, fmt.Errorf("seed %d: %w", seed, err)
	}
	if r.fresh == nil {
		r.fresh = map[string]bool{}
	}
	r.fresh[hash] = true
	if st.Cached {
		r.logf("  [seed %d] %-10s cached   %s", seed, key.Stage, st.Dir)
	} else {
		r.logf("  [seed %d] %-10s done in %.1fs  %s", seed, key.Stage, time.Since(start).Seconds(), st.Dir)
	}
	return st, nil
}

// splitResult is the split stage's result.json.
type splitResult struct {
	Seed      int64 `json:"seed"`
	NWeak     int   `json:"n_weak"`
	NStrong   int   `json:"n_strong"`
	NTrainAll int   `json:"n_train_pool"`
}

type splitIDs struct {
	Weak   []string `json:"weak"`
	Strong []string `json:"strong"`
}

// trainResult is a training stage's result.json.
type trainResult struct {
	Role  string    `json:"role"`
	Spec  TrainSpec `json:"spec"`
	Train TrainInfo `json:"train"`
	Model ModelInfo `json:"model"`
}

// weakLabelResult is the weak-label stage's result.json.
type weakLabelResult struct {
	Rows int `json:"rows"`
	// Agreement is the share of D_strong rows where the weak label equals the
	// ground truth (reported only; the ground truth never enters student.parquet).
	Agreement Num `json:"weak_label_accuracy"`
}

// evalResult is an eval stage's result.json.
type evalResult struct {
	Test    string         `json:"test"`
	Rows    int            `json:"rows"`
	Metrics map[string]Num `json:"metrics"`
}

func (r *runner) trainKeyConfig(spec TrainSpec) map[string]any {
	return map[string]any{"learner": r.learner.ID(), "tokenizer": r.tokID, "spec": spec}
}

type seedModels struct {
	weak, ceiling, w2s cache.Stage
}

// runSeed runs the stages of one seed for strategy st.
func (r *runner) runSeed(st Strategy, seed int64, sr *SeedResult) (seedModels, error) {
	c := r.cfg
	var sm seedModels
	// 1. Split.
	var halves split.Halves
	splitSt, err := r.run(seed, cache.Key{Stage: "split", Config: map[string]any{"seed": seed, "method": "pcg-shuffle-by-id-v1"},
		Inputs: map[string]string{"train": r.train.SHA256}}, func(dir string) (any, error) {
		h, err := split.Split(r.train.Rows, seed)
		if err != nil {
			return nil, err
		}
		ids := splitIDs{}
		for _, ex := range h.Weak {
			ids.Weak = append(ids.Weak, ex.ID)
		}
		for _, ex := range h.Strong {
			ids.Strong = append(ids.Strong, ex.ID)
		}
		if err := writeJSON(filepath.Join(dir, SplitFile), ids); err != nil {
			return nil, err
		}
		return splitResult{Seed: seed, NWeak: len(h.Weak), NStrong: len(h.Strong), NTrainAll: len(r.train.Rows)}, nil
	})
	if err != nil {
		return sm, err
	}
	if halves, err = r.loadSplit(splitSt.Dir); err != nil {
		return sm, fmt.Errorf("seed %d: %w", seed, err)
	}
	sr.SplitSizes = SplitSizes{Weak: len(halves.Weak), Strong: len(halves.Strong)}
	sr.Stages = map[string]StageRef{"split": r.ref("split", splitSt)}
	weakIDs, strongIDs := split.IDs(halves.Weak), split.IDs(halves.Strong)

	spec := func(model, labels, loss string, reg bool) TrainSpec {
		s := TrainSpec{Model: model, Labels: labels, Loss: loss, Seed: seed, NumLabels: r.numLabels,
			Groups: r.groups, PadID: r.padID, Hyper: c.Hyper}
		s.Hyper.Loss = ""
		if reg {
			s.Regularizer, s.Lambda = r.prop.Regularizer, c.Lambda
		}
		return s
	}
	trainStage := func(stage, role string, ts TrainSpec, upstream map[string]string, rows func() ([]data.Example, error), info ModelInfo) (cache.Stage, error) {
		key := cache.Key{Stage: stage, Config: r.trainKeyConfig(ts), Upstream: upstream, Code: c.Code}
		hash, err := key.Hash()
		if err != nil {
			return cache.Stage{}, err
		}
		work := r.workDir(stage, hash)
		st, err := r.run(seed, key, func(dir string) (any, error) {
			rs, err := rows()
			if err != nil {
				return nil, err
			}
			modelDir := filepath.Join(dir, "model")
			if err := os.Mkdir(modelDir, 0o755); err != nil {
				return nil, err
			}
			if c.Force && !r.fresh[hash] {
				if err := os.RemoveAll(work); err != nil {
					return nil, err
				}
			}
			if err := os.MkdirAll(work, 0o755); err != nil {
				return nil, err
			}
			ti, err := safeTrain(r.learner, ts, rs, modelDir, work)
			if err != nil {
				return nil, fmt.Errorf("training the %s model: %w", role, err)
			}
			return trainResult{Role: role, Spec: ts, Train: ti, Model: info}, nil
		})
		if err == nil {
			// The stage is final: its scratch checkpoints are no longer needed.
			_ = os.RemoveAll(work)
		}
		return st, err
	}

	// 2. Weak model on D_weak with ground truth.
	weakSpec := spec(c.Weak, "gt", "xent", st.RegularizeWeak())
	sm.weak, err = trainStage("weak", RoleWeak, weakSpec, map[string]string{"split": splitSt.Hash},
		func() ([]data.Example, error) { return halves.Weak, nil }, r.weakInfo)
	if err != nil {
		return sm, err
	}
	// 3. Weak labels on D_strong.
	wlSt, err := r.run(seed, cache.Key{Stage: "weaklabels", Config: map[string]any{"learner": r.learner.ID(), "format": "v1"},
		Upstream: map[string]string{"weak": sm.weak.Hash, "split": splitSt.Hash}}, func(dir string) (any, error) {
		probs, err := safePredict(r.learner, weakSpec, filepath.Join(sm.weak.Dir, "model"), halves.Strong)
		if err != nil {
			return nil, fmt.Errorf("weak labels: %w", err)
		}
		pm := map[string][]float32{}
		probRows := make([]data.Example, len(halves.Strong))
		agree := 0
		for i, ex := range halves.Strong {
			pm[ex.ID] = probs[i]
			probRows[i] = data.Example{ID: ex.ID, SoftLabel: probs[i], Label: int32(split.Argmax(probs[i]))}
			if int32(split.Argmax(probs[i])) == ex.Label {
				agree++
			}
		}
		student, err := split.StudentSet(halves.Strong, pm)
		if err != nil {
			return nil, err
		}
		if err := parquetio.WriteFile(filepath.Join(dir, WeakProbsFile), probRows, parquetio.WriterOptions{}); err != nil {
			return nil, err
		}
		if err := parquetio.WriteFile(filepath.Join(dir, StudentFile), student, parquetio.WriterOptions{}); err != nil {
			return nil, err
		}
		return weakLabelResult{Rows: len(student), Agreement: Num(float64(agree) / float64(len(student)))}, nil
	})
	if err != nil {
		return sm, err
	}
	var wl weakLabelResult
	if err := cache.ReadResult(wlSt.Dir, &wl); err != nil {
		return sm, err
	}
	sr.WeakLabelAccuracy = wl.Agreement
	// 4. Strong ceiling on D_strong with ground truth.
	ceilSpec := spec(c.Strong, "gt", "xent", st.RegularizeStrong())
	sm.ceiling, err = trainStage("ceiling", RoleCeiling, ceilSpec, map[string]string{"split": splitSt.Hash},
		func() ([]data.Example, error) { return halves.Strong, nil }, r.strInfo)
	if err != nil {
		return sm, err
	}
	// 5. W2S student on D_strong with the weak labels only.
	w2sSpec := spec(c.Strong, "soft", c.Hyper.Loss, st.RegularizeStrong())
	sm.w2s, err = trainStage("w2s", RoleW2S, w2sSpec, map[string]string{"weaklabels": wlSt.Hash, "split": splitSt.Hash},
		func() ([]data.Example, error) { return loadStudent(wlSt.Dir, weakIDs, strongIDs) }, r.strInfo)
	if err != nil {
		return sm, err
	}
	sr.Stages["weak"] = r.ref("weak", sm.weak)
	sr.Stages["weaklabels"] = r.ref("weaklabels", wlSt)
	sr.Stages["ceiling"] = r.ref("ceiling", sm.ceiling)
	sr.Stages["w2s"] = r.ref("w2s", sm.w2s)
	// 6. Evaluate every model on every test set.
	sr.Metrics = map[string]map[string]map[string]Num{}
	sr.Train = map[string]TrainInfo{}
	for _, m := range []struct {
		role string
		st   cache.Stage
		spec TrainSpec
	}{{RoleWeak, sm.weak, weakSpec}, {RoleCeiling, sm.ceiling, ceilSpec}, {RoleW2S, sm.w2s, w2sSpec}} {
		var tr trainResult
		if err := cache.ReadResult(m.st.Dir, &tr); err != nil {
			return sm, err
		}
		sr.Train[m.role] = tr.Train
		sr.Metrics[m.role] = map[string]map[string]Num{}
		for _, ds := range r.tests {
			ev, err := r.eval(seed, m.st, m.spec, ds)
			if err != nil {
				return sm, err
			}
			sr.Metrics[m.role][ds.Name] = ev.Metrics
		}
	}
	return sm, nil
}

func (r *runner) eval(seed int64, model cache.Stage, spec TrainSpec, ds dataset) (evalResult, error) {
	names := make([]string, len(r.prop.Metrics))
	for i, d := range r.prop.Metrics {
		names[i] = d.Name
	}
	st, err := r.run(seed, cache.Key{Stage: "eval", Config: map[string]any{"learner": r.learner.ID(), "tokenizer": r.tokID,
		"metrics": names, "max_len": r.cfg.Hyper.MaxLen}, Inputs: map[string]string{"test": ds.SHA256},
		Upstream: map[string]string{"model": model.Hash}}, func(dir string) (any, error) {
		probs, err := safePredict(r.learner, spec, filepath.Join(model.Dir, "model"), ds.Rows)
		if err != nil {
			return nil, fmt.Errorf("predicting %s: %w", ds.Path, err)
		}
		p := metrics.Predictions{Probs: probs}
		rows := make([]data.Example, len(ds.Rows))
		for i, ex := range ds.Rows {
			p.Labels = append(p.Labels, ex.Label)
			p.Groups = append(p.Groups, ex.Group)
			rows[i] = data.Example{ID: ex.ID, Label: ex.Label, Group: ex.Group, Domain: ex.Domain, SoftLabel: probs[i]}
		}
		vals, err := metrics.Compute(p, r.prop.Metrics)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ds.Path, err)
		}
		if err := parquetio.WriteFile(filepath.Join(dir, PredsFile), rows, parquetio.WriterOptions{}); err != nil {
			return nil, err
		}
		res := evalResult{Test: ds.Name, Rows: len(rows), Metrics: map[string]Num{}}
		for k, v := range vals {
			res.Metrics[k] = Num(v)
		}
		return res, nil
	})
	if err != nil {
		return evalResult{}, err
	}
	var ev evalResult
	err = cache.ReadResult(st.Dir, &ev)
	return ev, err
}

// loadSplit rebuilds the halves from a split stage's id lists.
func (r *runner) loadSplit(dir string) (split.Halves, error) {
	var ids splitIDs
	b, err := os.ReadFile(filepath.Join(dir, SplitFile))
	if err != nil {
		return split.Halves{}, err
	}
	if err := jsonUnmarshal(b, &ids); err != nil {
		return split.Halves{}, fmt.Errorf("%s: %w", filepath.Join(dir, SplitFile), err)
	}
	byID := make(map[string]data.Example, len(r.train.Rows))
	for _, ex := range r.train.Rows {
		byID[ex.ID] = ex
	}
	var h split.Halves
	for _, part := range []struct {
		ids []string
		dst *[]data.Example
	}{{ids.Weak, &h.Weak}, {ids.Strong, &h.Strong}} {
		for _, id := range part.ids {
			ex, ok := byID[id]
			if !ok {
				return split.Halves{}, fmt.Errorf("split stage %s: id %q is not in the training pool", dir, id)
			}
			*part.dst = append(*part.dst, ex)
		}
	}
	if err := split.CheckDisjoint(h.Weak, h.Strong); err != nil {
		return split.Halves{}, err
	}
	return h, nil
}

// loadStudent reads the student's training rows from the weak-label stage and
// runs the leakage check against the weak model's saved predictions.
func loadStudent(wlDir string, weakIDs, strongIDs map[string]bool) ([]data.Example, error) {
	student, err := parquetio.ReadAll(filepath.Join(wlDir, StudentFile))
	if err != nil {
		return nil, fmt.Errorf("reading the student's training rows: %w", err)
	}
	probRows, err := parquetio.ReadAll(filepath.Join(wlDir, WeakProbsFile))
	if err != nil {
		return nil, fmt.Errorf("reading the weak labels: %w", err)
	}
	pm := make(map[string][]float32, len(probRows))
	for _, ex := range probRows {
		pm[ex.ID] = ex.SoftLabel
	}
	if err := split.CheckStudent(student, weakIDs, strongIDs, pm); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(wlDir, StudentFile), err)
	}
	return student, nil
}

func safeTrain(l Learner, spec TrainSpec, rows []data.Example, dir, work string) (ti TrainInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("learner panicked: %v", p)
		}
	}()
	return l.Train(spec, rows, dir, work)
}

// WorkDir is the folder of an experiment directory holding the scratch
// directories of unfinished training stages (checkpoints to resume from).
const WorkDir = "work"

func (r *runner) workDir(stage, hash string) string {
	return filepath.Join(r.store.Dir(), WorkDir, stage+"-"+hash[:16])
}

func safePredict(l Learner, spec TrainSpec, dir string, rows []data.Example) (probs [][]float32, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("learner panicked: %v", p)
		}
	}()
	probs, err = l.Predict(spec, dir, rows)
	if err == nil && len(probs) != len(rows) {
		err = fmt.Errorf("learner returned %d predictions for %d rows", len(probs), len(rows))
	}
	return probs, err
}

// openTokenizer returns the tokenizer and its identity for cache keys.
func (r *runner) openTokenizer() (Tokenizer, string, error) {
	if r.cfg.Tokenizer == "" || r.cfg.Tokenizer == "words" {
		texts := make([]string, len(r.train.Rows))
		for i, ex := range r.train.Rows {
			texts[i] = ex.Text
		}
		tok, err := buildWordTokenizer(texts)
		if err != nil {
			return nil, "", err
		}
		return tok, fmt.Sprintf("words-v2-min%d:%s", WordMinCount, r.train.SHA256[:16]), nil
	}
	tok, err := loadTokenizer(r.cfg.Tokenizer)
	if err != nil {
		return nil, "", fmt.Errorf("tokenizer %s: %w", r.cfg.Tokenizer, err)
	}
	h, err := hashPath(r.cfg.Tokenizer)
	if err != nil {
		return nil, "", fmt.Errorf("tokenizer: %w", err)
	}
	return tok, "file:" + h, nil
}

// hashPath hashes a file, or every regular file of a folder (sorted by name).
func hashPath(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return cache.HashFile(path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fh, err := cache.HashFile(filepath.Join(path, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s\n", e.Name(), fh)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (r *runner) runStrategy(st Strategy) (*Summary, error) {
	c := r.cfg
	r.logf("strategy %s (%s), λ = %g, seeds %v", st, st.Describe(), c.Lambda, c.Seeds)
	s := r.newSummary(st)
	for _, seed := range c.Seeds {
		sr := SeedResult{Seed: seed}
		if _, err := r.runSeed(st, seed, &sr); err != nil {
			return nil, err
		}
		sr.PGR = map[string]map[string]stats.PGR{}
		for _, ds := range r.tests {
			sr.PGR[ds.Name] = map[string]stats.PGR{}
			for _, d := range r.prop.Metrics {
				w := float64(sr.Metrics[RoleWeak][ds.Name][d.Name])
				ce := float64(sr.Metrics[RoleCeiling][ds.Name][d.Name])
				ws := float64(sr.Metrics[RoleW2S][ds.Name][d.Name])
				sr.PGR[ds.Name][d.Name] = stats.ComputePGR(w, ce, ws, d.HigherBetter)
			}
		}
		s.PerSeed = append(s.PerSeed, sr)
	}
	if err := s.aggregate(c.Bootstrap, c.BootstrapSeed); err != nil {
		return nil, err
	}
	dir := filepath.Join(c.Out, RunsDir, s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, SummaryFile), s); err != nil {
		return nil, err
	}
	r.logf("summary: %s", filepath.Join(dir, SummaryFile))
	return s, nil
}

func (r *runner) newSummary(st Strategy) *Summary {
	c := r.cfg
	s := &Summary{
		Name: RunName(r.prop.Name, st, c.Lambda), Property: r.prop.Name, Strategy: st, StrategyDoc: st.Describe(),
		Regularizer: r.prop.Regularizer, Lambda: c.Lambda, RegularizeWeak: st.RegularizeWeak(),
		RegularizeStrong: st.RegularizeStrong(), Weak: r.weakInfo, Strong: r.strInfo, Seeds: slices.Clone(c.Seeds),
		Train:   FileRef{Name: r.train.Name, Path: r.train.Path, SHA256: r.train.SHA256, Rows: len(r.train.Rows)},
		Metrics: r.prop.Metrics, Tokenizer: r.tokID, Learner: r.learner.ID(), Backend: c.Backend, Code: c.Code,
		Hyper: c.Hyper, NumLabels: r.numLabels, Groups: r.groups, CIMethod: stats.CIMethod, Bootstrap: c.Bootstrap,
		BootstrapSeed: c.BootstrapSeed,
		PGRDefinition: "PGR = (W2S − weak) / (ceiling − weak) per seed, on metrics oriented so that higher is better " +
			"(lower-is-better metrics are negated); undefined when the ceiling is not better than the weak model",
	}
	for _, ds := range r.tests {
		s.Tests = append(s.Tests, FileRef{Name: ds.Name, Path: ds.Path, SHA256: ds.SHA256, Rows: len(ds.Rows)})
	}
	return s
}

// RunName is the folder name of a run under runs/.
func RunName(property string, st Strategy, lambda float64) string {
	if st == StrategyNone {
		return property + "-" + string(st)
	}
	return property + "-" + string(st) + "-lambda" + strconv.FormatFloat(lambda, 'g', -1, 64)
}
