// Package neoxlearn is the pipeline's Learner for GPT-NeoX classifiers: it
// trains with accel/train and the accel/neox model graph, exports every
// trained model as an HF checkpoint folder, and predicts from it.
//
// A model spec is an HF folder (config.json and safetensors weights), a
// preset name (accel/neox presets, randomly initialised), or a preset with
// shape overrides: "PRESET:key=value,…" with keys hidden, layers, heads,
// intermediate, vocab and max_positions, e.g. "tiny:hidden=32,layers=2,vocab=512"
// (the demo uses these to get small from-scratch weak and strong models).
package neoxlearn

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/w2st/w2st/accel/neox"
)

// ParseModel resolves a model spec into a config and its weights path ("" for
// a randomly initialised preset).
func ParseModel(spec string, numLabels int) (neox.Config, string, error) {
	if _, err := os.Stat(spec); err == nil {
		return neox.Resolve(spec, numLabels)
	}
	base, opts, hasOpts := strings.Cut(spec, ":")
	cfg, weights, err := neox.Resolve(base, numLabels)
	if err != nil {
		return neox.Config{}, "", err
	}
	if !hasOpts {
		return cfg, weights, nil
	}
	if weights != "" {
		return neox.Config{}, "", fmt.Errorf("model %q: shape overrides apply only to presets", spec)
	}
	for _, kv := range strings.Split(opts, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return neox.Config{}, "", fmt.Errorf("model %q: override %q is not key=value", spec, kv)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return neox.Config{}, "", fmt.Errorf("model %q: override %s=%q: want a positive integer", spec, k, v)
		}
		switch k {
		case "hidden":
			cfg.HiddenSize = n
			cfg.IntermediateSize = 4 * n
		case "layers":
			cfg.NumLayers = n
		case "heads":
			cfg.NumHeads = n
		case "intermediate":
			cfg.IntermediateSize = n
		case "vocab":
			cfg.VocabSize = n
		case "max_positions":
			cfg.MaxPositions = n
		default:
			return neox.Config{}, "", fmt.Errorf("model %q: unknown override %q (want hidden, layers, heads, intermediate, vocab or max_positions)", spec, k)
		}
	}
	// "intermediate" wins over the 4×hidden default whatever the order.
	for _, kv := range strings.Split(opts, ",") {
		if k, v, _ := strings.Cut(strings.TrimSpace(kv), "="); k == "intermediate" {
			cfg.IntermediateSize, _ = strconv.Atoi(v)
		}
	}
	if err := cfg.Validate(); err != nil {
		return neox.Config{}, "", fmt.Errorf("model %q: %w", spec, err)
	}
	return cfg, "", nil
}
