// Package report turns W2S experiment summaries (pipeline.Summary) into a
// Markdown report, a CSV of every number, and PNG+SVG plots: accuracy against
// each trust metric per strategy, and PGR bars with confidence-interval
// whiskers. The table is meant to be read without the docs: units, the
// direction in which each metric is better, the seeds and the CI method are
// written next to it.
package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/cache"
	"github.com/w2st/w2st/pipeline/metrics"
	"github.com/w2st/w2st/pipeline/stats"
)

// Row is one line of a report table: a weak model, a strong ceiling or a W2S
// student, aggregated over seeds.
type Row struct {
	Name     string // e.g. "W2S · Weak+WTS TFT (λ=1)"
	Role     string // pipeline.RoleWeak, RoleCeiling or RoleW2S
	Strategy pipeline.Strategy
	// Values[test][metric]; nil when undefined on every seed.
	Values map[string]map[string]*stats.Interval
	// PGR[test][metric], only for W2S rows.
	PGR map[string]map[string]pipeline.PGRSummary
}

// Group is the rows of one property and model pair.
type Group struct {
	Title     string
	Slug      string
	Property  string
	Weak      pipeline.ModelInfo
	Strong    pipeline.ModelInfo
	Seeds     []int64
	Tests     []pipeline.FileRef
	Metrics   []metrics.Def
	CIMethod  string
	Bootstrap int
	PGRDef    string
	Rows      []Row
	Summaries []*pipeline.Summary
}

// Build groups summaries by property and model pair and makes their rows.
// Weak models and ceilings that several strategies share (the same stages on
// every seed) appear once.
func Build(sums []*pipeline.Summary) ([]*Group, error) {
	if len(sums) == 0 {
		return nil, fmt.Errorf("report: no summaries")
	}
	byKey := map[string]*Group{}
	var order []string
	for _, s := range sums {
		key := s.Property + "|" + s.Weak.Spec + "|" + s.Strong.Spec
		g, ok := byKey[key]
		if !ok {
			g = &Group{Title: fmt.Sprintf("%s: weak %s → strong %s", s.Property, s.Weak.Spec, s.Strong.Spec),
				Property: s.Property, Weak: s.Weak, Strong: s.Strong, Seeds: s.Seeds, Tests: s.Tests,
				Metrics: s.Metrics, CIMethod: s.CIMethod, Bootstrap: s.Bootstrap, PGRDef: s.PGRDefinition}
			g.Slug = slug(s.Property)
			byKey[key] = g
			order = append(order, key)
		}
		if fmt.Sprint(g.Seeds) != fmt.Sprint(s.Seeds) {
			return nil, fmt.Errorf("report: %s has seeds %v, but %s in the same group has %v", s.Name, s.Seeds, g.Summaries[0].Name, g.Seeds)
		}
		if testNames(g.Tests) != testNames(s.Tests) {
			return nil, fmt.Errorf("report: %s has test sets %s, but %s in the same group has %s", s.Name, testNames(s.Tests), g.Summaries[0].Name, testNames(g.Tests))
		}
		if len(g.Summaries) > 0 {
			first := g.Summaries[0]
			if first.Hyper != s.Hyper || first.Train.SHA256 != s.Train.SHA256 {
				return nil, fmt.Errorf("report: %s (training pool %s, %+v) and %s (training pool %s, %+v) have the same models but another training pool or other hyperparameters: report them separately",
					s.Name, shortSHA(s.Train.SHA256), s.Hyper, first.Name, shortSHA(first.Train.SHA256), first.Hyper)
			}
		}
		for _, o := range g.Summaries {
			// λ does not enter the vanilla strategy: two of them are the same row.
			if o.Strategy == s.Strategy && (o.Lambda == s.Lambda || s.Strategy == pipeline.StrategyNone) {
				return nil, fmt.Errorf("report: %s (strategy %s, λ=%s) is given twice: pass each experiment once", s.Name, s.Strategy, fmtLambda(s.Lambda))
			}
		}
		g.Summaries = append(g.Summaries, s)
	}
	groups := make([]*Group, 0, len(order))
	for gi, k := range order {
		g := byKey[k]
		if len(order) > 1 {
			g.Slug += "-" + strconv.Itoa(gi+1)
		}
		sort.SliceStable(g.Summaries, func(i, j int) bool {
			a, b := g.Summaries[i], g.Summaries[j]
			if a.Strategy != b.Strategy {
				return strategyIndex(a.Strategy) < strategyIndex(b.Strategy)
			}
			return a.Lambda < b.Lambda
		})
		seen := map[string]bool{}
		var weak, ceil, w2s []Row
		for _, s := range g.Summaries {
			for _, role := range []string{pipeline.RoleWeak, pipeline.RoleCeiling} {
				id := role + ":" + stageIDs(s, role)
				if seen[id] {
					continue
				}
				seen[id] = true
				reg := s.RegularizeWeak
				if role == pipeline.RoleCeiling {
					reg = s.RegularizeStrong
				}
				name := "Weak model"
				if role == pipeline.RoleCeiling {
					name = "Strong ceiling"
				}
				if reg {
					name += fmt.Sprintf(" · TFT (λ=%s)", fmtLambda(s.Lambda))
				} else {
					name += " · plain"
				}
				row := Row{Name: name, Role: role, Strategy: s.Strategy, Values: s.Aggregate[role]}
				if role == pipeline.RoleWeak {
					weak = append(weak, row)
				} else {
					ceil = append(ceil, row)
				}
			}
			name := "W2S · " + shortStrategy(s.Strategy)
			if s.Strategy != pipeline.StrategyNone {
				name += fmt.Sprintf(" (λ=%s)", fmtLambda(s.Lambda))
			}
			w2s = append(w2s, Row{Name: name, Role: pipeline.RoleW2S, Strategy: s.Strategy, Values: s.Aggregate[pipeline.RoleW2S], PGR: s.PGR})
		}
		g.Rows = append(append(weak, ceil...), w2s...)
		groups = append(groups, g)
	}
	return groups, nil
}

