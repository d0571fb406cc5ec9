package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoQuickEndToEnd runs `w2st demo --quick` (the whole W2S pipeline with
// real GoMLX training on tiny models), checks its outputs, reruns it to see
// every stage come from the cache, and rebuilds the report with `w2st report`.
func TestDemoQuickEndToEnd(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := runCLI(t, "demo", "--quick", "--out", out)
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"| Model | Accuracy (%) ↑ | ROC AUC ↑ | DPD (pp) ↓ | EOD (pp) ↓ | PGR Accuracy ↑ |",
		"| Weak model · plain |", "| Strong ceiling · TFT (λ=0.5) |", "| W2S · vanilla |", "| W2S · Weak+WTS TFT (λ=0.5) |",
		"Seeds: 0, 1 (n = 2)", "report: " + filepath.Join(out, "report", "report.md"),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Count(stderr, " w2s ") < 8 { // 4 strategies × 2 seeds
		t.Errorf("expected 8 student stages in the log:\n%s", stderr)
	}
	sums, _ := filepath.Glob(filepath.Join(out, "experiment", "runs", "*", "summary.json"))
	if len(sums) != 4 {
		t.Errorf("%d summaries, want 4", len(sums))
	}
	for _, f := range []string{"report.md", "results.csv", "fairness-census-balanced-test-96-pgr.png", "fairness-census-balanced-test-96-pgr.svg",
		"fairness-census-balanced-test-96-accuracy-vs-dpd.png", "fairness-census-balanced-test-96-accuracy-vs-dpd.svg"} {
		b, err := os.ReadFile(filepath.Join(out, "report", f))
		if err != nil {
			t.Errorf("report file: %v", err)
			continue
		}
		if strings.HasSuffix(f, ".png") && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
	}
	// Everything is cached now: no stage runs again.
	code, _, stderr = runCLI(t, "demo", "--quick", "--out", out)
	if code != 0 || strings.Contains(stderr, "done in") || !strings.Contains(stderr, "cached") {
		t.Errorf("second demo run (exit %d) recomputed stages:\n%s", code, stderr)
	}
	// The report command renders the same experiment directory.
	rep := filepath.Join(t.TempDir(), "rep")
	code, stdout, stderr = runCLI(t, "report", "--out", rep, filepath.Join(out, "experiment"))
	if code != 0 || !strings.Contains(stdout, "| W2S · WTS TFT (λ=0.5) |") {
		t.Fatalf("report exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(rep, "report.md")); err != nil {
		t.Error(err)
	}
}
