package neox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel/safetensors"
)

// Param is one tensor of the classifier, by HF name.
type Param struct {
	Name  string
	Shape []int
}

// Params lists the classifier's tensors in HF order and naming.
func (c Config) Params() []Param {
	h, i := c.HiddenSize, c.IntermediateSize
	ps := []Param{{"gpt_neox.embed_in.weight", []int{c.VocabSize, h}}}
	for l := 0; l < c.NumLayers; l++ {
		pre := "gpt_neox.layers." + strconv.Itoa(l) + "."
		ps = append(ps,
			Param{pre + "input_layernorm.weight", []int{h}},
			Param{pre + "input_layernorm.bias", []int{h}},
			Param{pre + "post_attention_layernorm.weight", []int{h}},
			Param{pre + "post_attention_layernorm.bias", []int{h}},
			Param{pre + "attention.query_key_value.weight", []int{3 * h, h}})
		if c.AttentionBias {
			ps = append(ps, Param{pre + "attention.query_key_value.bias", []int{3 * h}})
		}
		ps = append(ps, Param{pre + "attention.dense.weight", []int{h, h}})
		if c.AttentionBias {
			ps = append(ps, Param{pre + "attention.dense.bias", []int{h}})
		}
		ps = append(ps,
			Param{pre + "mlp.dense_h_to_4h.weight", []int{i, h}},
			Param{pre + "mlp.dense_h_to_4h.bias", []int{i}},
			Param{pre + "mlp.dense_4h_to_h.weight", []int{h, i}},
			Param{pre + "mlp.dense_4h_to_h.bias", []int{h}})
	}
	return append(ps,
		Param{"gpt_neox.final_layer_norm.weight", []int{h}},
		Param{"gpt_neox.final_layer_norm.bias", []int{h}},
		Param{"score.weight", []int{c.NumLabels, h}})
}

// VariableFor returns the context (scoped under ctx) and variable name that
// hold the HF tensor name, e.g. "gpt_neox.final_layer_norm.bias" →
// ctx.In("gpt_neox").In("final_layer_norm"), "bias".
func VariableFor(ctx *context.Context, hfName string) (*context.Context, string) {
	parts := strings.Split(hfName, ".")
	for _, p := range parts[:len(parts)-1] {
		ctx = ctx.In(p)
	}
	return ctx, parts[len(parts)-1]
}

// ignoredTensor reports HF checkpoint tensors the classifier does not use:
// the LM head and the attention buffers some checkpoints carry.
func ignoredTensor(name string) bool {
	if name == "embed_out.weight" {
		return true
	}
	if strings.HasPrefix(name, "gpt_neox.layers.") {
		for _, s := range []string{".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq"} {
			if strings.HasSuffix(name, s) {
				return true
			}
		}
	}
	return false
}

// ErrPickle is returned for pytorch_model.bin checkpoints.
var ErrPickle = errors.New("pytorch_model.bin is a Python pickle, which w2st does not load (loading a pickle can run code); " +
	"convert it once to safetensors, keeping the tensor names, e.g. with PyTorch ≥ 1.13 and the safetensors package: " +
	"python -c \"import torch; from safetensors.torch import save_file; sd = torch.load('pytorch_model.bin', map_location='cpu', weights_only=True); " +
	"save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors', metadata={'format': 'pt'})\" " +
	"(for a sharded pytorch_model-*.bin, convert each shard and its index), then point w2st at the folder")