// shortStrategy is the strategy's name in tables (the paper's names).
func shortStrategy(s pipeline.Strategy) string {
	switch s {
	case pipeline.StrategyNone:
		return "vanilla"
	case pipeline.StrategyWeakTFT:
		return "Weak TFT"
	case pipeline.StrategyWTSTFT:
		return "WTS TFT"
	case pipeline.StrategyWeakWTSTFT:
		return "Weak+WTS TFT"
	}
	return string(s)
}

func testNames(ts []pipeline.FileRef) string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.Name
	}
	return strings.Join(n, ",")
}

func stageIDs(s *pipeline.Summary, role string) string {
	var ids []string
	for _, sr := range s.PerSeed {
		ids = append(ids, sr.Stages[role].Hash)
	}
	return strings.Join(ids, ",")
}

func strategyIndex(s pipeline.Strategy) int {
	for i, x := range pipeline.Strategies {
		if x == s {
			return i
		}
	}
	return len(pipeline.Strategies)
}

func fmtLambda(l float64) string { return strconv.FormatFloat(l, 'g', -1, 64) }

var nonSlug = regexp.MustCompile(`[^a-z0-9.]+`)

func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func arrow(d metrics.Def) string {
	if d.HigherBetter {
		return "↑"
	}
	return "↓"
}

func heading(d metrics.Def) string {
	h := d.Label
	if d.Unit != "" {
		h += " (" + d.Unit + ")"
	}
	return h + " " + arrow(d)
}

// fmtInterval writes "mean [lo, hi]" in the metric's display scale.
func fmtInterval(iv *stats.Interval, scale float64, n int) string {
	if iv == nil {
		return "undefined"
	}
	prec := 3
	if scale >= 100 {
		prec = 1
	}
	f := func(v float64) string { return strconv.FormatFloat(v*scale, 'f', prec, 64) }
	s := f(iv.Mean)
	if iv.N > 1 {
		s += " [" + f(iv.Lo) + ", " + f(iv.Hi) + "]"
	}
	if iv.N < n {
		s += fmt.Sprintf(" (%d/%d seeds)", iv.N, n)
	}
	return s
}

