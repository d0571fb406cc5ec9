package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/spf13/pflag"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/tokenizer"
	"github.com/w2st/w2st/internal/cleanup"
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
				if *numLabels < 0 {
					return usageErrorf("--num-labels must be >= 0 (0: the config's), got %d", *numLabels)
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
				src, err := openPredictSource(*input, tok)
				if err != nil {
					return err
				}
				defer src.close()
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
				n, err := streamPredictions(src, *input, *out, p, 64**batchSize)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "predicted %d rows with %s (%d labels) -> %s (%d compiled shapes)\n", n, *model, cfg.NumLabels, *out, p.Compiles)
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

// predictSource yields input rows one at a time (io.EOF at the end).
type predictSource interface {
	next() (predictRow, error)
	close()
}

func openPredictSource(path string, tok *tokenizer.Tokenizer) (predictSource, error) {
	if strings.HasSuffix(path, ".parquet") {
		r, err := parquetio.Open([]string{path}, parquetio.Options{})
		if err != nil {
			return nil, err
		}
		return &parquetSource{path: path, r: r, tok: tok}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxPredictLine)
	return &jsonlSource{path: path, f: f, sc: sc, tok: tok}, nil
}

type parquetSource struct {
	path string
	r    *parquetio.Reader
	tok  *tokenizer.Tokenizer
	row  int
}

func (s *parquetSource) next() (predictRow, error) {
	ex, err := s.r.Next()
	if err != nil {
		return predictRow{}, err // io.EOF at the end
	}
	i := s.row
	s.row++
	r := predictRow{where: fmt.Sprintf("row %d (id %q)", i, ex.ID), ex: &ex, ids: ex.InputIDs}
	if len(ex.InputIDs) == 0 {
		if s.tok == nil {
			return predictRow{}, fmt.Errorf("%s: row %d (id %q) has no input_ids and no --tokenizer was given for its text", s.path, i, ex.ID)
		}
		if r.ids, err = s.tok.Encode(ex.Text); err != nil {
			return predictRow{}, fmt.Errorf("%s: row %d (id %q): %w", s.path, i, ex.ID, err)
		}
		if len(r.ids) == 0 {
			return predictRow{}, fmt.Errorf("%s: row %d (id %q): empty text", s.path, i, ex.ID)
		}
	}
	return r, nil
}

func (s *parquetSource) close() { s.r.Close() }

type jsonlSource struct {
	path string
	f    *os.File
	sc   *bufio.Scanner
	tok  *tokenizer.Tokenizer
	line int
}

func (s *jsonlSource) next() (predictRow, error) {
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		return parsePredictLine(s.path, s.line, b, s.tok)
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return predictRow{}, fmt.Errorf("%s: line %d: longer than %d bytes", s.path, s.line+1, maxPredictLine)
		}
		return predictRow{}, fmt.Errorf("%s: %w", s.path, err)
	}
	return predictRow{}, io.EOF
}

func (s *jsonlSource) close() { s.f.Close() }

// parsePredictLine decodes one JSONL input line.
func parsePredictLine(path string, line int, b []byte, tok *tokenizer.Tokenizer) (predictRow, error) {
	var in predictIn // other fields (label, group, ...) are ignored
	if err := json.Unmarshal(b, &in); err != nil {
		var ue *json.UnmarshalTypeError
		if errors.As(err, &ue) {
			return predictRow{}, fmt.Errorf("%s: line %d: field %q: %v", path, line, ue.Field, err)
		}
		return predictRow{}, fmt.Errorf("%s: line %d: %v", path, line, err)
	}
	r := predictRow{where: fmt.Sprintf("line %d", line), id: in.ID, ids: in.InputIDs}
	switch {
	case in.InputIDs != nil:
	case in.Text != nil:
		if tok == nil {
			return predictRow{}, fmt.Errorf("%s: line %d: \"text\" input needs --tokenizer", path, line)
		}
		var err error
		if r.ids, err = tok.Encode(*in.Text); err != nil {
			return predictRow{}, fmt.Errorf("%s: line %d: field \"text\": %w", path, line, err)
		}
	default:
		return predictRow{}, fmt.Errorf("%s: line %d: needs \"input_ids\" or \"text\"", path, line)
	}
	if len(r.ids) == 0 {
		return predictRow{}, fmt.Errorf("%s: line %d: empty input", path, line)
	}
	return r, nil
}

