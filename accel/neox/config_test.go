package neox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPresetParameterCounts checks the presets against the parameter counts
// of EleutherAI's Pythia checkpoints. HF's published totals (the "params"
// column of the Pythia README / model cards, which include embed_in and the
// untied embed_out) are reproduced as total + vocab·hidden - score.
func TestPresetParameterCounts(t *testing.T) {
	cases := []struct {
		name   string
		withLM int64 // total parameters of GPTNeoXForCausalLM (Pythia README, exact counts)
		nonEmb int64 // non-embedding parameters of the causal LM (Pythia paper, table 1)
	}{
		{"pythia-70m", 70426624, 18915328},
		{"pythia-160m", 162322944, 85056000},
		{"pythia-410m", 405334016, 302311424},
		{"pythia-1b", 1011781632, 805736448},
		{"pythia-1.4b", 1414647808, 1208602624},
		{"pythia-2.8b", 2775208960, 2517652480},
		{"pythia-6.9b", 6857302016, 6444163072},
		{"pythia-12b", 11846072320, 11327027200},
	}
	for _, c := range cases {
		cfg, err := Preset(c.name)
		if err != nil {
			t.Fatal(err)
		}
		total, nonEmb := cfg.NumParameters()
		h, v, score := int64(cfg.HiddenSize), int64(cfg.VocabSize), int64(cfg.HiddenSize*cfg.NumLabels)
		if got := total - score + v*h; got != c.withLM {
			t.Errorf("%s: causal-LM total %d, want %d", c.name, got, c.withLM)
		}
		if got := nonEmb - score; got != c.nonEmb {
			t.Errorf("%s: non-embedding %d, want %d", c.name, got, c.nonEmb)
		}
	}
	tiny, _ := Preset("tiny")
	if total, _ := tiny.NumParameters(); total >= 1_000_000 {
		t.Errorf("tiny has %d parameters, want < 1M", total)
	}
	small, _ := Preset("small")
	if total, _ := small.NumParameters(); total < 2_000_000 || total > 9_000_000 {
		t.Errorf("small has %d parameters, want a few million", total)
	}
	for _, n := range PresetNames() {
		cfg, _ := Preset(n)
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", n, err)
		}
		if cfg.VocabSize < 50277 {
			t.Errorf("preset %s: vocab %d smaller than the GPT-NeoX tokenizer", n, cfg.VocabSize)
		}
	}
	if _, err := Preset("EleutherAI/pythia-410m-deduped"); err != nil {
		t.Error(err)
	}
	if _, err := Preset("gpt2"); err == nil || !strings.Contains(err.Error(), "pythia-14m") {
		t.Errorf("unknown preset error %v", err)
	}
}