// checkpointFiles resolves a weights path (a folder, a .safetensors file, or
// an index.json) to the safetensors files and, for sharded checkpoints, the
// shard each tensor should come from.
func checkpointFiles(path string) (files []string, weightMap map[string]string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("model weights: %w", err)
	}
	if st.IsDir() {
		single := filepath.Join(path, "model.safetensors")
		index := filepath.Join(path, "model.safetensors.index.json")
		switch {
		case fileExists(single):
			return []string{single}, nil, nil
		case fileExists(index):
			path = index
		case fileExists(filepath.Join(path, "pytorch_model.bin")) || fileExists(filepath.Join(path, "pytorch_model.bin.index.json")):
			return nil, nil, fmt.Errorf("model weights %s: %w", path, ErrPickle)
		default:
			return nil, nil, fmt.Errorf("model weights %s: no model.safetensors or model.safetensors.index.json in the folder", path)
		}
	}
	switch {
	case strings.HasSuffix(path, ".safetensors"):
		return []string{path}, nil, nil
	case strings.HasSuffix(path, ".index.json"):
		if strings.HasSuffix(path, "pytorch_model.bin.index.json") {
			return nil, nil, fmt.Errorf("model weights %s: %w", path, ErrPickle)
		}
		idx, err := safetensors.ReadIndex(path)
		if err != nil {
			return nil, nil, fmt.Errorf("model weights: %w", err)
		}
		dir := filepath.Dir(path)
		for _, s := range idx.Shards() {
			files = append(files, filepath.Join(dir, s))
		}
		wm := make(map[string]string, len(idx.WeightMap))
		for k, v := range idx.WeightMap {
			wm[k] = filepath.Join(dir, v)
		}
		return files, wm, nil
	case strings.HasSuffix(path, ".bin"):
		return nil, nil, fmt.Errorf("model weights %s: %w", path, ErrPickle)
	}
	return nil, nil, fmt.Errorf("model weights %s: want a folder, a .safetensors file or a model.safetensors.index.json", path)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// LoadWeights reads an HF GPT-NeoX checkpoint (a folder, a .safetensors file,
// or a model.safetensors.index.json with shards) into ctx's variables as
// float32 (F32, F16, BF16 and F64 tensors are converted). embed_out and the
// attention buffers are ignored; a missing score.weight is zero-initialised;
// a base GPTNeoXModel checkpoint (names without "gpt_neox.") is accepted.
// One error lists every missing, unexpected and mis-shaped tensor. Tensors are
// read one at a time straight into their variables' memory.
func LoadWeights(ctx *context.Context, cfg Config, path string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("loading weights %s: %v", path, r)
		}
	}()
	pl, err := openCheckpoint(cfg, path)
	if err != nil {
		return err
	}
	defer pl.close()
	uctx := ctx.Checked(false)
	for _, p := range cfg.Params() {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, p.Shape...))
		if f := pl.where[p.Name]; f != nil {
			var rerr error
			tensors.MustMutableFlatData(t, func(flat []float32) { rerr = f.ReadFloat32(pl.raw(p.Name), flat) })
			if rerr != nil {
				return fmt.Errorf("model weights: %w", rerr)
			}
		} // else: score.weight, zeros.
		if err := setVariable(uctx, p.Name, t); err != nil {
			return err
		}
	}
	return nil
}

// CkptInfo summarises a checkpoint checked against a config.
type CkptInfo struct {
	Files    []string       `json:"files"`
	Tensors  int            `json:"tensors"`
	Used     int            `json:"used"`
	Ignored  int            `json:"ignored"`
	Bytes    int64          `json:"bytes"`
	DTypes   map[string]int `json:"dtypes"`
	HasScore bool           `json:"has_score"`
}

// InspectCheckpoint validates a checkpoint against cfg exactly as LoadWeights
// does, without reading the tensor data.
func InspectCheckpoint(cfg Config, path string) (CkptInfo, error) {
	pl, err := openCheckpoint(cfg, path)
	if err != nil {
		return CkptInfo{}, err
	}
	defer pl.close()
	ci := CkptInfo{DTypes: map[string]int{}}
	for _, f := range pl.files {
		ci.Files = append(ci.Files, f.Name())
		for _, t := range f.Tensors() {
			ci.Tensors++
			ci.Bytes += t.NumBytes()
			ci.DTypes[string(t.DType)]++
			if ignoredTensor(t.Name) {
				ci.Ignored++
			} else {
				ci.Used++
			}
		}
	}
	_, ci.HasScore = pl.where["score.weight"]
	return ci, nil
}

// checkpoint is an opened, validated checkpoint.
type checkpoint struct {
	files []*safetensors.File
	where map[string]*safetensors.File // by HF classifier name
	// rawName maps a classifier name to the name in the file where they differ.
	rawName map[string]string
}

