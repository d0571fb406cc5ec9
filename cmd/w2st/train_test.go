package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
)

// writeTokenRows writes n tokenized rows: label 1 iff token 33 occurs, group
// "F"/"M" alternating, soft labels 0.8/0.2 around the label.
func writeTokenRows(t *testing.T, path string, n int, seed uint64, mutate func(i int, ex *data.Example)) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	rows := make([]data.Example, n)
	for i := range rows {
		l := 3 + r.IntN(10)
		ids := make([]int32, l)
		var label int32
		for j := range ids {
			ids[j] = int32(20 + r.IntN(20))
			if ids[j] == 33 {
				label = 1
			}
		}
		soft := []float32{0.8, 0.2}
		if label == 1 {
			soft = []float32{0.2, 0.8}
		}
		rows[i] = data.Example{ID: fmt.Sprintf("r%03d", i), Text: "x", Label: label, SoftLabel: soft,
			Group: []string{"F", "M"}[i%2], InputIDs: ids, Length: int32(l)}
		if mutate != nil {
			mutate(i, &rows[i])
		}
	}
	if err := parquetio.WriteFile(path, rows, parquetio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestTrainEvalEndToEnd(t *testing.T) {
	dir := t.TempDir()
	trainPath, testPath := filepath.Join(dir, "train.parquet"), filepath.Join(dir, "test.parquet")
	writeTokenRows(t, trainPath, 40, 1, nil)
	writeTokenRows(t, testPath, 24, 2, nil)
	out := filepath.Join(dir, "run")
	args := []string{"train", "--model", "tiny", "--train", trainPath, "--eval", testPath, "--labels", "soft", "--out", out,
		"--epochs", "2", "--batch-size", "8", "--accum-steps", "2", "--lr", "1e-3", "--loss", "logconf", "--clip-norm", "1",
		"--property", "fairness", "--lambda", "0.5", "--regularizer", "equalized_odds", "--checkpoint-every", "2", "--quiet"}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("train exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "trained ") || !strings.Contains(stdout, "dpd ") {
		t.Fatalf("stdout: %s", stdout)
	}
	raw, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res trainResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	trainBytes, err := os.ReadFile(trainPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(trainBytes))
	// 40 rows in buckets of 8 and 16 tokens; the step count comes from the batches.
	if res.Train.SHA256 != sum || res.Train.Rows != 40 || res.Result.Steps != res.Result.TotalSteps || res.Result.Steps < 4 ||
		res.Flags["loss"] != "logconf" || res.Regularize != "equalized_odds" || res.Eval == nil || res.Eval.DPD == nil ||
		res.Backend.Platform != "cpu" || fmt.Sprint(res.Groups) != "[F M]" {
		t.Fatalf("result.json: %s", raw)
	}
	logRaw, err := os.ReadFile(filepath.Join(out, "train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logRaw), "\n"); n != res.Result.Steps {
		t.Fatalf("train.jsonl has %d lines for %d steps", n, res.Result.Steps)
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}

	// Evaluating the exported model gives the numbers train reported.
	code, stdout, stderr = runCLI(t, "eval", "--model", filepath.Join(out, "model"), "--data", testPath, "--property", "fairness", "--json")
	if code != 0 {
		t.Fatalf("eval exit %d\nstderr: %s", code, stderr)
	}
	var ev evalResult
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Eval.Metrics != res.Eval.Metrics || *ev.Eval.DPD != *res.Eval.DPD || *ev.Eval.EOD != *res.Eval.EOD {
		t.Fatalf("eval %+v, train's eval %+v", ev.Eval, res.Eval)
	}

	// A second run into the same directory needs --resume; with it, nothing is left to do.
	code, _, stderr = runCLI(t, args...)
	if code != 1 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("rerun without --resume: exit %d, stderr %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, append(args, "--resume")...)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("trained %d steps", res.Result.Steps)) {
		t.Fatalf("rerun with --resume: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestTrainEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeTokenRows(t, good, 8, 1, nil)
	bigID := filepath.Join(dir, "bigid.parquet")
	writeTokenRows(t, bigID, 8, 1, func(i int, ex *data.Example) {
		if i == 5 {
			ex.InputIDs[1] = 60000
		}
	})
	noGroup := filepath.Join(dir, "nogroup.parquet")
	writeTokenRows(t, noGroup, 8, 1, func(i int, ex *data.Example) {
		if i == 3 {
			ex.Group = ""
		}
	})
	noSoft := filepath.Join(dir, "nosoft.parquet")
	writeTokenRows(t, noSoft, 8, 1, func(i int, ex *data.Example) {
		if i == 2 {
			ex.SoftLabel = nil
		}
	})
	noTokens := filepath.Join(dir, "text.parquet")
	writeTokenRows(t, noTokens, 8, 1, func(i int, ex *data.Example) { ex.InputIDs, ex.Length = nil, 0 })
	missing := filepath.Join(dir, "missing.parquet")
	out := filepath.Join(dir, "out")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no model", []string{"train", "--train", good, "--out", out}, 2, []string{"--model is required"}},
		{"no train", []string{"train", "--model", "tiny", "--out", out}, 2, []string{"--train and --out are required"}},
		{"bad labels", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--labels", "weak"}, 2, []string{"--labels must be gt or soft"}},
		{"bad property", []string{"eval", "--model", "tiny", "--data", good, "--property", "privacy"}, 2, []string{"unknown --property"}},
		{"lambda without property", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--lambda", "1"}, 2, []string{"needs --property"}},
		{"unknown preset", []string{"eval", "--model", "pythia-3m", "--data", good}, 1, []string{"unknown model preset"}},
		{"missing file", []string{"eval", "--model", "tiny", "--data", missing}, 1, []string{missing}},
		{"token id too big", []string{"eval", "--model", "tiny", "--data", bigID}, 1, []string{bigID, "row 6", "token id 60000", "vocabulary of 50304"}},
		{"fairness without group", []string{"eval", "--model", "tiny", "--data", noGroup, "--property", "fairness"}, 1, []string{noGroup, "row 4", "no group"}},
		{"soft labels missing", []string{"train", "--model", "tiny", "--train", noSoft, "--labels", "soft", "--out", out, "--quiet"}, 1, []string{noSoft, "row 3", "soft_label"}},
		{"text without tokenizer", []string{"eval", "--model", "tiny", "--data", noTokens}, 2, []string{"no input_ids", "--tokenizer"}},
		{"bad regularizer", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--regularizer", "l2"}, 2, []string{"unknown --regularizer"}},
		{"bad dtype", []string{"eval", "--model", "tiny", "--data", good, "--dtype", "f16"}, 2, []string{"--dtype", "unknown dtype"}},
		{"bad lr", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--lr", "0", "--quiet"}, 2, []string{"LR must be > 0"}},
		{"bad loss", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--loss", "hinge", "--quiet"}, 2, []string{"unknown Loss \"hinge\""}},
		{"bad schedule", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--schedule", "linear", "--quiet"}, 2, []string{"unknown Schedule"}},
		{"zero epochs", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--epochs", "0", "--quiet"}, 2, []string{"--epochs 0: want >= 1"}},
		{"zero accum steps", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--accum-steps", "0", "--quiet"}, 2, []string{"--accum-steps 0: want >= 1"}},
		{"keep no checkpoints", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--keep-checkpoints", "0", "--quiet"}, 2, []string{"--keep-checkpoints 0"}},
		{"keep -5 checkpoints", []string{"train", "--model", "tiny", "--train", good, "--out", out, "--keep-checkpoints", "-5", "--quiet"}, 2, []string{"--keep-checkpoints -5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, c.code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Fatalf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "result.json")); err == nil {
		t.Fatal("a failed run left a result.json")
	}
}

// Text rows are tokenized with the real GPT-NeoX tokenizer from the shared data folder.
func TestEvalTokenizesText(t *testing.T) {
	tokPath := filepath.Join(shareddata.Dir(t), "tokenizers", "gpt-neox-20b-tokenizer.json")
	dir := t.TempDir()
	path := filepath.Join(dir, "text.parquet")
	rows := []data.Example{
		{ID: "a", Text: "A person in 1996 has the following attributes: age 39, sex Male. Is the annual income greater than $50k?", Label: 0, Group: "Male"},
		{ID: "b", Text: "A person in 1996 has the following attributes: age 52, sex Female. Is the annual income greater than $50k?", Label: 1, Group: "Female"},
	}
	if err := parquetio.WriteFile(path, rows, parquetio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "eval", "--model", "tiny", "--data", path, "--tokenizer", tokPath, "--property", "fairness", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var ev evalResult
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	// A fresh preset has a zero score head: both rows get P = (0.5, 0.5).
	if ev.Eval.Metrics.N != 2 || ev.Eval.Metrics.Accuracy != 0.5 || *ev.Eval.DPD != 0 {
		t.Fatalf("%s", stdout)
	}
}

// TestTrainResumeRefusesOtherSettings: checkpoints trained under one set of
// flags (or on one training file) are not continued under another.
func TestTrainResumeRefusesOtherSettings(t *testing.T) {
	dir := t.TempDir()
	trainPath := filepath.Join(dir, "train.parquet")
	writeTokenRows(t, trainPath, 16, 1, nil)
	out := filepath.Join(dir, "run")
	args := []string{"train", "--model", "tiny", "--train", trainPath, "--out", out, "--max-steps", "2",
		"--batch-size", "8", "--checkpoint-every", "1", "--quiet"}
	if code, _, stderr := runCLI(t, args...); code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	// Same settings, other progress/checkpoint flags: accepted.
	if code, _, stderr := runCLI(t, append(args, "--resume", "--keep-checkpoints", "1")...); code != 0 {
		t.Fatalf("resume with the same settings: exit %d: %s", code, stderr)
	}
	cases := []struct {
		name  string
		extra []string
		edit  bool
		want  string
	}{
		{"lr", []string{"--lr", "1e-3"}, false, `--lr "5e-05" (now "0.001")`},
		{"max-steps and seed", []string{"--max-steps", "4", "--seed", "3"}, false, `--max-steps "2" (now "4"), --seed "0" (now "3")`},
		{"training file changed", nil, true, "train sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.edit {
				writeTokenRows(t, trainPath, 16, 9, nil)
				defer writeTokenRows(t, trainPath, 16, 1, nil)
			}
			code, _, stderr := runCLI(t, append(append(args, "--resume"), c.extra...)...)
			if code != 1 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line with %q", code, stderr, c.want)
			}
		})
	}
}

// TestWriteJSONAtomicErrorsNameTheTarget: a failed write names the file the
// user asked for, not the hidden temporary file, and leaves nothing behind.
func TestWriteJSONAtomicErrorsNameTheTarget(t *testing.T) {
	dir := t.TempDir()
	isDir := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(isDir, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing", "r.json"), isDir} {
		err := writeJSONAtomic(path, map[string]int{"a": 1})
		if err == nil || !strings.HasPrefix(err.Error(), "writing "+path+": ") || strings.Contains(err.Error(), ".tmp-") {
			t.Errorf("%s: err = %v, want \"writing %s: ...\" without the temporary name", path, err, path)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
