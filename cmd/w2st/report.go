package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/report"
)

func reportCommand() *command {
	return &command{
		name:    "report",
		summary: "write the Markdown table, CSV and plots of W2S experiments",
		args:    "<experiment-dir|summary.json>...",
		long: `Reads every runs/*/summary.json of the given 'w2st w2s' output directories (or summary.json
files) and writes report.md (tables with units, ↑/↓ directions, seeds and the CI method),
results.csv (every number) and PNG+SVG plots (accuracy vs each trust metric per strategy; PGR
bars with 95% CI whiskers) into --out (default: <first dir>/report). Prints the table.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			out := fs.String("out", "", "report directory (default <first dir>/report)")
			quiet := fs.Bool("quiet", false, "do not print the report")
			return func(args []string) error {
				if len(args) == 0 {
					return usageErrorf("want at least one experiment directory or summary.json")
				}
				sums, err := loadSummaries(args)
				if err != nil {
					return err
				}
				dir := *out
				if dir == "" {
					dir = filepath.Join(args[0], "report")
					if st, err := os.Stat(args[0]); err == nil && !st.IsDir() {
						dir = filepath.Join(filepath.Dir(args[0]), "report")
					}
				}
				files, groups, err := report.Write(dir, sums)
				if err != nil {
					return err
				}
				if !*quiet {
					fmt.Fprint(env.stdout, report.Markdown(groups))
				}
				fmt.Fprintf(env.stdout, "report: %s\ncsv:    %s\nplots:  %d files in %s\n", files.Markdown, files.CSV, len(files.Plots), dir)
				return nil
			}
		},
	}
}

func loadSummaries(paths []string) ([]*pipeline.Summary, error) {
	var sums []*pipeline.Summary
	seen := map[string]bool{} // a directory and its summary, or a directory given twice, count once
	for _, p := range paths {
		files, err := pipeline.FindSummaries(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				return nil, err
			}
			if seen[abs] {
				continue
			}
			seen[abs] = true
			s, err := pipeline.ReadSummary(f)
			if err != nil {
				return nil, err
			}
			sums = append(sums, s)
		}
	}
	return sums, nil
}