// raw is the name of tensor name in its file.
func (c *checkpoint) raw(name string) string {
	if r, ok := c.rawName[name]; ok {
		return r
	}
	return name
}

func (c *checkpoint) close() {
	for _, f := range c.files {
		f.Close()
	}
}

// openCheckpoint opens every file of the checkpoint at path and checks its
// tensors against cfg, returning one error that lists every problem.
func openCheckpoint(cfg Config, path string) (ck *checkpoint, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	files, weightMap, err := checkpointFiles(path)
	if err != nil {
		return nil, err
	}
	opened := &checkpoint{where: map[string]*safetensors.File{}, rawName: map[string]string{}}
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	ck = opened
	where := ck.where
	reported := map[string]bool{}
	var problems []string
	var notIndexed, misIndexed, twice, notInShard []string // index problems, listed a few of each
	for _, fn := range files {
		f, err := safetensors.Open(fn)
		if err != nil {
			return nil, fmt.Errorf("model weights: %w", err)
		}
		ck.files = append(ck.files, f)
		for _, t := range f.Tensors() {
			if weightMap != nil && weightMap[t.Name] != fn {
				reported[t.Name] = true
				if weightMap[t.Name] == "" {
					notIndexed = append(notIndexed, fmt.Sprintf("tensor %q in %s is not in the index", t.Name, filepath.Base(fn)))
				} else {
					misIndexed = append(misIndexed, fmt.Sprintf("tensor %q is in %s but the index names %s", t.Name, filepath.Base(fn), filepath.Base(weightMap[t.Name])))
				}
				continue
			}
			if prev, dup := where[t.Name]; dup {
				twice = append(twice, fmt.Sprintf("tensor %q is in both %s and %s", t.Name, prev.Name(), fn))
				continue
			}
			where[t.Name] = f
		}
	}
	for name, fn := range weightMap {
		if where[name] == nil && !reported[name] {
			notInShard = append(notInShard, fmt.Sprintf("tensor %q is in the index but not in %s", name, filepath.Base(fn)))
		}
	}
	sort.Strings(notInShard) // map order
	for _, list := range [][]string{notIndexed, misIndexed, twice, notInShard} {
		if len(list) > 0 {
			problems = append(problems, firstFew(list, "; "))
		}
	}
	// A base GPTNeoXModel checkpoint (AutoModel.save_pretrained) has no
	// "gpt_neox." prefix; HF adds it when loading into the classifier, so do we.
	if where["gpt_neox.embed_in.weight"] == nil && where["embed_in.weight"] != nil {
		remapped := make(map[string]*safetensors.File, len(where))
		for n, f := range where {
			key := n
			if n != "score.weight" && n != "embed_out.weight" && !strings.HasPrefix(n, "gpt_neox.") {
				key = "gpt_neox." + n
				ck.rawName[key] = n
			}
			remapped[key] = f
		}
		ck.where, where = remapped, remapped
	}
	params := cfg.Params()
	expected := map[string]bool{}
	var missing, misshaped, unexpected []string
	for _, p := range params {
		expected[p.Name] = true
		f := where[p.Name]
		if f == nil {
			if p.Name != "score.weight" {
				missing = append(missing, p.Name)
			}
			continue
		}
		t, _ := f.Lookup(ck.raw(p.Name))
		if !equalInts(t.Shape, p.Shape) {
			misshaped = append(misshaped, fmt.Sprintf("%s is %v, the config needs %v", p.Name, t.Shape, p.Shape))
		} else if t.DType != safetensors.F32 && t.DType != safetensors.F16 && t.DType != safetensors.BF16 && t.DType != safetensors.F64 {
			misshaped = append(misshaped, fmt.Sprintf("%s has dtype %s, want a float type", p.Name, t.DType))
		}
	}
	for name := range where {
		if !expected[name] && !ignoredTensor(name) {
			unexpected = append(unexpected, name)
		}
	}
	sort.Strings(unexpected)
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d missing: %s", len(missing), firstFew(missing, ", ")))
	}
	if len(unexpected) > 0 {
		problems = append(problems, fmt.Sprintf("%d unexpected: %s", len(unexpected), firstFew(unexpected, ", ")))
	}
	if len(misshaped) > 0 {
		problems = append(problems, fmt.Sprintf("%d mis-shaped: %s", len(misshaped), firstFew(misshaped, "; ")))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("model weights %s do not match the config (%d layers, hidden %d, vocab %d, %d labels): %s",
			path, cfg.NumLayers, cfg.HiddenSize, cfg.VocabSize, cfg.NumLabels, strings.Join(problems, "; "))
	}
	return ck, nil
}

