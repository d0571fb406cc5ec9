package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/spf13/pflag"
	"github.com/w2st/w2st/accel/neox"
)

func modelCommand() *command {
	return &command{
		name:    "model",
		summary: "inspect GPT-NeoX models (presets and HF checkpoint folders)",
		sub:     []*command{modelInfoCommand(), modelExportCommand()},
	}
}

// modelInfo is what `w2st model info --json` prints.
type modelInfo struct {
	Model              string         `json:"model"`
	Weights            string         `json:"weights,omitempty"`
	VocabSize          int            `json:"vocab_size"`
	HiddenSize         int            `json:"hidden_size"`
	NumLayers          int            `json:"num_layers"`
	NumHeads           int            `json:"num_heads"`
	IntermediateSize   int            `json:"intermediate_size"`
	RotaryDims         int            `json:"rotary_dims"`
	ParallelResidual   bool           `json:"parallel_residual"`
	NumLabels          int            `json:"num_labels"`
	Labels             []string       `json:"labels"`
	TotalParams        int64          `json:"total_params"`
	NonEmbeddingParams int64          `json:"non_embedding_params"`
	SeqLen             int            `json:"seq_len"`
	TrainFLOPsPerToken float64        `json:"train_flops_per_token"`
	FLOPsFormula       string         `json:"flops_formula"`
	Params             []neox.Param   `json:"params"`
	Checkpoint         *neox.CkptInfo `json:"checkpoint,omitempty"`
}

const flopsFormula = "6*N_nonembedding + 12*layers*hidden*seq_len (PaLM appendix B; forward+backward, matmuls only)"

func modelInfoCommand() *command {
	return &command{
		name:    "info",
		summary: "print a model's shapes, parameter counts and training FLOPs per token",
		args:    "<dir|preset>",
		long: `The argument is a preset (` + fmt.Sprint(neox.PresetNames()) + `) or an HF folder with
config.json (and model.safetensors or a sharded index, which is checked but not loaded).
Training FLOPs per token: ` + flopsFormula + `.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			numLabels := fs.Int("num-labels", 0, "override num_labels (0: the config's)")
			seqLen := fs.Int("seq-len", 2048, "sequence length for the FLOPs estimate")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one model (a preset or a folder), got %d arguments", len(args))
				}
				if *seqLen < 1 {
					return usageErrorf("--seq-len %d must be >= 1", *seqLen)
				}
				if *numLabels < 0 {
					return usageErrorf("--num-labels must be >= 0 (0: the config's), got %d", *numLabels)
				}
				cfg, weights, err := neox.Resolve(args[0], *numLabels)
				if err != nil {
					return err
				}
				total, nonEmb := cfg.NumParameters()
				info := modelInfo{
					Model: args[0], Weights: weights, VocabSize: cfg.VocabSize, HiddenSize: cfg.HiddenSize,
					NumLayers: cfg.NumLayers, NumHeads: cfg.NumHeads, IntermediateSize: cfg.IntermediateSize,
					RotaryDims: cfg.RotaryDims(), ParallelResidual: cfg.ParallelResidual, NumLabels: cfg.NumLabels,
					Labels: cfg.Labels(), TotalParams: total, NonEmbeddingParams: nonEmb, SeqLen: *seqLen,
					TrainFLOPsPerToken: cfg.TrainingFLOPsPerToken(*seqLen), FLOPsFormula: flopsFormula, Params: cfg.Params(),
				}
				if weights != "" {
					ci, err := neox.InspectCheckpoint(cfg, weights)
					if err != nil {
						return err
					}
					info.Checkpoint = &ci
				}
				if *asJSON {
					enc := json.NewEncoder(env.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(info)
				}
				w := env.stdout
				fmt.Fprintf(w, "model:            %s\n", info.Model)
				if weights != "" {
					fmt.Fprintf(w, "weights:          %s\n", weights)
				}
				fmt.Fprintf(w, "shape:            vocab %d, hidden %d, layers %d, heads %d (head size %d, rotary dims %d), MLP %d, %s residual\n",
					cfg.VocabSize, cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.HeadSize(), cfg.RotaryDims(), cfg.IntermediateSize,
					map[bool]string{true: "parallel", false: "sequential"}[cfg.ParallelResidual])
				fmt.Fprintf(w, "labels:           %d %v\n", cfg.NumLabels, cfg.Labels())
				fmt.Fprintf(w, "parameters:       %d total, %d non-embedding (classifier: embed_in + layers + final LN + score)\n", total, nonEmb)
				fmt.Fprintf(w, "train FLOPs/token: %.4g at seq_len %d = %s\n", info.TrainFLOPsPerToken, *seqLen, flopsFormula)
				if ci := info.Checkpoint; ci != nil {
					fmt.Fprintf(w, "checkpoint:       %d files, %d tensors (%d used, %d ignored), %d bytes, dtypes %v, score head present: %v\n",
						len(ci.Files), ci.Tensors, ci.Used, ci.Ignored, ci.Bytes, ci.DTypes, ci.HasScore)
				}
				fmt.Fprintln(w, "tensors:")
				tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
				for _, p := range info.Params {
					fmt.Fprintf(tw, "  %s\t%v\n", p.Name, p.Shape)
				}
				return tw.Flush()
			}
		},
	}
}

func modelExportCommand() *command {
	return &command{
		name:    "export",
		summary: "write a model as an HF GPTNeoXForSequenceClassification folder (config.json + model.safetensors)",
		args:    "<dir|preset>",
		long: `Loads an HF checkpoint folder (any of F32/F16/BF16, single or sharded) or initialises a preset
(seeded by --seed) and writes it to --out as float32 model.safetensors + config.json that HF
transformers loads with GPTNeoXForSequenceClassification.from_pretrained. A missing score
head is written as zeros. Files are written atomically.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			bf := addBackendFlags(fs)
			out := fs.String("out", "", "output folder (created if needed)")
			numLabels := fs.Int("num-labels", 0, "override num_labels (0: the config's)")
			seed := fs.Int64("seed", 1, "initialisation seed for presets")
			return func(args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one model (a preset or a folder), got %d arguments", len(args))
				}
				if *out == "" {
					return usageErrorf("--out is required")
				}
				if *numLabels < 0 {
					return usageErrorf("--num-labels must be >= 0 (0: the config's), got %d", *numLabels)
				}
				cfg, weights, err := neox.Resolve(args[0], *numLabels)
				if err != nil {
					return err
				}
				ctx := context.New()
				ctx.SetParam(context.ParamInitialSeed, *seed)
				if weights != "" {
					if err := neox.LoadWeights(ctx, cfg, weights); err != nil {
						return err
					}
				} else {
					b, err := bf.open()
					if err != nil {
						return err
					}
					defer b.Finalize()
					if err := neox.Materialize(b, ctx, cfg); err != nil {
						return err
					}
				}
				if err := neox.Export(ctx, cfg, *out); err != nil {
					return err
				}
				total, _ := cfg.NumParameters()
				fmt.Fprintf(env.stdout, "exported %s (%d parameters, %d labels) to %s\n", args[0], total, cfg.NumLabels, *out)
				return nil
			}
		},
	}
}