// TestTrainingFLOPs checks 6N + 12·L·H·S on pythia-70m by hand.
func TestTrainingFLOPs(t *testing.T) {
	cfg, _ := Preset("pythia-70m")
	_, n := cfg.NumParameters()
	want := 6*float64(n) + 12*6*512*128.0
	if got := cfg.TrainingFLOPsPerToken(128); got != want {
		t.Errorf("FLOPs %v, want %v", got, want)
	}
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name  string
		json  string
		check func(c Config) bool
		err   string
	}{
		{"classic keys", `{"model_type":"gpt_neox","vocab_size":100,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64,"rotary_pct":0.5,"rotary_emb_base":500,"use_parallel_residual":false,"layer_norm_eps":1e-6,"num_labels":3,"extra_key":[1,2]}`,
			func(c Config) bool {
				return c.RotaryPct == 0.5 && c.RotaryBase == 500 && !c.ParallelResidual && c.LayerNormEps == 1e-6 && c.NumLabels == 3 && c.AttentionBias
			}, ""},
		{"new keys", `{"vocab_size":100,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64,"partial_rotary_factor":0.25,"rope_theta":20000,"attention_bias":false}`,
			func(c Config) bool { return c.RotaryPct == 0.25 && c.RotaryBase == 20000 && !c.AttentionBias }, ""},
		{"rope_parameters", `{"vocab_size":100,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64,"rope_parameters":{"rope_type":"default","rope_theta":1234,"partial_rotary_factor":0.5}}`,
			func(c Config) bool { return c.RotaryBase == 1234 && c.RotaryPct == 0.5 }, ""},
		{"id2label", `{"vocab_size":100,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":64,"id2label":{"0":"neg","1":"pos","2":"mixed"}}`,
			func(c Config) bool { return c.NumLabels == 3 && c.Labels()[2] == "mixed" }, ""},
		{"rope linear", `{"vocab_size":100,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64,"rope_scaling":{"type":"linear","factor":2}}`, nil, `rope type "linear"`},
		{"gelu_new", `{"vocab_size":100,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64,"hidden_act":"gelu_new"}`, nil, `hidden_act "gelu_new"`},
		{"llama", `{"model_type":"llama"}`, nil, `model_type "llama"`},
		{"bad heads", `{"vocab_size":100,"hidden_size":30,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":64}`, nil, "not a multiple"},
		{"odd rotary", `{"vocab_size":100,"hidden_size":24,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":64,"rotary_pct":0.25}`, nil, "must be even"},
		{"syntax", "{\n\"vocab_size\": 100,\n\"hidden_size\": ,\n}", nil, "line 3"},
		{"wrong type", `{"vocab_size":"big"}`, nil, "vocab_size"},
		{"wrong type named plainly", "{\n\"hidden_size\": 32,\n\"vocab_size\": \"50304\"}", nil, "line 3: field vocab_size: want int, got string"},
		{"float for an int", `{"vocab_size": 1e3}`, nil, "line 1: field vocab_size: want int, got number 1e3"},
		{"bad id2label", `{"vocab_size":100,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":64,"id2label":{"x":"a"}}`, nil, `key "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(c.json))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want it to mention %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("parsed %+v", cfg)
			}
		})
	}
}

// TestMarshalHFRoundTrip: the exported config.json parses back to the same config
// and carries the keys HF needs.
func TestMarshalHFRoundTrip(t *testing.T) {
	cfg, _ := Preset("pythia-160m")
	cfg.NumLabels = 3
	cfg.ID2Label = map[int]string{0: "a", 2: "c"}
	b, err := cfg.MarshalHF()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"GPTNeoXForSequenceClassification"`, `"model_type": "gpt_neox"`, `"label2id"`, `"LABEL_1": 1`, `"pad_token_id": 1`, `"num_labels": 3`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("config.json lacks %s", k)
		}
	}
	back, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Labels()[1] != "LABEL_1" || back.Labels()[2] != "c" || back.NumLabels != 3 || back.HiddenSize != 768 ||
		back.NumLayers != 12 || back.RotaryPct != 0.25 || !back.ParallelResidual || back.VocabSize != 50304 {
		t.Errorf("round trip: %+v", back)
	}
	cfg.ID2Label = map[int]string{0: "x", 1: "x"}
	if _, err := cfg.MarshalHF(); err == nil {
		t.Error("duplicate label names: no error")
	}
}

func TestResolve(t *testing.T) {
	cfg, w, err := Resolve("tiny", 5)
	if err != nil || w != "" || cfg.NumLabels != 5 || cfg.HiddenSize != 16 {
		t.Fatalf("Resolve(tiny) = %+v %q %v", cfg, w, err)
	}
	dir := filepath.Join("testdata", "parity", "parallel")
	cfg, w, err = Resolve(filepath.Join(dir, "config.json"), 0)
	if err != nil || w != dir || cfg.NumLabels != 3 || cfg.Labels()[2] != "pos" {
		t.Fatalf("Resolve(config.json) = %+v %q %v", cfg, w, err)
	}
	cfg, _, _ = Resolve(dir, 2)
	if cfg.NumLabels != 2 || cfg.ID2Label != nil {
		t.Errorf("num_labels override kept id2label %v", cfg.ID2Label)
	}
	if _, _, err := Resolve(filepath.Join(t.TempDir(), "nope"), 0); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing folder error %v", err)
	}
	if _, _, err := Resolve("nonexistent-preset", 0); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("unknown spec error %v", err)
	}
	big := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(big, make([]byte, maxConfigBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized config error %v", err)
	}
}

// FuzzParseConfig: ParseConfig never panics, and what it accepts validates.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "parity", "parallel", "config.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"rope_scaling":{"rope_type":"default"},"id2label":{"0":"a"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig(b)
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Fatalf("accepted an invalid config: %v", err)
			}
		}
	})
}
