// Package neox is the GPT-NeoX (Pythia) sequence classifier: the HF
// configuration, built-in presets, the forward graph (the same function as HF
// transformers' GPTNeoXForSequenceClassification, pooled at explicit lengths),
// and import/export of HF safetensors checkpoints.
//
// Variables live in the context under the HF module names: the tensor
// "gpt_neox.layers.0.attention.query_key_value.weight" is the variable
// "weight" in scope <base>/gpt_neox/layers/0/attention/query_key_value, where
// <base> is the scope of the context given to Logits, LoadWeights and Export.
// Linear weights keep HF's [out, in] layout, so import and export copy bytes.
// Master weights are always float32.
package neox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// PythiaVocabSize is the (padded) embedding size of the Pythia models up to
// 2.8b; it covers the GPT-NeoX-20B tokenizer's 50,277 ids. The small
// from-scratch presets use it too.
const PythiaVocabSize = 50304

// Config is a GPT-NeoX classifier's shape and hyperparameters (HF config.json).
type Config struct {
	VocabSize        int     // vocab_size: rows of embed_in
	HiddenSize       int     // hidden_size
	NumLayers        int     // num_hidden_layers
	NumHeads         int     // num_attention_heads
	IntermediateSize int     // intermediate_size (MLP width)
	RotaryPct        float64 // rotary_pct / partial_rotary_factor: fraction of each head's dims that are rotated
	RotaryBase       float64 // rotary_emb_base / rope_theta
	MaxPositions     int     // max_position_embeddings
	LayerNormEps     float64 // layer_norm_eps
	ParallelResidual bool    // use_parallel_residual
	HiddenAct        string  // hidden_act; only "gelu" (exact, erf) is supported
	AttentionBias    bool    // attention_bias: biases of query_key_value and dense
	NumLabels        int     // num_labels: classes of the score head
	ID2Label         map[int]string
	// InitializerRange is the standard deviation of the random normal
	// initialisation of linear and embedding weights (HF initializer_range).
	InitializerRange float64
	// BOSTokenID, EOSTokenID and PadTokenID are written to an exported
	// config.json. HF pools at the last token that is not PadTokenID; w2st pools
	// at explicit lengths, so the pad id only matters to HF users.
	BOSTokenID, EOSTokenID, PadTokenID int
}

// HeadSize is HiddenSize / NumHeads.
func (c Config) HeadSize() int { return c.HiddenSize / c.NumHeads }

// RotaryDims is the number of rotated dims per head, int(head_size · rotary_pct) as HF computes it.
func (c Config) RotaryDims() int { return int(float64(c.HeadSize()) * c.RotaryPct) }

// Validate reports the first inconsistency of the config.
func (c Config) Validate() error {
	var errs []string
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Sprintf("%s must be > 0 (got %d)", name, v))
		}
	}
	pos("vocab_size", c.VocabSize)
	pos("hidden_size", c.HiddenSize)
	pos("num_hidden_layers", c.NumLayers)
	pos("num_attention_heads", c.NumHeads)
	pos("intermediate_size", c.IntermediateSize)
	pos("max_position_embeddings", c.MaxPositions)
	pos("num_labels", c.NumLabels)
	if c.NumHeads > 0 && c.HiddenSize%c.NumHeads != 0 {
		errs = append(errs, fmt.Sprintf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumHeads))
	}
	if !(c.RotaryPct >= 0 && c.RotaryPct <= 1) {
		errs = append(errs, fmt.Sprintf("rotary_pct must be in [0,1] (got %g)", c.RotaryPct))
	} else if c.NumHeads > 0 && c.RotaryDims()%2 != 0 {
		errs = append(errs, fmt.Sprintf("rotary dims int(head_size %d × rotary_pct %g) = %d must be even", c.HeadSize(), c.RotaryPct, c.RotaryDims()))
	}
	if !(c.RotaryBase > 0) || math.IsInf(c.RotaryBase, 0) {
		errs = append(errs, fmt.Sprintf("rotary_emb_base must be > 0 (got %g)", c.RotaryBase))
	}
	if !(c.LayerNormEps > 0) {
		errs = append(errs, fmt.Sprintf("layer_norm_eps must be > 0 (got %g)", c.LayerNormEps))
	}
	if c.HiddenAct != "gelu" {
		errs = append(errs, fmt.Sprintf("hidden_act %q is not supported (only \"gelu\", the exact erf GELU)", c.HiddenAct))
	}
	for id := range c.ID2Label {
		if id < 0 || id >= c.NumLabels {
			errs = append(errs, fmt.Sprintf("id2label has id %d outside [0,%d)", id, c.NumLabels))
		}
	}
	if len(errs) > 0 {
		return errors.New("invalid GPT-NeoX config: " + strings.Join(errs, "; "))
	}
	return nil
}

