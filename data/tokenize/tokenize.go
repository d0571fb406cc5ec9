// Package tokenize adds token ids to a w2st Parquet dataset: it streams the
// input, encodes the text of each chunk of rows in parallel and writes the
// rows with input_ids and length, so training never re-tokenizes.
package tokenize

import (
	"errors"
	"fmt"
	"io"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/batching"
	"github.com/w2st/w2st/data/parquetio"
)

// Encoder turns texts into token ids (a *tokenizer.Tokenizer).
type Encoder interface {
	EncodeBatch(texts []string, workers int) ([][]int32, error)
}

// Options configures File.
type Options struct {
	Workers   int               // encoding goroutines (0: the encoder's default)
	ChunkRows int               // rows encoded at a time (default 4096)
	Metadata  map[string]string // extra footer metadata (e.g. the tokenizer's name)
}

// Stats summarises a tokenized output.
type Stats struct {
	Rows      int64
	Tokens    int64
	Histogram batching.Histogram
}

// File tokenizes the rows of in (files, folders, globs) into out, atomically.
func File(enc Encoder, in []string, out string, opts Options) (Stats, error) {
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = 4096
	}
	r, err := parquetio.Open(in, parquetio.Options{})
	if err != nil {
		return Stats{}, err
	}
	defer r.Close()
	w, err := parquetio.NewWriterOptions(out, parquetio.WriterOptions{Metadata: opts.Metadata})
	if err != nil {
		return Stats{}, err
	}
	st, err := run(enc, r, w, opts)
	if err != nil {
		w.Abort()
		return Stats{}, err
	}
	if st.Rows == 0 {
		w.Abort()
		return Stats{}, fmt.Errorf("tokenize: %v: no rows", in)
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	return st, nil
}

func run(enc Encoder, r *parquetio.Reader, w *parquetio.Writer, opts Options) (Stats, error) {
	var st Stats
	rows := make([]data.Example, 0, opts.ChunkRows)
	texts := make([]string, 0, opts.ChunkRows)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		texts = texts[:0]
		for i := range rows {
			texts = append(texts, rows[i].Text)
		}
		ids, err := enc.EncodeBatch(texts, opts.Workers)
		if err != nil {
			return fmt.Errorf("tokenize rows %d..%d (ids %q..%q): %w", st.Rows, st.Rows+int64(len(rows))-1, rows[0].ID, rows[len(rows)-1].ID, err)
		}
		if len(ids) != len(rows) {
			return fmt.Errorf("tokenize: encoder returned %d results for %d texts", len(ids), len(rows))
		}
		for i := range rows {
			rows[i].InputIDs = ids[i]
			rows[i].Length = int32(len(ids[i]))
			st.Tokens += int64(len(ids[i]))
			st.Histogram.Add(len(ids[i]))
		}
		st.Rows += int64(len(rows))
		err = w.Write(rows)
		rows = rows[:0]
		return err
	}
	for {
		ex, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		rows = append(rows, ex)
		if len(rows) == opts.ChunkRows {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	return st, flush()
}
