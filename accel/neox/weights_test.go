package neox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/accel/safetensors"
)

// smallCfg is a tiny config for checkpoint tests.
func smallCfg() Config {
	c := pythia(31, 8, 1, 2)
	c.IntermediateSize = 12
	c.MaxPositions = 16
	c.RotaryPct = 0.5
	return c
}

// writeCkpt writes a checkpoint for cfg with every tensor filled with i+1 (i
// its index), after edit may change the entry list.
func writeCkpt(t *testing.T, dir string, cfg Config, edit func([]safetensors.Entry) []safetensors.Entry) {
	t.Helper()
	var es []safetensors.Entry
	for i, p := range cfg.Params() {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		b := make([]byte, 4*n)
		for j := 0; j < n; j++ {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(float32(i+1)))
		}
		es = append(es, safetensors.Entry{Name: p.Name, DType: safetensors.F32, Shape: p.Shape, Data: b})
	}
	if edit != nil {
		es = edit(es)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), es, nil); err != nil {
		t.Fatal(err)
	}
}

func drop(name string) func([]safetensors.Entry) []safetensors.Entry {
	return func(es []safetensors.Entry) []safetensors.Entry {
		out := es[:0]
		for _, e := range es {
			if e.Name != name {
				out = append(out, e)
			}
		}
		return out
	}
}