// maxListed bounds how many names one problem of a weights error lists: a
// config that does not fit a checkpoint (wrong hidden size, say) would
// otherwise list every tensor of the model.
const maxListed = 5

// firstFew joins the first maxListed items and counts the rest.
func firstFew(items []string, sep string) string {
	if len(items) <= maxListed {
		return strings.Join(items, sep)
	}
	return fmt.Sprintf("%s%s… and %d more", strings.Join(items[:maxListed], sep), sep, len(items)-maxListed)
}

// setVariable stores t in the variable for hfName, creating it if needed.
func setVariable(ctx *context.Context, hfName string, t *tensors.Tensor) error {
	vctx, name := VariableFor(ctx, hfName)
	if v := vctx.GetVariableByScopeAndName(vctx.Scope(), name); v != nil {
		if !v.Shape().Equal(t.Shape()) {
			return fmt.Errorf("variable %s::%s exists with shape %s, checkpoint tensor %s is %s", vctx.Scope(), name, v.Shape(), hfName, t.Shape())
		}
		if err := v.SetValue(t); err != nil {
			return fmt.Errorf("setting %s: %w", hfName, err)
		}
		return nil
	}
	vctx.VariableWithValue(name, t)
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Export writes the classifier in ctx as an HF checkpoint folder: config.json
// (GPTNeoXForSequenceClassification) and model.safetensors (float32, HF
// names). Each file is written to a temporary file in dir and renamed, so an
// error leaves no partial file. Every parameter must exist in ctx (build the
// model or load weights first).
func Export(ctx *context.Context, cfg Config, dir string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("export %s: %v", dir, r)
		}
	}()
	cj, err := cfg.MarshalHF()
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	var entries []safetensors.Entry
	var missing []string
	for _, p := range cfg.Params() {
		vctx, name := VariableFor(ctx, p.Name)
		v := vctx.GetVariableByScopeAndName(vctx.Scope(), name)
		if v == nil {
			missing = append(missing, p.Name)
			continue
		}
		want := shapes.Make(dtypes.Float32, p.Shape...)
		if !v.Shape().Equal(want) {
			return fmt.Errorf("export %s: variable for %s has shape %s, want %s", dir, p.Name, v.Shape(), want)
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("export %s: %s: %w", dir, p.Name, err)
		}
		entries = append(entries, safetensors.Entry{
			Name: p.Name, DType: safetensors.F32, Shape: p.Shape,
			WriteData: func(w io.Writer) error {
				var werr error
				if err := t.ConstBytes(func(b []byte) { _, werr = w.Write(b) }); err != nil {
					return err
				}
				return werr
			},
		})
	}
	if len(missing) > 0 {
		return fmt.Errorf("export %s: %d parameters are not in the context (build the model or load weights first): %s",
			dir, len(missing), strings.Join(missing, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	// Write both files to temporaries first, then rename them, so a failure
	// while writing leaves neither a partial file nor a mixed export.
	modelPath, cfgPath := filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "config.json")
	tmpModel, err := safetensors.WriteTemp(modelPath, entries, map[string]string{"format": "pt"})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmpCfg, err := writeTemp(cfgPath, cj)
	if err != nil {
		os.Remove(tmpModel)
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmpModel, modelPath); err != nil {
		os.Remove(tmpModel)
		os.Remove(tmpCfg)
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmpCfg, cfgPath); err != nil {
		os.Remove(tmpCfg)
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// writeTemp writes data to a synced temporary file beside path and returns its name.
func writeTemp(path string, data []byte) (name string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return "", err
	}
	if err = tmp.Sync(); err != nil {
		return "", err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return "", err
	}
	if err = tmp.Close(); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}
