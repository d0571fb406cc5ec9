package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestW2SAndReportBadInput(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.parquet")
	base := []string{"w2s", "--weak", "tiny", "--strong", "small", "--train", missing, "--test", missing, "--out", filepath.Join(dir, "exp")}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	cases := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"no weak", []string{"w2s", "--strong", "small", "--train", missing, "--test", missing, "--out", dir}, 2, "--weak is required"},
		{"no out", []string{"w2s", "--weak", "tiny", "--strong", "small", "--train", missing, "--test", missing}, 2, "--out is required"},
		{"bad strategy", with("--strategy", "both"), 2, `unknown strategy "both"`},
		{"bad seeds", with("--seeds", "0,x"), 2, `"x" is not an integer`},
		{"extra args", with("extra"), 2, "unexpected arguments"},
		{"seed twice", with("--seeds", "0,1,0"), 2, `seed 0 is given twice`},
		{"negative lambda", with("--lambda", "-1"), 2, "--lambda -1: want a finite value ≥ 0"},
		{"NaN lambda", with("--lambda", "NaN"), 2, "--lambda NaN: want a finite value ≥ 0"},
		{"zero epochs", with("--epochs", "0"), 2, "epochs 0: want ≥ 1"},
		{"zero lr", with("--lr", "0"), 2, "learning rate 0: want > 0"},
		{"bad schedule", with("--schedule", "linear"), 2, `schedule "linear": want cosine or constant`},
		{"missing train file", base, 1, "missing.parquet"},
		{"property not yet supported", with("--property", "privacy"), 1, `property "privacy" is not yet supported`},
		{"report without args", []string{"report"}, 2, "at least one experiment directory"},
		{"report of a dir without summaries", []string{"report", dir}, 1, "no runs/*/summary.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderrHas) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q); stdout %q", code, c.code, stderr, c.stderrHas, stdout)
			}
		})
	}
}

// TestReportCountsEachSummaryOnce: a directory given twice, or a directory and
// one of its summary.json files, is one experiment, not duplicate table rows.
func TestReportCountsEachSummaryOnce(t *testing.T) {
	dir := t.TempDir()
	sum := filepath.Join(dir, "runs", "fairness-none", "summary.json")
	if err := os.MkdirAll(filepath.Dir(sum), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sum, []byte(`{"name":"fairness-none","property":"fairness","strategy":"none","seeds":[0],
"metric_defs":[{"name":"accuracy","label":"Accuracy","scale":100,"higher_better":true}],"tests":[{"name":"t"}],
"per_seed":[{"seed":0}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{dir, dir}, {dir, sum}, {sum, filepath.Join(dir, ".", "runs", "fairness-none", "summary.json")}} {
		sums, err := loadSummaries(args)
		if err != nil || len(sums) != 1 {
			t.Errorf("%q: %d summaries, err %v; want 1", args, len(sums), err)
		}
	}
}
