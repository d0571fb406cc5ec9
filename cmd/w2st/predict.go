package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/spf13/pflag"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/tokenizer"
)

// maxPredictLine bounds one JSONL input line.
const maxPredictLine = 16 << 20

// predictIn is one JSONL input line.
type predictIn struct {
	ID       *json.RawMessage `json:"id,omitempty"`
	InputIDs []int32          `json:"input_ids"`
	Text     *string          `json:"text"`
}

// predictOut is one JSONL output line.
type predictOut struct {
	ID     *json.RawMessage `json:"id,omitempty"`
	Logits []float32        `json:"logits"`
	Probs  []float32        `json:"probs"`
}

func predictCommand() *command {
	return &command{
		name:    "predict",
		summary: "run a GPT-NeoX classifier over a file of inputs",
		long: `Input: JSONL with one object per line holding "input_ids" (token ids) or "text" (needs
--tokenizer), and optionally "id", which is copied to the output; or a Parquet file of the
w2st schema (input_ids, else text). Output (--out): JSONL with "logits" and "probs" per input, in
input order; or, for a .parquet output, the input rows with soft_label set to the probabilities.
The output is written to a temporary file and renamed, so a failure leaves no partial output.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			bf := addBackendFlags(fs)
			model := fs.String("model", "", "model: an HF checkpoint folder or a preset (random weights)")
			input := fs.String("input", "", "input file (.jsonl or .parquet)")
			out := fs.String("out", "", "output file (.jsonl or .parquet)")
			batchSize := fs.Int("batch-size", 8, "rows per forward pass")
			numLabels := fs.Int("num-labels", 0, "override num_labels (presets; 0: the config's)")
			dtype := fs.String("dtype", "f32", "compute dtype: f32 or bf16")
			tokPath := fs.String("tokenizer", "", "tokenizer.json (or GPT-2 folder) for \"text\" inputs; default: the model folder's tokenizer.json if any")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				if *model == "" || *input == "" || *out == "" {
					return usageErrorf("--model, --input and --out are required")
				}
				if *batchSize < 1 {
					return usageErrorf("--batch-size %d must be >= 1", *batchSize)
				}
				dt, err := neox.ParseDType(*dtype)
				if err != nil {
					return usageErrorf("--dtype: %v", err)
				}
				cfg, weights, err := neox.Resolve(*model, *numLabels)
				if err != nil {
					return err
				}
				var tok *tokenizer.Tokenizer
				tp := *tokPath
				if tp == "" && weights != "" {
					if _, err := os.Stat(filepath.Join(weights, "tokenizer.json")); err == nil {
						tp = filepath.Join(weights, "tokenizer.json")
					}
				}
				if tp != "" {
					if tok, err = tokenizer.Load(tp); err != nil {
						return err
					}
				}
				rows, err := readPredictInput(*input, tok)
				if err != nil {
					return err
				}
				b, err := bf.open()
				if err != nil {
					return err
				}
				defer b.Finalize()
				ctx := context.New()
				if weights != "" {
					if err := neox.LoadWeights(ctx, cfg, weights); err != nil {
						return err
					}
				}
				p, err := neox.NewPredictor(b, ctx, cfg, neox.ForwardOptions{DType: dt}, *batchSize)
				if err != nil {
					return err
				}
				defer p.Close()
				seqs := make([][]int32, len(rows))
				for i, r := range rows {
					seqs[i] = r.ids
				}
				logits, err := p.Logits(seqs)
				if err != nil {
					var where string
					if i := badIndex(err); i >= 0 && i < len(rows) {
						where = fmt.Sprintf("%s: %s: ", *input, rows[i].where)
					}
					return fmt.Errorf("%s%w", where, err)
				}
				if err := writePredictOutput(*out, rows, logits); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "predicted %d rows with %s (%d labels) -> %s (%d compiled shapes)\n", len(rows), *model, cfg.NumLabels, *out, p.Compiles)
				return nil
			}
		},
	}
}

// predictRow is one input with its origin for error messages.
type predictRow struct {
	where string // "line 3" or "row 3"
	id    *json.RawMessage
	ids   []int32
	ex    *data.Example // Parquet rows
}

// badIndex extracts the sequence index from a Predictor error ("sequence N ...").
func badIndex(err error) int {
	var i int
	if _, scanErr := fmt.Sscanf(err.Error(), "sequence %d", &i); scanErr == nil {
		return i
	}
	return -1
}

func readPredictInput(path string, tok *tokenizer.Tokenizer) ([]predictRow, error) {
	if strings.HasSuffix(path, ".parquet") {
		exs, err := parquetio.ReadAll(path)
		if err != nil {
			return nil, err
		}
		rows := make([]predictRow, len(exs))
		for i := range exs {
			ex := &exs[i]
			rows[i] = predictRow{where: fmt.Sprintf("row %d (id %q)", i, ex.ID), ex: ex, ids: ex.InputIDs}
			if len(ex.InputIDs) == 0 {
				if tok == nil {
					return nil, fmt.Errorf("%s: row %d (id %q) has no input_ids and no --tokenizer was given for its text", path, i, ex.ID)
				}
				ids, err := tok.Encode(ex.Text)
				if err != nil {
					return nil, fmt.Errorf("%s: row %d (id %q): %w", path, i, ex.ID, err)
				}
				rows[i].ids = ids
			}
		}
		return rows, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxPredictLine)
	var rows []predictRow
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var in predictIn // other fields (label, group, ...) are ignored
		if err := json.Unmarshal(b, &in); err != nil {
			var ue *json.UnmarshalTypeError
			if errors.As(err, &ue) {
				return nil, fmt.Errorf("%s: line %d: field %q: %v", path, line, ue.Field, err)
			}
			return nil, fmt.Errorf("%s: line %d: %v", path, line, err)
		}
		r := predictRow{where: fmt.Sprintf("line %d", line), id: in.ID, ids: in.InputIDs}
		switch {
		case in.InputIDs != nil:
		case in.Text != nil:
			if tok == nil {
				return nil, fmt.Errorf("%s: line %d: \"text\" input needs --tokenizer", path, line)
			}
			if r.ids, err = tok.Encode(*in.Text); err != nil {
				return nil, fmt.Errorf("%s: line %d: field \"text\": %w", path, line, err)
			}
		default:
			return nil, fmt.Errorf("%s: line %d: needs \"input_ids\" or \"text\"", path, line)
		}
		if len(r.ids) == 0 {
			return nil, fmt.Errorf("%s: line %d: empty input", path, line)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: line %d: longer than %d bytes", path, len(rows)+1, maxPredictLine)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

func writePredictOutput(path string, rows []predictRow, logits [][]float32) (err error) {
	if strings.HasSuffix(path, ".parquet") {
		exs := make([]data.Example, len(rows))
		for i, r := range rows {
			if r.ex != nil {
				exs[i] = *r.ex
			} else {
				exs[i].ID = fmt.Sprint(i)
				if r.id != nil {
					var s string
					if json.Unmarshal(*r.id, &s) == nil {
						exs[i].ID = s
					} else {
						exs[i].ID = string(*r.id)
					}
				}
				exs[i].InputIDs = r.ids
				exs[i].Length = int32(len(r.ids))
			}
			exs[i].SoftLabel = neox.Probabilities(logits[i])
		}
		return parquetio.WriteFile(path, exs, parquetio.WriterOptions{})
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	for i, r := range rows {
		o := predictOut{ID: r.id, Logits: logits[i], Probs: neox.Probabilities(logits[i])}
		if r.ex != nil {
			b, _ := json.Marshal(r.ex.ID)
			raw := json.RawMessage(b)
			o.ID = &raw
		}
		if err = enc.Encode(o); err != nil {
			return err
		}
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