// Labels returns the label names for ids 0..NumLabels-1 (HF's default
// "LABEL_i" where id2label has none).
func (c Config) Labels() []string {
	out := make([]string, c.NumLabels)
	for i := range out {
		if s, ok := c.ID2Label[i]; ok {
			out[i] = s
		} else {
			out[i] = "LABEL_" + strconv.Itoa(i)
		}
	}
	return out
}

// pythia returns a Pythia-shaped config (the common hyperparameters of the suite).
func pythia(vocab, hidden, layers, heads int) Config {
	return Config{
		VocabSize: vocab, HiddenSize: hidden, NumLayers: layers, NumHeads: heads, IntermediateSize: 4 * hidden,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositions: 2048, LayerNormEps: 1e-5, ParallelResidual: true,
		HiddenAct: "gelu", AttentionBias: true, NumLabels: 2, InitializerRange: 0.02,
		BOSTokenID: 0, EOSTokenID: 0, PadTokenID: 1,
	}
}

// presets are the built-in shapes. The pythia-* entries have the exact shapes
// of EleutherAI's checkpoints; tiny and small are from-scratch CPU models.
var presets = map[string]func() Config{
	"tiny": func() Config {
		c := pythia(PythiaVocabSize, 16, 2, 2)
		c.MaxPositions = 512
		return c
	},
	"small": func() Config {
		c := pythia(PythiaVocabSize, 64, 4, 4)
		c.MaxPositions = 1024
		return c
	},
	"pythia-14m":  func() Config { return pythia(50304, 128, 6, 4) },
	"pythia-31m":  func() Config { return pythia(50304, 256, 6, 8) },
	"pythia-70m":  func() Config { return pythia(50304, 512, 6, 8) },
	"pythia-160m": func() Config { return pythia(50304, 768, 12, 12) },
	"pythia-410m": func() Config { return pythia(50304, 1024, 24, 16) },
	"pythia-1b":   func() Config { return pythia(50304, 2048, 16, 8) },
	"pythia-1.4b": func() Config { return pythia(50304, 2048, 24, 16) },
	"pythia-2.8b": func() Config { return pythia(50304, 2560, 32, 32) },
	"pythia-6.9b": func() Config { return pythia(50432, 4096, 32, 32) },
	"pythia-12b":  func() Config { return pythia(50688, 5120, 36, 40) },
}

// PresetNames lists the built-in presets, smallest first.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ti, _ := presets[names[i]]().NumParameters()
		tj, _ := presets[names[j]]().NumParameters()
		return ti < tj
	})
	return names
}

// Preset returns a built-in config ("tiny", "small", "pythia-14m" … "pythia-12b")
// with 2 labels. A "EleutherAI/" prefix and a "-deduped" suffix are accepted.
func Preset(name string) (Config, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	key = strings.TrimPrefix(key, "eleutherai/")
	key = strings.TrimSuffix(key, "-deduped")
	f, ok := presets[key]
	if !ok {
		return Config{}, fmt.Errorf("unknown model preset %q (known: %s)", name, strings.Join(PresetNames(), ", "))
	}
	return f(), nil
}