// TestLoadWeightsErrors: each bad checkpoint gives one clear error.
func TestLoadWeightsErrors(t *testing.T) {
	cfg := smallCfg()
	good, err := os.ReadFile(filepath.Join("testdata", "parity", "noscore", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		setup func(dir string)
		cfg   Config
		want  []string
	}{
		{"missing tensor", func(d string) { writeCkpt(t, d, cfg, drop("gpt_neox.layers.0.mlp.dense_h_to_4h.bias")) }, cfg,
			[]string{"1 missing", "gpt_neox.layers.0.mlp.dense_h_to_4h.bias"}},
		{"wrong shapes for the config", func(d string) { writeCkpt(t, d, cfg, nil) }, func() Config { c := cfg; c.IntermediateSize = 16; return c }(),
			[]string{"3 mis-shaped", "gpt_neox.layers.0.mlp.dense_h_to_4h.weight is [12 8], the config needs [16 8]"}},
		{"a wrong hidden size lists a few mis-shaped tensors, not all", func(d string) { writeCkpt(t, d, cfg, nil) }, func() Config { c := cfg; c.HiddenSize = 16; return c }(),
			[]string{"15 mis-shaped: gpt_neox.embed_in.weight is [31 8], the config needs [31 16]; ", "; … and 10 more"}},
		{"unexpected and missing together", func(d string) {
			writeCkpt(t, d, cfg, func(es []safetensors.Entry) []safetensors.Entry {
				es = drop("gpt_neox.final_layer_norm.bias")(es)
				return append(es, safetensors.Entry{Name: "gpt_neox.layers.1.input_layernorm.weight", DType: safetensors.F32, Shape: []int{8}, Data: make([]byte, 32)})
			})
		}, cfg, []string{"1 missing: gpt_neox.final_layer_norm.bias", "1 unexpected: gpt_neox.layers.1.input_layernorm.weight"}},
		{"integer tensor", func(d string) {
			writeCkpt(t, d, cfg, func(es []safetensors.Entry) []safetensors.Entry {
				es = drop("gpt_neox.final_layer_norm.bias")(es)
				return append(es, safetensors.Entry{Name: "gpt_neox.final_layer_norm.bias", DType: safetensors.I32, Shape: []int{8}, Data: make([]byte, 32)})
			})
		}, cfg, []string{"has dtype I32"}},
		{"truncated file", func(d string) { os.WriteFile(filepath.Join(d, "model.safetensors"), good[:len(good)-10], 0o644) }, cfg, []string{"beyond the 11446 bytes of data", "model.safetensors"}},
		{"header length beyond the file", func(d string) {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint64(b, uint64(len(b)))
			os.WriteFile(filepath.Join(d, "model.safetensors"), b, 0o644)
		}, cfg, []string{"beyond the end of the file"}},
		{"unknown dtype", func(d string) {
			os.WriteFile(filepath.Join(d, "model.safetensors"), bytes.Replace(good, []byte(`"F16"`), []byte(`"Q16"`), 1), 0o644)
		}, cfg, []string{`unknown dtype "Q16"`}},
		{"pickle", func(d string) { os.WriteFile(filepath.Join(d, "pytorch_model.bin"), []byte("PK"), 0o644) }, cfg, []string{"pickle", "weights_only=True", "save_file"}},
		{"empty folder", func(string) {}, cfg, []string{"no model.safetensors"}},
		{"a scrambled index lists a few problems, not all", func(d string) {
			// both shards hold every tensor; the index splits them between the two
			writeCkpt(t, d, cfg, nil)
			full := filepath.Join(d, "model.safetensors")
			b, _ := os.ReadFile(full)
			os.WriteFile(filepath.Join(d, "model-00002-of-00002.safetensors"), b, 0o644)
			os.Rename(full, filepath.Join(d, "model-00001-of-00002.safetensors"))
			wm := map[string]string{}
			for i, p := range cfg.Params() {
				wm[p.Name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
			}
			idx, _ := json.Marshal(map[string]any{"weight_map": wm})
			os.WriteFile(filepath.Join(d, "model.safetensors.index.json"), idx, 0o644)
		}, cfg, []string{"but the index names", "… and "}},
		{"index with a missing shard tensor", func(d string) {
			writeCkpt(t, d, cfg, nil)
			os.Rename(filepath.Join(d, "model.safetensors"), filepath.Join(d, "model-00001-of-00001.safetensors"))
			os.WriteFile(filepath.Join(d, "model.safetensors.index.json"),
				[]byte(`{"weight_map":{"gpt_neox.embed_in.weight":"model-00001-of-00001.safetensors","ghost":"model-00001-of-00001.safetensors"}}`), 0o644)
		}, cfg, []string{`"ghost" is in the index but not in`, "is not in the index"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(dir)
			err := LoadWeights(context.New(), c.cfg, dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not mention %q", err, w)
				}
			}
		})
	}
}

// TestExportImportBitExact: export → import gives bit-identical variables and
// logits, the folder holds exactly the HF files, and a failed export leaves nothing.
func TestExportImportBitExact(t *testing.T) {
	fx := loadFixture(t, "parallel")
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "export")
	if err := Export(ctx, fx.cfg, dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "config.json,model.safetensors" {
		t.Errorf("export folder holds %v", names)
	}
	cfg2, w, err := Resolve(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.NumLabels != 3 || cfg2.Labels()[0] != "neg" || cfg2.HiddenSize != fx.cfg.HiddenSize {
		t.Errorf("exported config %+v", cfg2)
	}
	ctx2 := context.New()
	if err := LoadWeights(ctx2, cfg2, w); err != nil {
		t.Fatal(err)
	}
	for _, p := range fx.cfg.Params() {
		a := variableData(t, ctx, p.Name)
		b := variableData(t, ctx2, p.Name)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %v != %v", p.Name, i, a[i], b[i])
			}
		}
	}
	// The original checkpoint's extra tensors (embed_out, attention buffers) are not exported.
	sf, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sf.Tensors()) != len(fx.cfg.Params()) {
		t.Errorf("exported %d tensors, want %d", len(sf.Tensors()), len(fx.cfg.Params()))
	}
	sf.Close()
	logits, _, _ := runForwardBackward(t, ctx2, cfg2, fx, ForwardOptions{}, nil)
	if e := maxAbsErr(logits, fx.logits); e > 1e-5 {
		t.Errorf("logits after export/import differ from the reference by %.3g", e)
	}

	// A context without the model cannot be exported, and nothing is written.
	bad := filepath.Join(t.TempDir(), "bad")
	if err := Export(context.New(), fx.cfg, bad); err == nil || !strings.Contains(err.Error(), "not in the context") {
		t.Errorf("export of an empty context: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("failed export created %s", bad)
	}
}

func variableData(t *testing.T, ctx *context.Context, hfName string) []float32 {
	t.Helper()
	vctx, name := VariableFor(ctx, hfName)
	v := vctx.GetVariableByScopeAndName(vctx.Scope(), name)
	if v == nil {
		t.Fatalf("no variable %s", hfName)
	}
	return tensors.MustCopyFlatData[float32](v.MustValue())
}

