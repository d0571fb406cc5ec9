package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/w2st/w2st/pipeline/cache"
	"github.com/w2st/w2st/pipeline/metrics"
	"github.com/w2st/w2st/pipeline/stats"
)

// FileRef identifies an input file.
type FileRef struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// SplitSizes are the exact sizes of the two halves.
type SplitSizes struct {
	Weak   int `json:"d_weak"`
	Strong int `json:"d_strong"`
}

// SeedResult is one seed of an experiment.
type SeedResult struct {
	Seed       int64                `json:"seed"`
	SplitSizes SplitSizes           `json:"split_sizes"`
	Stages     map[string]StageRef  `json:"stages"`
	Train      map[string]TrainInfo `json:"train"` // role -> training run
	// Metrics[role][test][metric]; NaN (null) when undefined.
	Metrics           map[string]map[string]map[string]Num `json:"metrics"`
	PGR               map[string]map[string]stats.PGR      `json:"pgr"` // [test][metric]
	WeakLabelAccuracy Num                                  `json:"weak_label_accuracy"`
}

// PGRSummary aggregates one PGR over seeds.
type PGRSummary struct {
	Interval *stats.Interval `json:"interval,omitempty"` // over the seeds where PGR is defined
	Defined  int             `json:"defined_seeds"`
	Seeds    int             `json:"seeds"`
	Note     string          `json:"note,omitempty"`
}

// Summary is an experiment's summary.json: one property, strategy and λ over seeds.
type Summary struct {
	Name             string        `json:"name"`
	Property         string        `json:"property"`
	Strategy         Strategy      `json:"strategy"`
	StrategyDoc      string        `json:"strategy_doc"`
	Regularizer      string        `json:"regularizer"`
	Lambda           float64       `json:"lambda"`
	RegularizeWeak   bool          `json:"regularize_weak"`
	RegularizeStrong bool          `json:"regularize_strong"`
	Weak             ModelInfo     `json:"weak_model"`
	Strong           ModelInfo     `json:"strong_model"`
	Seeds            []int64       `json:"seeds"`
	Train            FileRef       `json:"train"`
	Tests            []FileRef     `json:"tests"`
	Metrics          []metrics.Def `json:"metric_defs"`
	NumLabels        int           `json:"num_labels"`
	Groups           []string      `json:"groups,omitempty"`
	Tokenizer        string        `json:"tokenizer"`
	Learner          string        `json:"learner"`
	Backend          string        `json:"backend"`
	Code             string        `json:"code"`
	Hyper            Hyper         `json:"hyper"`
	CIMethod         string        `json:"ci_method"`
	Bootstrap        int           `json:"bootstrap_resamples"`
	BootstrapSeed    uint64        `json:"bootstrap_seed"`
	PGRDefinition    string        `json:"pgr_definition"`
	PerSeed          []SeedResult  `json:"per_seed"`
	// Aggregate[role][test][metric] over seeds (finite values only).
	Aggregate map[string]map[string]map[string]*stats.Interval `json:"aggregate"`
	// PGR[test][metric] over seeds.
	PGR map[string]map[string]PGRSummary `json:"pgr"`
}

func (s *Summary) aggregate(resamples int, seed uint64) error {
	s.Aggregate = map[string]map[string]map[string]*stats.Interval{}
	s.PGR = map[string]map[string]PGRSummary{}
	for _, role := range Roles {
		s.Aggregate[role] = map[string]map[string]*stats.Interval{}
		for _, t := range s.Tests {
			s.Aggregate[role][t.Name] = map[string]*stats.Interval{}
			for _, d := range s.Metrics {
				var xs []float64
				for _, sr := range s.PerSeed {
					v := float64(sr.Metrics[role][t.Name][d.Name])
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						xs = append(xs, v)
					}
				}
				if len(xs) == 0 {
					s.Aggregate[role][t.Name][d.Name] = nil
					continue
				}
				iv, err := stats.BootstrapCI(xs, 0.95, resamples, seed)
				if err != nil {
					return fmt.Errorf("%s %s %s: %w", role, t.Name, d.Name, err)
				}
				s.Aggregate[role][t.Name][d.Name] = &iv
			}
		}
	}
	for _, t := range s.Tests {
		s.PGR[t.Name] = map[string]PGRSummary{}
		for _, d := range s.Metrics {
			ps := PGRSummary{Seeds: len(s.PerSeed)}
			var xs []float64
			reasons := map[string]bool{}
			for _, sr := range s.PerSeed {
				p := sr.PGR[t.Name][d.Name]
				if p.Defined {
					xs = append(xs, p.Value)
				} else {
					reasons[p.Reason] = true
				}
			}
			ps.Defined = len(xs)
			if len(xs) > 0 {
				iv, err := stats.BootstrapCI(xs, 0.95, resamples, seed)
				if err != nil {
					return fmt.Errorf("PGR %s %s: %w", t.Name, d.Name, err)
				}
				ps.Interval = &iv
			}
			if ps.Defined < ps.Seeds {
				rs := make([]string, 0, len(reasons))
				for r := range reasons {
					rs = append(rs, r)
				}
				sort.Strings(rs)
				ps.Note = fmt.Sprintf("undefined on %d of %d seeds: %v", ps.Seeds-ps.Defined, ps.Seeds, rs)
			}
			s.PGR[t.Name][d.Name] = ps
		}
	}
	return nil
}

// ReadSummary reads a summary.json.
func ReadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := jsonUnmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%s: not a valid w2st summary: %w", path, err)
	}
	return &s, nil
}

// validate checks the structure readers rely on.
func (s *Summary) validate() error {
	switch {
	case s.Name == "" || s.Property == "":
		return fmt.Errorf("no name or property")
	case len(s.Metrics) == 0:
		return fmt.Errorf("no metric definitions")
	case len(s.Tests) == 0:
		return fmt.Errorf("no test sets")
	case len(s.Seeds) == 0 || len(s.PerSeed) != len(s.Seeds):
		return fmt.Errorf("%d seeds but %d per-seed results", len(s.Seeds), len(s.PerSeed))
	}
	for i, sr := range s.PerSeed {
		if sr.Seed != s.Seeds[i] {
			return fmt.Errorf("per-seed result %d is for seed %d, want %d", i, sr.Seed, s.Seeds[i])
		}
	}
	return nil
}

// FindSummaries returns the summaries under an experiment directory (its
// runs/*/summary.json), or the file itself when path is a summary.json.
func FindSummaries(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	if _, err := os.Stat(filepath.Join(path, SummaryFile)); err == nil {
		return []string{filepath.Join(path, SummaryFile)}, nil
	}
	m, err := filepath.Glob(filepath.Join(path, RunsDir, "*", SummaryFile))
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s: no %s/*/%s (is it a `w2st w2s --out` directory?)", path, RunsDir, SummaryFile)
	}
	sort.Strings(m)
	return m, nil
}

// maxJSONBytes bounds the JSON files the pipeline reads back.
const maxJSONBytes = 256 << 20

func jsonUnmarshal(b []byte, v any) error {
	if len(b) > maxJSONBytes {
		return fmt.Errorf("JSON file of %d bytes exceeds the %d-byte limit", len(b), maxJSONBytes)
	}
	return json.Unmarshal(b, v)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return cache.WriteFileAtomic(path, append(b, '\n'))
}
