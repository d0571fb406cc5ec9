package main

import (
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