// TestPresetInit: a preset builds with HF-named variables of the right shapes,
// a zero score head (so zero logits), unit LayerNorm gains and N(0, 0.02) weights.
func TestPresetInit(t *testing.T) {
	cfg, _, err := Resolve("tiny", 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg.VocabSize = 1000 // keep the test light
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(42))
	backend := accel.MustCPU()
	tok := tensors.FromFlatDataAndDimensions([]int32{5, 6, 7, 8, 9, 10}, 2, 3)
	lens := tensors.FromFlatDataAndDimensions([]int32{3, 2}, 2)
	out, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, tokens, lengths *Node) *Node {
		return Logits(ctx, cfg, tokens, lengths, ForwardOptions{})
	}, tok, lens)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range tensors.MustCopyFlatData[float32](out) {
		if v != 0 {
			t.Fatalf("logits with a zero score head: %v", tensors.MustCopyFlatData[float32](out))
		}
	}
	n := 0
	for v := range ctx.IterVariables() {
		if v.Trainable && v.DType() == dtypes.Float32 {
			n++
		}
	}
	if n != len(cfg.Params()) {
		t.Errorf("%d float variables, want %d", n, len(cfg.Params()))
	}
	for _, p := range cfg.Params() {
		d := variableData(t, ctx, p.Name)
		if len(d) != numel(p.Shape) {
			t.Fatalf("%s has %d values, want shape %v", p.Name, len(d), p.Shape)
		}
		switch {
		case p.Name == "score.weight" || strings.HasSuffix(p.Name, ".bias"):
			for _, v := range d {
				if v != 0 {
					t.Fatalf("%s not zero-initialised", p.Name)
				}
			}
		case strings.HasSuffix(p.Name, "layernorm.weight") || strings.HasSuffix(p.Name, "layer_norm.weight"):
			for _, v := range d {
				if v != 1 {
					t.Fatalf("%s not one-initialised", p.Name)
				}
			}
		case p.Name == "gpt_neox.embed_in.weight":
			var s, s2 float64
			for _, v := range d {
				s += float64(v)
				s2 += float64(v) * float64(v)
			}
			std := math.Sqrt(s2/float64(len(d)) - (s/float64(len(d)))*(s/float64(len(d))))
			if std < 0.019 || std > 0.021 {
				t.Errorf("embed_in std %.4f, want 0.02", std)
			}
		}
	}
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// TestEmbeddingHookGradient: the gradient with respect to the hooked
// embedding output, summed over the positions holding token v, is the
// gradient of embed_in's row v — checked against the PyTorch reference.
func TestEmbeddingHookGradient(t *testing.T) {
	fx := loadFixture(t, "sequential")
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	backend := accel.MustCPU()
	var denseSeen []string
	outs, err := context.ExecOnceN(backend, ctx, func(ctx *context.Context, tokens, lengths, soft *Node) []*Node {
		var emb, scoreY *Node
		opts := ForwardOptions{
			EmbeddingHook: func(_ *context.Context, e *Node) *Node { emb = e; return e },
			DenseHook: func(name string, x, y *Node) {
				denseSeen = append(denseSeen, name)
				if name == "score" {
					scoreY = y
				}
			},
		}
		logits := Logits(ctx, fx.cfg, tokens, lengths, opts)
		g := Gradient(softXent(logits, soft), emb)[0]
		return []*Node{g, Sub(logits, scoreY)}
	}, tensors.FromFlatDataAndDimensions(fx.tokFlat, fx.batch, fx.seq), tensors.FromFlatDataAndDimensions(fx.lensFlat, fx.batch),
		tensors.FromFlatDataAndDimensions(fx.softFlat, fx.batch, fx.labels))
	if err != nil {
		t.Fatal(err)
	}
	if want := 4*fx.cfg.NumLayers + 1; len(denseSeen) != want || denseSeen[0] != "gpt_neox.layers.0.attention.query_key_value" {
		t.Errorf("DenseHook saw %d layers %v, want %d", len(denseSeen), denseSeen, want)
	}
	for _, v := range tensors.MustCopyFlatData[float32](outs[1]) {
		if v != 0 {
			t.Error("score DenseHook output differs from the logits")
		}
	}
	gEmb := tensors.MustCopyFlatData[float32](outs[0])
	h := fx.cfg.HiddenSize
	table := make([]float32, fx.cfg.VocabSize*h)
	for i, tok := range fx.tokFlat {
		for j := 0; j < h; j++ {
			table[int(tok)*h+j] += gEmb[i*h+j]
		}
	}
	if e := maxRelErr(table, fx.grads["gpt_neox.embed_in.weight"]); e > 1e-4 {
		t.Errorf("embedding-output gradient scattered to the table differs from the reference by %.3g", e)
	}
}

