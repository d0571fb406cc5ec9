package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"

	"github.com/w2st/w2st/accel/safetensors"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/tokenizer"
)

const parityDir = "../../accel/neox/testdata/parity/parallel"

// parityInputs writes the parity fixture's inputs as JSONL (each row cut to
// its length) and returns the path and the reference logits.
func parityInputs(t *testing.T) (string, [][]float32) {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(parityDir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokInfo, _ := f.Lookup("tokens")
	b, s := tokInfo.Shape[0], tokInfo.Shape[1]
	raw := make([]byte, tokInfo.NumBytes())
	lraw := make([]byte, 4*b)
	if err := f.ReadInto("tokens", raw); err != nil {
		t.Fatal(err)
	}
	if err := f.ReadInto("lengths", lraw); err != nil {
		t.Fatal(err)
	}
	le := func(p []byte, i int) int32 {
		return int32(uint32(p[4*i]) | uint32(p[4*i+1])<<8 | uint32(p[4*i+2])<<16 | uint32(p[4*i+3])<<24)
	}
	logitInfo, _ := f.Lookup("logits")
	flat := make([]float32, logitInfo.NumElements())
	if err := f.ReadFloat32("logits", flat); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	var sb strings.Builder
	var want [][]float32
	c := logitInfo.Shape[1]
	for r := 0; r < b; r++ {
		n := int(le(lraw, r))
		ids := make([]int32, n)
		for j := range ids {
			ids[j] = le(raw, r*s+j)
		}
		js, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("r%d", r), "input_ids": ids, "label": 0})
		sb.Write(js)
		sb.WriteString("\n")
		want = append(want, flat[r*c:(r+1)*c])
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// TestPredictMatchesReference: `w2st predict` on the parity checkpoint gives
// the PyTorch reference's logits, in input order, with probabilities summing to 1.
func TestPredictMatchesReference(t *testing.T) {
	in, want := parityInputs(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	code, _, stderr := runCLI(t, "predict", "--model", parityDir, "--input", in, "--out", out, "--batch-size", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		var o struct {
			ID     string    `json:"id"`
			Logits []float32 `json:"logits"`
			Probs  []float32 `json:"probs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatal(err)
		}
		if o.ID != fmt.Sprintf("r%d", i) {
			t.Errorf("line %d has id %q", i+1, o.ID)
		}
		var sum float64
		for j, v := range o.Logits {
			if math.Abs(float64(v-want[i][j])) > 1e-5 {
				t.Errorf("row %d logits %v, want %v", i, o.Logits, want[i])
				break
			}
			sum += float64(o.Probs[j])
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("row %d probs sum to %v", i, sum)
		}
	}
	if i != len(want) {
		t.Errorf("%d output lines, want %d", i, len(want))
	}

	// bf16 compute: close to the f32 reference (8-bit mantissa).
	outBF := filepath.Join(t.TempDir(), "bf16.jsonl")
	if code, _, stderr := runCLI(t, "predict", "--model", parityDir, "--input", in, "--out", outBF, "--dtype", "bf16"); code != 0 {
		t.Fatalf("bf16: exit %d: %s", code, stderr)
	}
	bf, _ := os.ReadFile(outBF)
	for i, line := range strings.Split(strings.TrimSpace(string(bf)), "\n") {
		var o struct{ Logits []float32 }
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatal(err)
		}
		for j, v := range o.Logits {
			if math.Abs(float64(v-want[i][j])) > 0.03 {
				t.Errorf("bf16 row %d logits %v, want ≈ %v", i, o.Logits, want[i])
				break
			}
		}
	}

	// Parquet out, then Parquet in: soft_label holds the probabilities.
	pq := filepath.Join(t.TempDir(), "out.parquet")
	if code, _, stderr := runCLI(t, "predict", "--model", parityDir, "--input", in, "--out", pq); code != 0 {
		t.Fatalf("parquet out: exit %d: %s", code, stderr)
	}
	rows, err := parquetio.ReadAll(pq)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) || rows[1].ID != "r1" || len(rows[1].SoftLabel) != 3 || len(rows[1].InputIDs) != 7 {
		t.Fatalf("parquet rows %+v", rows)
	}
	out2 := filepath.Join(t.TempDir(), "out2.jsonl")
	if code, _, stderr := runCLI(t, "predict", "--model", parityDir, "--input", pq, "--out", out2); code != 0 {
		t.Fatalf("parquet in: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(out2)
	if lines := strings.Count(string(b), "\n"); lines != len(want) || !strings.Contains(string(b), `"id":"r3"`) {
		t.Errorf("parquet in gave:\n%s", b)
	}
}

func TestPredictErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := filepath.Join(dir, "out.jsonl")
	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"missing flags", []string{"predict", "--model", "tiny"}, 2, []string{"required"}},
		{"negative num-labels", []string{"predict", "--model", "tiny", "--input", "x", "--out", out, "--num-labels", "-2"}, 2, []string{"--num-labels must be >= 0 (0: the config's), got -2"}},
		{"bad dtype", []string{"predict", "--model", "tiny", "--input", "x", "--out", out, "--dtype", "f8"}, 2, []string{"f8"}},
		{"bad json", []string{"predict", "--model", parityDir, "--input", write("a.jsonl", "{\"input_ids\":[1]}\n{oops\n"), "--out", out}, 1, []string{"a.jsonl: line 2"}},
		{"wrong type", []string{"predict", "--model", parityDir, "--input", write("b.jsonl", "{\"input_ids\":\"12\"}\n"), "--out", out}, 1, []string{"b.jsonl: line 1", "input_ids"}},
		{"id out of vocab", []string{"predict", "--model", parityDir, "--input", write("c.jsonl", "{\"input_ids\":[1]}\n\n{\"input_ids\":[1,97]}\n"), "--out", out}, 1, []string{"c.jsonl: line 3", "id 97", "[0,97)"}},
		{"empty input", []string{"predict", "--model", parityDir, "--input", write("d.jsonl", "{\"input_ids\":[]}\n"), "--out", out}, 1, []string{"d.jsonl: line 1: empty"}},
		{"text without tokenizer", []string{"predict", "--model", parityDir, "--input", write("e.jsonl", "{\"text\":\"hi\"}\n"), "--out", out}, 1, []string{"e.jsonl: line 1", "--tokenizer"}},
		{"too long", []string{"predict", "--model", parityDir, "--input", write("f.jsonl", "{\"input_ids\":["+strings.Repeat("1,", 16)+"1]}\n"), "--out", out}, 1, []string{"f.jsonl: line 1", "17 tokens"}},
		{"unknown model", []string{"predict", "--model", "gpt5", "--input", "x", "--out", out}, 1, []string{"gpt5"}},
		{"no rows", []string{"predict", "--model", parityDir, "--input", write("h.jsonl", "\n\n"), "--out", out}, 1, []string{"h.jsonl: no rows to predict"}},
		{"out is a folder", []string{"predict", "--model", parityDir, "--input", write("g.jsonl", "{\"input_ids\":[1]}\n"), "--out", dir}, 1, []string{dir + ": is a directory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
			}
			for _, w := range c.wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed runs left %s", out)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".out*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestPredictNaNWeights: a checkpoint whose score head is NaN fails with the
// row and the cause, for JSONL and Parquet outputs alike, and writes nothing.
func TestPredictNaNWeights(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "nan")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(parityDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.ReadFile(filepath.Join(parityDir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(st)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(st[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var score struct {
		Offsets [2]int `json:"data_offsets"`
	}
	if err := json.Unmarshal(header["score.weight"], &score); err != nil || score.Offsets[1] <= score.Offsets[0] {
		t.Fatalf("score.weight %s: %v", header["score.weight"], err)
	}
	for i := score.Offsets[0]; i < score.Offsets[1]; i++ {
		st[8+int(n)+i] = 0xff // NaN in F32, F16 and BF16
	}
	os.WriteFile(filepath.Join(model, "config.json"), cfg, 0o644)
	os.WriteFile(filepath.Join(model, "model.safetensors"), st, 0o644)
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte("{\"input_ids\":[1,2]}\n"), 0o644)
	for _, out := range []string{filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "out.parquet")} {
		code, _, stderr := runCLI(t, "predict", "--model", model, "--input", in, "--out", out)
		if code != 1 || !strings.Contains(stderr, "in.jsonl: line 1: the model's logits [NaN NaN NaN] are not finite") {
			t.Errorf("%s: exit %d, stderr %q", out, code, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s written despite the error", out)
		}
	}
}

func TestModelInfo(t *testing.T) {
	code, stdout, stderr := runCLI(t, "model", "info", "--json", "--seq-len", "128", "pythia-410m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var info modelInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	// Pythia-410m: 302,311,424 non-embedding parameters in the causal LM (Pythia README), plus the 2×1024 score head.
	if info.NonEmbeddingParams != 302311424+2048 || info.TotalParams != 302311424+2048+50304*1024 {
		t.Errorf("params %d / %d", info.TotalParams, info.NonEmbeddingParams)
	}
	if want := 6*float64(info.NonEmbeddingParams) + 12*24*1024*128; info.TrainFLOPsPerToken != want {
		t.Errorf("FLOPs %v, want %v", info.TrainFLOPsPerToken, want)
	}
	if len(info.Params) != 1+24*12+3 {
		t.Errorf("%d tensors listed", len(info.Params))
	}
	code, stdout, _ = runCLI(t, "model", "info", "../../accel/neox/testdata/parity/sequential")
	if code != 0 || !strings.Contains(stdout, "2 files, 34 tensors") || !strings.Contains(stdout, "sequential residual") {
		t.Errorf("folder info (exit %d):\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "model", "info"); code != 2 || !strings.Contains(stderr, "want one model") {
		t.Errorf("no argument: exit %d %s", code, stderr)
	}
	for _, args := range [][]string{{"info"}, {"export", "--out", t.TempDir()}} {
		args = append(append([]string{"model"}, args...), "--num-labels", "-1", "tiny")
		if code, _, stderr := runCLI(t, args...); code != 2 || !strings.Contains(stderr, "--num-labels must be >= 0 (0: the config's), got -1") {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "config.json"), []byte(`{"model_type":"gpt_neox","hidden_act":"relu"}`), 0o644)
	if code, _, stderr := runCLI(t, "model", "info", bad); code != 1 || !strings.Contains(stderr, `hidden_act "relu"`) || !strings.Contains(stderr, "config.json") {
		t.Errorf("bad config: exit %d %s", code, stderr)
	}
}

// TestPredictText: "text" inputs are tokenized with --tokenizer (the real
// GPT-NeoX-20B tokenizer from the shared data) and give the same logits as
// the same rows given as input_ids.
func TestPredictText(t *testing.T) {
	tokPath := filepath.Join(shareddata.Dir(t), "tokenizers", "gpt-neox-20b-tokenizer.json")
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny")
	if code, _, stderr := runCLI(t, "model", "export", "tiny", "--seed", "5", "--out", model); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	// Give the zero-initialised score head values so the logits are informative.
	st := filepath.Join(model, "model.safetensors")
	f, err := safetensors.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	var es []safetensors.Entry
	for _, ti := range f.Tensors() {
		b := make([]byte, ti.NumBytes())
		if err := f.ReadInto(ti.Name, b); err != nil {
			t.Fatal(err)
		}
		if ti.Name == "score.weight" {
			for i := 0; i < len(b); i += 4 {
				binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(i%13)-6))
			}
		}
		es = append(es, safetensors.Entry{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Data: b})
	}
	f.Close()
	if err := safetensors.WriteFile(st, es, nil); err != nil {
		t.Fatal(err)
	}
	texts := []string{"The movie was wonderful.", "Age: 39, workclass: State-gov, sex: Male", "naïve café ☕"}
	var textIn, idsIn strings.Builder
	for _, s := range texts {
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(map[string]any{"text": s})
		b, _ := json.Marshal(map[string]any{"input_ids": ids})
		textIn.Write(append(a, '\n'))
		idsIn.Write(append(b, '\n'))
	}
	tin, iin := filepath.Join(dir, "text.jsonl"), filepath.Join(dir, "ids.jsonl")
	os.WriteFile(tin, []byte(textIn.String()), 0o644)
	os.WriteFile(iin, []byte(idsIn.String()), 0o644)
	tout, iout := filepath.Join(dir, "t.out"), filepath.Join(dir, "i.out")
	if code, _, stderr := runCLI(t, "predict", "--model", model, "--tokenizer", tokPath, "--input", tin, "--out", tout); code != 0 {
		t.Fatalf("text predict: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "predict", "--model", model, "--input", iin, "--out", iout); code != 0 {
		t.Fatalf("ids predict: %s", stderr)
	}
	a, _ := os.ReadFile(tout)
	b, _ := os.ReadFile(iout)
	if string(a) != string(b) || strings.Count(string(a), "\n") != len(texts) {
		t.Errorf("text and input_ids predictions differ:\n%s\n%s", a, b)
	}
	if strings.Contains(string(a), `"logits":[0,0]`) {
		t.Errorf("zero logits: %s", a)
	}
}

// FuzzReadPredictInput: the JSONL reader never panics, and every row it
// accepts has a non-empty id list and a line reference.
func FuzzReadPredictInput(f *testing.F) {
	f.Add([]byte("{\"input_ids\":[1,2,3],\"id\":\"a\"}\n{\"input_ids\":[4]}\n"))
	f.Add([]byte("{\"text\":\"hi\"}\n"))
	f.Add([]byte("\n\n{\"input_ids\":[]}"))
	f.Add([]byte("{\"input_ids\":[1e3]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "in.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rows, err := readPredictInput(p, nil)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, r := range rows {
			if len(r.ids) == 0 || !strings.HasPrefix(r.where, "line ") {
				t.Fatalf("accepted row %+v", r)
			}
		}
	})
}

// TestPredictStreamsInOrder: with --batch-size 1 the input is read and
// written in blocks of 64 rows; 130 rows keep their order across blocks.
func TestPredictStreamsInOrder(t *testing.T) {
	in, want := parityInputs(t)
	b, _ := os.ReadFile(in)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var sb strings.Builder
	const n = 130
	for i := 0; i < n; i++ {
		sb.WriteString(strings.Replace(lines[i%len(lines)], `"id":"r`, fmt.Sprintf(`"id":"%d-r`, i), 1) + "\n")
	}
	big := filepath.Join(t.TempDir(), "big.jsonl")
	os.WriteFile(big, []byte(sb.String()), 0o644)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	if code, _, stderr := runCLI(t, "predict", "--model", parityDir, "--input", big, "--out", out, "--batch-size", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	outLines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(outLines) != n {
		t.Fatalf("%d output lines, want %d", len(outLines), n)
	}
	for i, l := range outLines {
		var o struct {
			ID     string
			Logits []float32
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		if o.ID != fmt.Sprintf("%d-r%d", i, i%len(lines)) || math.Abs(float64(o.Logits[0]-want[i%len(lines)][0])) > 1e-5 {
			t.Fatalf("line %d: %s", i+1, l)
		}
	}
}