func fmtPGR(p pipeline.PGRSummary) string {
	if p.Interval == nil {
		return "undefined (ceiling ≤ weak)"
	}
	// fmtInterval says "(k/n seeds)" when PGR is undefined on some seeds.
	return fmtInterval(p.Interval, 1, p.Seeds)
}

// Markdown renders the groups as a Markdown document.
func Markdown(groups []*Group) string {
	var b strings.Builder
	b.WriteString("# Weak-to-strong trustworthiness report\n\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "## %s\n\n", g.Title)
		fmt.Fprintf(&b, "- Weak model: `%s` (%s parameters); strong model: `%s` (%s parameters).\n",
			g.Weak.Spec, humanInt(g.Weak.Parameters), g.Strong.Spec, humanInt(g.Strong.Parameters))
		fmt.Fprintf(&b, "- Seeds: %s (n = %d). Each cell is the mean over seeds with its %s, %d resamples, in brackets.\n",
			joinInts(g.Seeds), len(g.Seeds), g.CIMethod, g.Bootstrap)
		b.WriteString("- ↑ means higher is better, ↓ lower is better. % = percent of test rows; pp = percentage points.\n")
		for _, d := range g.Metrics {
			fmt.Fprintf(&b, "  - %s: %s.\n", d.Label, d.Doc)
		}
		fmt.Fprintf(&b, "- PGR (performance gap recovered, ↑, 1 = the student matches the ceiling, 0 = no better than the weak model): %s.\n", g.PGRDef)
		b.WriteString("- Rows: the weak model (trained on D_weak's ground truth), the strong ceiling (strong model on D_strong's ground truth) " +
			"and the W2S student (strong model on D_strong labelled by the weak model only). plain = no regularizer; TFT = trained with the " +
			"property's regularizer at strength λ. Strategies: vanilla = no regularizer anywhere; Weak TFT regularizes the weak model; " +
			"WTS TFT the strong stages (student and ceiling); Weak+WTS TFT both.\n")
		s0 := g.Summaries[0]
		fmt.Fprintf(&b, "- Split: the training pool `%s` (%d rows) is split 50/50 per seed: D_weak %d rows, D_strong %d rows. Regularizer: %s.\n\n",
			s0.Train.Name, s0.Train.Rows, s0.PerSeed[0].SplitSizes.Weak, s0.PerSeed[0].SplitSizes.Strong, s0.Regularizer)
		for _, t := range g.Tests {
			fmt.Fprintf(&b, "### Test set `%s` (%d rows)\n\n", t.Name, t.Rows)
			b.WriteString("| Model |")
			for _, d := range g.Metrics {
				fmt.Fprintf(&b, " %s |", heading(d))
			}
			for _, d := range g.Metrics {
				fmt.Fprintf(&b, " PGR %s ↑ |", d.Label)
			}
			b.WriteString("\n|---|")
			for range 2 * len(g.Metrics) {
				b.WriteString("---:|")
			}
			b.WriteString("\n")
			for _, r := range g.Rows {
				fmt.Fprintf(&b, "| %s |", r.Name)
				for _, d := range g.Metrics {
					fmt.Fprintf(&b, " %s |", fmtInterval(r.Values[t.Name][d.Name], d.Scale, len(g.Seeds)))
				}
				for _, d := range g.Metrics {
					if r.PGR == nil {
						b.WriteString(" — |")
						continue
					}
					fmt.Fprintf(&b, " %s |", fmtPGR(r.PGR[t.Name][d.Name]))
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
			var notes []string
			for _, d := range g.Metrics {
				var parts []string
				for _, r := range g.Rows {
					if p := r.PGR[t.Name][d.Name]; r.PGR != nil && p.Defined < p.Seeds {
						parts = append(parts, fmt.Sprintf("%s on %d of %d seeds", strings.TrimPrefix(r.Name, "W2S · "), p.Seeds-p.Defined, p.Seeds))
					}
				}
				if len(parts) > 0 {
					notes = append(notes, fmt.Sprintf("PGR %s is undefined (the strong ceiling is not better than the weak model, so there is no gap to recover) for %s.",
						d.Label, strings.Join(parts, "; ")))
				}
			}
			if len(notes) > 0 {
				b.WriteString("Notes:\n")
				for _, n := range notes {
					fmt.Fprintf(&b, "- %s\n", n)
				}
				b.WriteString("\n")
			}
			for _, p := range plotFiles(g, t.Name) {
				fmt.Fprintf(&b, "![%s](%s.png) ([SVG](%s.svg))\n\n", p.title, p.base, p.base)
			}
		}
		fmt.Fprintf(&b, "Backend: %s. Learner: %s. Tokenizer: %s. Code: %s.\n\n", s0.Backend, s0.Learner, s0.Tokenizer, s0.Code)
	}
	return b.String()
}

func joinInts(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ", ")
}

func humanInt(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// CSV renders every aggregated number, one per line: the group, test set,
// row, metric, unit and direction, the mean, the CI and the seeds it covers.
// Values are in the metric's natural unit (0..1 fractions, not percent).
func CSV(groups []*Group) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"group", "test", "model", "role", "strategy", "quantity", "metric", "higher_is_better", "mean", "ci95_lo", "ci95_hi", "n_seeds", "seeds", "ci_method"})
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	for _, g := range groups {
		for _, t := range g.Tests {
			for _, r := range g.Rows {
				for _, d := range g.Metrics {
					rec := []string{g.Slug, t.Name, r.Name, r.Role, string(r.Strategy), "metric", d.Name, strconv.FormatBool(d.HigherBetter)}
					if iv := r.Values[t.Name][d.Name]; iv != nil {
						rec = append(rec, num(iv.Mean), num(iv.Lo), num(iv.Hi), strconv.Itoa(iv.N))
					} else {
						rec = append(rec, "", "", "", "0")
					}
					rec = append(rec, joinInts(g.Seeds), g.CIMethod)
					if err := w.Write(rec); err != nil {
						return nil, err
					}
				}
				if r.PGR == nil {
					continue
				}
				for _, d := range g.Metrics {
					p := r.PGR[t.Name][d.Name]
					rec := []string{g.Slug, t.Name, r.Name, r.Role, string(r.Strategy), "pgr", d.Name, "true"}
					if p.Interval != nil {
						rec = append(rec, num(p.Interval.Mean), num(p.Interval.Lo), num(p.Interval.Hi), strconv.Itoa(p.Defined))
					} else {
						rec = append(rec, "", "", "", "0")
					}
					rec = append(rec, joinInts(g.Seeds), g.CIMethod)
					if err := w.Write(rec); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// Files are the paths Write produced.
type Files struct {
	Markdown string
	CSV      string
	Plots    []string
}

// Write renders the report of the summaries into dir: report.md, results.csv
// and the plots (PNG and SVG). Every file is written atomically.
func Write(dir string, sums []*pipeline.Summary) (Files, []*Group, error) {
	groups, err := Build(sums)
	if err != nil {
		return Files{}, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, nil, fmt.Errorf("report: %w", err)
	}
	var f Files
	plots, err := writePlots(dir, groups)
	if err != nil {
		return Files{}, nil, err
	}
	f.Plots = plots
	c, err := CSV(groups)
	if err != nil {
		return Files{}, nil, fmt.Errorf("report: CSV: %w", err)
	}
	f.CSV = filepath.Join(dir, "results.csv")
	if err := cache.WriteFileAtomic(f.CSV, c); err != nil {
		return Files{}, nil, err
	}
	f.Markdown = filepath.Join(dir, "report.md")
	if err := cache.WriteFileAtomic(f.Markdown, []byte(Markdown(groups))); err != nil {
		return Files{}, nil, err
	}
	return f, groups, nil
}

func shortSHA(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