// readPredictInput reads every row of a source (for tests and small inputs).
func readPredictInput(path string, tok *tokenizer.Tokenizer) ([]predictRow, error) {
	src, err := openPredictSource(path, tok)
	if err != nil {
		return nil, err
	}
	defer src.close()
	var rows []predictRow
	for {
		r, err := src.next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
}

// predictSink writes output rows; commit makes the output visible, abort removes it.
type predictSink interface {
	write(rows []predictRow, logits [][]float32) error
	commit() error
	abort()
}

func createPredictSink(path string) (predictSink, error) {
	if strings.HasSuffix(path, ".parquet") {
		w, err := parquetio.NewWriter(path)
		if err != nil {
			return nil, err
		}
		return &parquetSink{w: w}, nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("create %s: is a directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	forget := cleanup.Register(tmp.Name())
	bw := bufio.NewWriter(tmp)
	return &jsonlSink{path: path, tmp: tmp, bw: bw, enc: json.NewEncoder(bw), forget: forget}, nil
}

type parquetSink struct {
	w *parquetio.Writer
	n int
}

func (s *parquetSink) write(rows []predictRow, logits [][]float32) error {
	exs := make([]data.Example, len(rows))
	for i, r := range rows {
		if r.ex != nil {
			exs[i] = *r.ex
		} else {
			exs[i].ID = fmt.Sprint(s.n + i)
			if r.id != nil {
				var str string
				if json.Unmarshal(*r.id, &str) == nil {
					exs[i].ID = str
				} else {
					exs[i].ID = string(*r.id)
				}
			}
			exs[i].InputIDs = r.ids
			exs[i].Length = int32(len(r.ids))
		}
		exs[i].SoftLabel = neox.Probabilities(logits[i])
	}
	s.n += len(rows)
	return s.w.Write(exs)
}

func (s *parquetSink) commit() error { return s.w.Close() }
func (s *parquetSink) abort()        { s.w.Abort() }

type jsonlSink struct {
	path   string
	tmp    *os.File
	bw     *bufio.Writer
	enc    *json.Encoder
	forget func() // drops tmp from the interrupt cleanup
}

func (s *jsonlSink) write(rows []predictRow, logits [][]float32) error {
	for i, r := range rows {
		o := predictOut{ID: r.id, Logits: logits[i], Probs: neox.Probabilities(logits[i])}
		if r.ex != nil {
			b, _ := json.Marshal(r.ex.ID)
			raw := json.RawMessage(b)
			o.ID = &raw
		}
		if err := s.enc.Encode(o); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
	}
	return nil
}

func (s *jsonlSink) commit() error {
	err := s.bw.Flush()
	if err == nil {
		err = s.tmp.Chmod(0o644)
	}
	if err == nil {
		err = s.tmp.Close()
	} else {
		s.tmp.Close()
	}
	if err == nil {
		err = os.Rename(s.tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(s.tmp.Name())
		s.forget()
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.forget()
	return nil
}

func (s *jsonlSink) abort() {
	s.tmp.Close()
	os.Remove(s.tmp.Name())
	s.forget()
}

// streamPredictions reads src in blocks of block rows, predicts and writes
// them in order to out; it returns the number of rows. On error the output is
// removed.
func streamPredictions(src predictSource, in, out string, p *neox.Predictor, block int) (n int, err error) {
	sink, err := createPredictSink(out)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			sink.abort()
		}
	}()
	rows := make([]predictRow, 0, block)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		seqs := make([][]int32, len(rows))
		for i, r := range rows {
			seqs[i] = r.ids
		}
		logits, err := p.Logits(seqs)
		if err != nil {
			if i := badIndex(err); i >= 0 && i < len(rows) {
				return fmt.Errorf("%s: %s: %w", in, rows[i].where, err)
			}
			return err
		}
		for i, l := range logits {
			for _, v := range l {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("%s: %s: the model's logits %v are not finite (NaN or Inf weights?)", in, rows[i].where, l)
				}
			}
		}
		if err := sink.write(rows, logits); err != nil {
			return err
		}
		n += len(rows)
		rows = rows[:0]
		return nil
	}
	for {
		r, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		rows = append(rows, r)
		if len(rows) == block {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no rows to predict", in)
	}
	return n, sink.commit()
}