// TestBFloat16Forward: bf16 compute stays close to the f32 reference (bf16 has
// an 8-bit mantissa, so the tolerance is loose), and its gradients flow.
func TestBFloat16Forward(t *testing.T) {
	fx := loadFixture(t, "parallel")
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	logits, loss, grads := runForwardBackward(t, ctx, fx.cfg, fx, ForwardOptions{DType: dtypes.BFloat16}, []string{"score.weight"})
	var scale float64
	for _, v := range fx.logits {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	t.Logf("bf16: logits max abs err %.3g (logit scale %.3g), loss %v vs %v", maxAbsErr(logits, fx.logits), scale, loss, fx.loss)
	if e := maxAbsErr(logits, fx.logits); e > 0.05*scale+0.05 {
		t.Errorf("bf16 logits differ by %.3g (scale %.3g)\n got  %v\n want %v", e, scale, logits, fx.logits)
	}
	if math.Abs(float64(loss-fx.loss)) > 0.05 {
		t.Errorf("bf16 loss %v, want ≈ %v", loss, fx.loss)
	}
	if e := maxRelErr(grads["score.weight"], fx.grads["score.weight"]); e > 0.1 {
		t.Errorf("bf16 score gradient rel error %.3g", e)
	}
}

// TestExportLoadsInPyTorchReference exports a model whose weights differ from
// any fixture (a "fine-tuned" score head and LayerNorm) and has the
// independent PyTorch reference load the folder (its own safetensors reader
// and config parser, checking the HF names, shapes and config keys) and
// compute logits, which must match ours. Needs /usr/bin/python3 with torch
// (Debian python3-torch); skipped without it unless CI is set.
func TestExportLoadsInPyTorchReference(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s cannot import torch: %v", py, err)
		}
		t.Skipf("%s with torch not available: %v", py, err)
	}
	fx := loadFixture(t, "sequential")
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"score.weight", "gpt_neox.final_layer_norm.bias"} {
		vctx, n := VariableFor(ctx, name)
		v := vctx.GetVariableByScopeAndName(vctx.Scope(), n)
		d := tensors.MustCopyFlatData[float32](v.MustValue())
		for i := range d {
			d[i] = d[i]*1.5 + float32(i%7)*0.01
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(d, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fx.cfg
	cfg.ID2Label = map[int]string{0: "negative", 1: "positive"}
	dir := filepath.Join(t.TempDir(), "export")
	if err := Export(ctx, cfg, dir); err != nil {
		t.Fatal(err)
	}
	logits, _, _ := runForwardBackward(t, ctx, cfg, fx, ForwardOptions{}, nil)
	in := filepath.Join(t.TempDir(), "in.jsonl")
	var sb strings.Builder
	for b := 0; b < fx.batch; b++ {
		ids := fx.tokFlat[b*fx.seq : b*fx.seq+int(fx.lensFlat[b])]
		js, _ := json.Marshal(map[string]any{"input_ids": ids})
		sb.Write(js)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(in, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("..", "..", "scripts", "reference", "neox_ref.py"), "check-export", dir, in).CombinedOutput()
	if err != nil {
		t.Fatalf("reference could not load the export: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != fx.batch {
		t.Fatalf("reference printed %d lines:\n%s", len(lines), out)
	}
	for b, line := range lines {
		var r struct{ Logits []float64 }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		for c, v := range r.Logits {
			if d := math.Abs(v - float64(logits[b*cfg.NumLabels+c])); d > 1e-5 {
				t.Errorf("row %d class %d: reference %v, ours %v", b, c, v, logits[b*cfg.NumLabels+c])
			}
		}
	}
}

// TestLoadWeightsIntoBuiltModel: loading into a context whose model was
// already built (randomly initialised variables) replaces their values.
func TestLoadWeightsIntoBuiltModel(t *testing.T) {
	fx := loadFixture(t, "parallel")
	ctx := context.New()
	before, _, _ := runForwardBackward(t, ctx, fx.cfg, fx, ForwardOptions{}, nil)
	if e := maxAbsErr(before, fx.logits); e < 1e-3 {
		t.Fatalf("random init already matches the reference (%.3g)", e)
	}
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	after, _, _ := runForwardBackward(t, ctx, fx.cfg, fx, ForwardOptions{}, nil)
	if e := maxAbsErr(after, fx.logits); e > 1e-5 {
		t.Errorf("after loading, logits differ from the reference by %.3g", e)
	}
	other := fx.cfg
	other.IntermediateSize++
	if err := LoadWeights(ctx, other, fx.dir); err == nil {
		t.Error("loading with a mismatched config: no error")
	}
}

// TestLoadBaseModelCheckpoint: a base GPTNeoXModel checkpoint (names without
// the "gpt_neox." prefix, no score head) loads like HF loads it into the
// classifier, with a zero score head.
func TestLoadBaseModelCheckpoint(t *testing.T) {
	fx := loadFixture(t, "noscore")
	src, err := safetensors.Open(filepath.Join(fx.dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var es []safetensors.Entry
	for _, ti := range src.Tensors() {
		b := make([]byte, ti.NumBytes())
		if err := src.ReadInto(ti.Name, b); err != nil {
			t.Fatal(err)
		}
		es = append(es, safetensors.Entry{Name: strings.TrimPrefix(ti.Name, "gpt_neox."), DType: ti.DType, Shape: ti.Shape, Data: b})
	}
	src.Close()
	dir := t.TempDir()
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), es, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, dir); err != nil {
		t.Fatal(err)
	}
	ref := context.New()
	if err := LoadWeights(ref, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range fx.cfg.Params() {
		a, b := variableData(t, ctx, p.Name), variableData(t, ref, p.Name)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s differs from the prefixed checkpoint", p.Name)
			}
		}
	}
}

// TestLogitsTwiceSharesVariables: a second forward in the same graph (as an
// adversarial regularizer does, with a perturbed embedding) reuses the
// variables; a zero perturbation gives the same logits, a non-zero one does not.
func TestLogitsTwiceSharesVariables(t *testing.T) {
	fx := loadFixture(t, "parallel")
	ctx := context.New()
	if err := LoadWeights(ctx, fx.cfg, fx.dir); err != nil {
		t.Fatal(err)
	}
	nVars := ctx.NumVariables()
	outs, err := context.ExecOnceN(accel.MustCPU(), ctx, func(ctx *context.Context, tokens, lengths *Node) []*Node {
		a := Logits(ctx, fx.cfg, tokens, lengths, ForwardOptions{})
		b := Logits(ctx, fx.cfg, tokens, lengths, ForwardOptions{EmbeddingHook: func(_ *context.Context, e *Node) *Node {
			return Add(e, ZerosLike(e))
		}})
		c := Logits(ctx, fx.cfg, tokens, lengths, ForwardOptions{EmbeddingHook: func(_ *context.Context, e *Node) *Node {
			// Not a constant shift: LayerNorm makes the model invariant to adding c·1.
			return Add(e, MulScalar(Iota(e.Graph(), e.Shape(), 2), 0.01))
		}})
		return []*Node{Sub(a, b), Sub(a, c)}
	}, tensors.FromFlatDataAndDimensions(fx.tokFlat, fx.batch, fx.seq), tensors.FromFlatDataAndDimensions(fx.lensFlat, fx.batch))
	if err != nil {
		t.Fatal(err)
	}
	if ctx.NumVariables() != nVars {
		t.Errorf("variables grew from %d to %d", nVars, ctx.NumVariables())
	}
	zero := make([]float32, fx.batch*fx.labels)
	if e := maxAbsErr(tensors.MustCopyFlatData[float32](outs[0]), zero); e != 0 {
		t.Errorf("identity hook changed the logits by %g", e)
	}
	if e := maxAbsErr(tensors.MustCopyFlatData[float32](outs[1]), zero); e < 1e-4 {
		t.Errorf("perturbed embedding changed the logits by only %g", e)
	}
}