// Resolve turns a model spec into a config and the path of its weights: a
// preset name gives the preset and "" (random initialisation); a folder with a
// config.json (or the config.json file itself) gives that config and the
// folder. numLabels > 0 overrides the config's num_labels (id2label is kept
// only when it still fits).
func Resolve(spec string, numLabels int) (Config, string, error) {
	var (
		cfg     Config
		weights string
		err     error
	)
	if st, statErr := os.Stat(spec); statErr == nil {
		cfg, err = LoadConfig(spec)
		if err != nil {
			return Config{}, "", err
		}
		weights = spec
		if !st.IsDir() {
			weights = filepath.Dir(spec)
		}
	} else {
		cfg, err = Preset(spec)
		if err != nil {
			if strings.ContainsRune(spec, os.PathSeparator) {
				return Config{}, "", fmt.Errorf("model %q: %w", spec, statErr)
			}
			return Config{}, "", fmt.Errorf("model %q is neither an existing folder nor a preset: %w", spec, err)
		}
	}
	if numLabels > 0 && numLabels != cfg.NumLabels {
		cfg.NumLabels = numLabels
		for id := range cfg.ID2Label {
			if id >= numLabels {
				cfg.ID2Label = nil
				break
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, "", fmt.Errorf("model %q: %w", spec, err)
	}
	return cfg, weights, nil
}

// maxConfigBytes bounds the size of a config.json we parse.
const maxConfigBytes = 1 << 20

// hfConfig is the subset of HF config.json keys that w2st reads.
type hfConfig struct {
	ModelType             *string           `json:"model_type"`
	Architectures         []string          `json:"architectures"`
	VocabSize             *int              `json:"vocab_size"`
	HiddenSize            *int              `json:"hidden_size"`
	NumHiddenLayers       *int              `json:"num_hidden_layers"`
	NumAttentionHeads     *int              `json:"num_attention_heads"`
	IntermediateSize      *int              `json:"intermediate_size"`
	RotaryPct             *float64          `json:"rotary_pct"`
	PartialRotaryFactor   *float64          `json:"partial_rotary_factor"`
	RotaryEmbBase         *float64          `json:"rotary_emb_base"`
	RopeTheta             *float64          `json:"rope_theta"`
	RopeScaling           *json.RawMessage  `json:"rope_scaling"`
	RopeParameters        *json.RawMessage  `json:"rope_parameters"`
	MaxPositionEmbeddings *int              `json:"max_position_embeddings"`
	LayerNormEps          *float64          `json:"layer_norm_eps"`
	UseParallelResidual   *bool             `json:"use_parallel_residual"`
	HiddenAct             *string           `json:"hidden_act"`
	AttentionBias         *bool             `json:"attention_bias"`
	NumLabels             *int              `json:"num_labels"`
	ID2Label              map[string]string `json:"id2label"`
	InitializerRange      *float64          `json:"initializer_range"`
	BOSTokenID            *int              `json:"bos_token_id"`
	EOSTokenID            *int              `json:"eos_token_id"`
	PadTokenID            *int              `json:"pad_token_id"`
}

// ropeParams is the content of rope_scaling / rope_parameters.
type ropeParams struct {
	RopeType            *string  `json:"rope_type"`
	Type                *string  `json:"type"`
	RopeTheta           *float64 `json:"rope_theta"`
	PartialRotaryFactor *float64 `json:"partial_rotary_factor"`
}

// LoadConfig reads an HF GPT-NeoX config.json (the file, or a folder holding
// it). Keys w2st does not use are ignored; unsupported values of known keys
// (another model_type, hidden_act, or rope type) are errors. Missing keys take
// HF's GPTNeoXConfig defaults.
func LoadConfig(path string) (Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("model config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Config{}, fmt.Errorf("model config %s: %w", path, err)
	}
	if st.Size() > maxConfigBytes {
		return Config{}, fmt.Errorf("model config %s: %d bytes is larger than the %d-byte limit", path, st.Size(), maxConfigBytes)
	}
	raw := make([]byte, st.Size())
	if _, err := f.ReadAt(raw, 0); err != nil && st.Size() > 0 {
		return Config{}, fmt.Errorf("model config %s: %w", path, err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return Config{}, fmt.Errorf("model config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses the bytes of an HF GPT-NeoX config.json; see LoadConfig.
func ParseConfig(raw []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(raw, &h); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(raw[:min(int(se.Offset), len(raw))]), "\n")
			return Config{}, fmt.Errorf("line %d: %w", line, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			line := 1 + strings.Count(string(raw[:min(int(te.Offset), len(raw))]), "\n")
			return Config{}, fmt.Errorf("line %d: field %s: want %s, got %s", line, te.Field, te.Type, te.Value)
		}
		return Config{}, err
	}
	if h.ModelType != nil && *h.ModelType != "gpt_neox" {
		return Config{}, fmt.Errorf("model_type %q is not supported (want \"gpt_neox\")", *h.ModelType)
	}
	// HF GPTNeoXConfig defaults.
	c := Config{
		VocabSize: 50432, HiddenSize: 6144, NumLayers: 44, NumHeads: 64, IntermediateSize: 24576,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositions: 2048, LayerNormEps: 1e-5, ParallelResidual: true,
		HiddenAct: "gelu", AttentionBias: true, NumLabels: 2, InitializerRange: 0.02,
		BOSTokenID: 0, EOSTokenID: 2, PadTokenID: 1,
	}
	setI := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setF := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	setI(&c.VocabSize, h.VocabSize)
	setI(&c.HiddenSize, h.HiddenSize)
	setI(&c.NumLayers, h.NumHiddenLayers)
	setI(&c.NumHeads, h.NumAttentionHeads)
	setI(&c.IntermediateSize, h.IntermediateSize)
	setF(&c.RotaryPct, h.RotaryPct)
	setF(&c.RotaryPct, h.PartialRotaryFactor)
	setF(&c.RotaryBase, h.RotaryEmbBase)
	setF(&c.RotaryBase, h.RopeTheta)
	setI(&c.MaxPositions, h.MaxPositionEmbeddings)
	setF(&c.LayerNormEps, h.LayerNormEps)
	setF(&c.InitializerRange, h.InitializerRange)
	setI(&c.BOSTokenID, h.BOSTokenID)
	setI(&c.EOSTokenID, h.EOSTokenID)
	setI(&c.PadTokenID, h.PadTokenID)
	if h.UseParallelResidual != nil {
		c.ParallelResidual = *h.UseParallelResidual
	}
	if h.HiddenAct != nil {
		c.HiddenAct = *h.HiddenAct
	}
	if h.AttentionBias != nil {
		c.AttentionBias = *h.AttentionBias
	}
	for _, rp := range []struct {
		key string
		raw *json.RawMessage
	}{{"rope_scaling", h.RopeScaling}, {"rope_parameters", h.RopeParameters}} {
		if rp.raw == nil || string(*rp.raw) == "null" {
			continue
		}
		var p ropeParams
		if err := json.Unmarshal(*rp.raw, &p); err != nil {
			return Config{}, fmt.Errorf("%s: %w", rp.key, err)
		}
		typ := "default"
		if p.RopeType != nil {
			typ = *p.RopeType
		} else if p.Type != nil {
			typ = *p.Type
		}
		if typ != "default" {
			return Config{}, fmt.Errorf("%s: rope type %q is not supported (only \"default\")", rp.key, typ)
		}
		setF(&c.RotaryBase, p.RopeTheta)
		setF(&c.RotaryPct, p.PartialRotaryFactor)
	}
	if len(h.ID2Label) > 0 {
		c.ID2Label = make(map[int]string, len(h.ID2Label))
		for k, v := range h.ID2Label {
			id, err := strconv.Atoi(k)
			if err != nil {
				return Config{}, fmt.Errorf("id2label: key %q is not an integer", k)
			}
			c.ID2Label[id] = v
		}
		if h.NumLabels == nil {
			c.NumLabels = len(h.ID2Label)
		}
	}
	setI(&c.NumLabels, h.NumLabels)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// hfConfigOut is the config.json Export writes (the keys HF's GPTNeoXConfig reads).
type hfConfigOut struct {
	Architectures         []string          `json:"architectures"`
	ModelType             string            `json:"model_type"`
	VocabSize             int               `json:"vocab_size"`
	HiddenSize            int               `json:"hidden_size"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	IntermediateSize      int               `json:"intermediate_size"`
	HiddenAct             string            `json:"hidden_act"`
	RotaryPct             float64           `json:"rotary_pct"`
	RotaryEmbBase         float64           `json:"rotary_emb_base"`
	PartialRotaryFactor   float64           `json:"partial_rotary_factor"`
	RopeTheta             float64           `json:"rope_theta"`
	AttentionDropout      float64           `json:"attention_dropout"`
	HiddenDropout         float64           `json:"hidden_dropout"`
	ClassifierDropout     float64           `json:"classifier_dropout"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	InitializerRange      float64           `json:"initializer_range"`
	LayerNormEps          float64           `json:"layer_norm_eps"`
	UseCache              bool              `json:"use_cache"`
	BOSTokenID            int               `json:"bos_token_id"`
	EOSTokenID            int               `json:"eos_token_id"`
	PadTokenID            int               `json:"pad_token_id"`
	TieWordEmbeddings     bool              `json:"tie_word_embeddings"`
	UseParallelResidual   bool              `json:"use_parallel_residual"`
	AttentionBias         bool              `json:"attention_bias"`
	NumLabels             int               `json:"num_labels"`
	ID2Label              map[string]string `json:"id2label"`
	Label2ID              map[string]int    `json:"label2id"`
	ProblemType           string            `json:"problem_type"`
	TorchDType            string            `json:"torch_dtype"`
}

// MarshalHF returns the HF config.json for c (indented, trailing newline).
func (c Config) MarshalHF() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := hfConfigOut{
		Architectures: []string{"GPTNeoXForSequenceClassification"}, ModelType: "gpt_neox",
		VocabSize: c.VocabSize, HiddenSize: c.HiddenSize, NumHiddenLayers: c.NumLayers,
		NumAttentionHeads: c.NumHeads, IntermediateSize: c.IntermediateSize, HiddenAct: c.HiddenAct,
		RotaryPct: c.RotaryPct, RotaryEmbBase: c.RotaryBase, PartialRotaryFactor: c.RotaryPct, RopeTheta: c.RotaryBase,
		MaxPositionEmbeddings: c.MaxPositions, InitializerRange: c.InitializerRange, LayerNormEps: c.LayerNormEps,
		UseCache: true, BOSTokenID: c.BOSTokenID, EOSTokenID: c.EOSTokenID, PadTokenID: c.PadTokenID,
		UseParallelResidual: c.ParallelResidual, AttentionBias: c.AttentionBias, NumLabels: c.NumLabels,
		ID2Label: map[string]string{}, Label2ID: map[string]int{}, ProblemType: "single_label_classification",
		TorchDType: "float32",
	}
	for i, name := range c.Labels() {
		out.ID2Label[strconv.Itoa(i)] = name
		out.Label2ID[name] = i
	}
	if len(out.Label2ID) != c.NumLabels {
		return nil, fmt.Errorf("id2label names are not unique: %v", c.Labels())
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// NumParameters counts the classifier's parameters: total (embed_in, the
// layers, final_layer_norm and score) and nonEmbedding (total minus embed_in).
// embed_out (the LM head) is not part of the classifier.
func (c Config) NumParameters() (total, nonEmbedding int64) {
	h, i, l := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.NumLayers)
	var perLayer int64
	perLayer += 4 * h       // input_layernorm, post_attention_layernorm
	perLayer += 3*h*h + h*h // query_key_value, dense
	perLayer += 2 * h * i   // dense_h_to_4h, dense_4h_to_h
	perLayer += i + h       // MLP biases
	if c.AttentionBias {
		perLayer += 3*h + h
	}
	nonEmbedding = l*perLayer + 2*h + h*int64(c.NumLabels)
	total = nonEmbedding + int64(c.VocabSize)*h
	return total, nonEmbedding
}

// TrainingFLOPsPerToken estimates the FLOPs of one forward+backward pass per
// token at sequence length seqLen: 6·N + 12·L·H·S (PaLM, Chowdhery et al.
// 2022, appendix B), where N is the non-embedding parameter count (a matmul
// weight costs 2 FLOPs per token forward, 4 backward), L the layers, H the
// hidden size and S the sequence length (QKᵀ and attention×V, 2·2·S·H per
// token per layer forward, ×3 for training). Element-wise ops are not counted.
func (c Config) TrainingFLOPsPerToken(seqLen int) float64 {
	_, n := c.NumParameters()
	return 6*float64(n) + 12*float64(c.NumLayers)*float64(c.HiddenSize)*float64(seqLen)
}
