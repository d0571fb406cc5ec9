package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/importers"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/stats"
	"github.com/w2st/w2st/data/synth"
	"github.com/w2st/w2st/data/tokenize"
)

func dataCommand() *command {
	return &command{
		name:    "data",
		summary: "import, tokenize, generate and describe datasets (Parquet)",
		sub:     []*command{dataImportCommand(), dataTokenizeCommand(), dataSynthCommand(), dataStatsCommand()},
	}
}

func dataImportCommand() *command {
	var lines []string
	for _, s := range importers.Sources() {
		lines = append(lines, fmt.Sprintf("  %-18s %s", s.Name, s.Summary))
	}
	return &command{
		name:    "import",
		summary: "convert a public dataset (or CSV/JSONL) to w2st Parquet",
		args:    "<source>",
		long: "Sources:\n" + strings.Join(lines, "\n") + `

Writes --out (Parquet: id, text, label, group, domain, split, race, ...) and a summary
JSON beside it (x.parquet -> x.summary.json) with the row counts, label/group/domain/split
histograms and the sha256 of every input. Malformed input is reported as file:line and
nothing is written. Adult: rows with "?" are kept and the value is written "unknown" in
the prompt; group = sex, race is its own column.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			in := fs.String("in", "", "input file or folder (required)")
			out := fs.String("out", "", "output .parquet file (required)")
			var o importers.Options
			fs.StringVar(&o.Task, "task", "sst2", "advglue, advglue-plus-plus: GLUE task (sst2, qqp, mnli, mnli-mm, qnli, rte)")
			fs.Int64Var(&o.Seed, "seed", 0, "enron-canaries: seed of the random labels")
			fs.StringVar(&o.TextCol, "text-col", "text", "csv, jsonl: text column")
			fs.StringVar(&o.LabelCol, "label-col", "label", "csv, jsonl: integer label column")
			fs.StringVar(&o.GroupCol, "group-col", "", "csv, jsonl: group (sensitive attribute) column")
			fs.StringVar(&o.DomainCol, "domain-col", "", "csv, jsonl: domain column")
			fs.StringVar(&o.IDCol, "id-col", "", "csv, jsonl: id column (default <file>/<row>)")
			fs.StringVar(&o.SplitCol, "split-col", "", "csv, jsonl: split column")
			fs.StringVar(&o.Split, "split", "", "csv, jsonl: split of every row (without --split-col)")
			fs.StringVar(&o.Delimiter, "delimiter", ",", `csv: field delimiter (one character, or "tab")`)
			return func(args []string) error {
				if len(args) != 1 {
					var names []string
					for _, s := range importers.Sources() {
						names = append(names, s.Name)
					}
					return usageErrorf("want one source (%s), got %d arguments", strings.Join(names, ", "), len(args))
				}
				if _, err := importers.Lookup(args[0]); err != nil {
					return usageErrorf("%v", err)
				}
				if *in == "" || *out == "" {
					return usageErrorf("--in and --out are required")
				}
				if err := checkImportFlags(fs, args[0]); err != nil {
					return err
				}
				sum, err := importers.Import(args[0], *in, *out, o)
				if err != nil {
					return err
				}
				printSummary(env.stdout, sum)
				return nil
			}
		},
	}
}

// importFlagSources names the sources each source-specific import flag applies to.
var importFlagSources = map[string][]string{
	"task": {"advglue", "advglue-plus-plus"}, "seed": {"enron-canaries"},
	"text-col": {"csv", "jsonl"}, "label-col": {"csv", "jsonl"}, "group-col": {"csv", "jsonl"},
	"domain-col": {"csv", "jsonl"}, "id-col": {"csv", "jsonl"}, "split-col": {"csv", "jsonl"},
	"split": {"csv", "jsonl"}, "delimiter": {"csv"},
}

// checkImportFlags rejects flags given for a source that ignores them, and
// --split with --split-col, rather than silently dropping them.
func checkImportFlags(fs *pflag.FlagSet, source string) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if srcs, ok := importFlagSources[f.Name]; ok && err == nil && !slices.Contains(srcs, source) {
			err = usageErrorf("--%s applies to %s, not %s", f.Name, strings.Join(srcs, ", "), source)
		}
	})
	if err == nil && fs.Changed("split") && fs.Changed("split-col") {
		err = usageErrorf("--split and --split-col exclude each other (--split sets every row's split)")
	}
	return err
}

func printSummary(w io.Writer, s *importers.Summary) {
	fmt.Fprintf(w, "%s: %d rows -> %s (summary %s)\n", s.Source, s.Rows, s.Output, importers.SummaryPath(s.Output))
	for _, in := range s.Inputs {
		fmt.Fprintf(w, "input:  %s (%d bytes, sha256 %s)\n", in.Path, in.Bytes, in.SHA256)
	}
	for _, sec := range []struct {
		name   string
		counts map[string]int64
	}{{"labels", s.Labels}, {"groups", s.Groups}, {"domains", s.Domains}, {"splits", s.Splits}} {
		fmt.Fprintf(w, "%s:\n", sec.name)
		for _, l := range stats.Balance(sec.counts) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	keys := make([]string, 0, len(s.Extra))
	for k := range s.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %d\n", k, s.Extra[k])
	}
	if s.Synthetic {
		fmt.Fprintln(w, "synthetic: true")
	}
}

func dataTokenizeCommand() *command {
	return &command{
		name:    "tokenize",
		summary: "add input_ids and length to a dataset",
		long: `Streams --in (files, folders or globs; repeatable), encodes each row's text with
--tokenizer (tokenizer.json or a GPT-2 folder) in parallel and writes --out with
input_ids and length, atomically. --max-len truncates (keeping the first tokens, or the
last with --truncate-left).`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			tf := addTokenizerFlags(fs, "row")
			in := fs.StringArray("in", nil, "input Parquet file, folder or glob (required, repeatable)")
			out := fs.String("out", "", "output .parquet file (required)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				if tf.path == "" || len(*in) == 0 || *out == "" {
					return usageErrorf("--tokenizer, --in and --out are required")
				}
				tok, err := tf.load()
				if err != nil {
					return err
				}
				st, err := tokenize.File(tok, *in, *out, tokenize.Options{Workers: tf.workers, Metadata: map[string]string{
					"w2st.tokenizer": filepath.Base(tf.path), "w2st.pad_id": strconv.Itoa(int(tok.PadID())),
				}})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "%d rows, %d tokens (mean %.1f, max %d) -> %s\n", st.Rows, st.Tokens,
					float64(st.Tokens)/float64(st.Rows), len(st.Histogram)-1, *out)
				return nil
			}
		},
	}
}

func dataSynthCommand() *command {
	return &command{
		name:    "synth",
		summary: "generate synthetic datasets",
		sub:     []*command{dataSynthCensusCommand()},
	}
}

func dataSynthCensusCommand() *command {
	return &command{
		name:    "census",
		summary: "generate a synthetic Adult-like census (the embedded default dataset)",
		long: `Draws --n people with Adult-like marginals and an income (>50K = label 1) from a
seeded logistic model in which sex enters only through --bias (the log-odds added for
men, centred): --bias 0 makes income independent of sex; the default gives about
Adult's demographic-parity gap. Rows use the Adult importer's text template, group =
sex, race kept, and are marked synthetic (the synthetic column, the Parquet metadata
and the summary JSON written beside --out).`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			n := fs.Int("n", 10000, "rows to generate")
			bias := fs.Float64("bias", synth.DefaultBias, "dependence of income on sex (log-odds; 0 = none)")
			seed := fs.Int64("seed", 1, "random seed")
			split := fs.String("split", "train", "split column value")
			out := fs.String("out", "", "output .parquet file (required)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				if *out == "" {
					return usageErrorf("--out is required")
				}
				if *n < 1 {
					return usageErrorf("--n must be >= 1, got %d", *n)
				}
				if math.IsNaN(*bias) || math.IsInf(*bias, 0) {
					return usageErrorf("--bias must be a finite number, got %v", *bias)
				}
				sum, err := writeCensus(*out, *n, *bias, *seed, *split)
				if err != nil {
					return err
				}
				printSummary(env.stdout, sum)
				return nil
			}
		},
	}
}

// writeCensus streams the generator into out in chunks, so memory does not
// grow with n, and writes the summary JSON beside it.
func writeCensus(out string, n int, bias float64, seed int64, split string) (*importers.Summary, error) {
	params := map[string]string{"n": strconv.Itoa(n), "bias": strconv.FormatFloat(bias, 'g', -1, 64),
		"seed": strconv.FormatInt(seed, 10), "split": split}
	md := map[string]string{"w2st.source": "synth-census", "w2st.synthetic": "true"}
	for k, v := range params {
		md["w2st.synth."+k] = v
	}
	w, err := parquetio.NewWriterOptions(out, parquetio.WriterOptions{Metadata: md})
	if err != nil {
		return nil, err
	}
	sum := importers.NewSummary("synth-census", out)
	sum.Params = params
	g := synth.NewCensus(bias, seed)
	if err := w.WriteEach(n, func() data.Example {
		ex := g.Next()
		ex.Split = split
		sum.Count(&ex)
		return ex
	}); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := importers.WriteSummary(importers.SummaryPath(out), sum); err != nil {
		_ = os.Remove(out)
		return nil, err
	}
	return sum, nil
}

func dataStatsCommand() *command {
	return &command{
		name:    "stats",
		summary: "print counts, balance, length histogram, bucket plan and padding efficiency",
		args:    "FILE...",
		long: `Reads only the label, group, domain, split, length and synthetic columns of the
files (or folders, globs). For tokenized files it plans --max-buckets length buckets
that minimise padding (or uses --buckets) and prints the padding efficiency: real tokens
over padded tokens, and the same counting the masked rows of each bucket's last batch.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			var o stats.Options
			fs.IntVar(&o.BatchSize, "batch-size", 32, "batch size")
			fs.IntVar(&o.MaxBuckets, "max-buckets", 4, "length buckets to plan")
			fs.IntSliceVar(&o.Buckets, "buckets", nil, "explicit bucket lengths (comma-separated, ascending)")
			fs.IntVar(&o.MaxLen, "max-len", 0, "truncate longer rows (0: no limit)")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(args []string) error {
				if len(args) == 0 {
					return usageErrorf("want at least one FILE")
				}
				if o.BatchSize < 1 || o.MaxBuckets < 1 || o.MaxLen < 0 {
					return usageErrorf("--batch-size and --max-buckets must be >= 1, --max-len >= 0")
				}
				for i, b := range o.Buckets {
					if b < 1 || (i > 0 && b <= o.Buckets[i-1]) {
						return usageErrorf("--buckets %v must be positive and strictly ascending", o.Buckets)
					}
				}
				rep, err := stats.Compute(args, o)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(env.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				rep.Write(env.stdout)
				return nil
			}
		},
	}
}
