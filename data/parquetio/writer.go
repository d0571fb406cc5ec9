// Package parquetio writes and streams w2st datasets (data.Example rows) as
// Parquet files: atomic writes (temp file + rename), row-group-at-a-time
// reading with bounded memory over several files or globs, column projection,
// a bounded seeded shuffle buffer and sharding by row group.
package parquetio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/internal/cleanup"
)

// DefaultRowGroupRows is the number of rows per row group the Writer uses
// unless WriterOptions says otherwise. It bounds the reader's memory (one row
// group's pages at a time) and is the unit of sharding.
const DefaultRowGroupRows = 8192

// WriterOptions configures a Writer.
type WriterOptions struct {
	RowGroupRows int               // rows per row group (DefaultRowGroupRows when 0)
	Metadata     map[string]string // key/value metadata stored in the file footer
}

// Writer writes data.Example rows to a Parquet file. Rows go to a temporary
// file in the destination's directory, which Close renames into place, so a
// failed or abandoned write never leaves a half-written file at the path.
type Writer struct {
	path   string
	tmp    *os.File
	w      *parquet.GenericWriter[data.Example]
	rows   int64
	done   bool
	failed error
	forget func() // drops tmp from the interrupt cleanup
}

// NewWriter creates a Writer for path with the default options.
func NewWriter(path string) (*Writer, error) {
	return NewWriterOptions(path, WriterOptions{})
}

// NewWriterOptions creates a Writer for path.
func NewWriterOptions(path string, opts WriterOptions) (*Writer, error) {
	if opts.RowGroupRows < 0 {
		return nil, fmt.Errorf("parquetio: %s: negative RowGroupRows %d", path, opts.RowGroupRows)
	}
	if opts.RowGroupRows == 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		// Fail now, not at the rename after all the work.
		return nil, fmt.Errorf("parquetio: create %s: is a directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("parquetio: create %s: %w", path, err)
	}
	forget := cleanup.Register(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		forget()
		return nil, fmt.Errorf("parquetio: create %s: %w", path, err)
	}
	wopts := []parquet.WriterOption{
		parquet.MaxRowsPerRowGroup(int64(opts.RowGroupRows)),
		parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("w2st", "", ""),
	}
	for k, v := range opts.Metadata {
		wopts = append(wopts, parquet.KeyValueMetadata(k, v))
	}
	w, err := newGenericWriter(tmp, wopts)
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		forget()
		return nil, fmt.Errorf("parquetio: %s: %w", path, err)
	}
	return &Writer{path: path, tmp: tmp, w: w, forget: forget}, nil
}

func newGenericWriter(f *os.File, opts []parquet.WriterOption) (w *parquet.GenericWriter[data.Example], err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("creating parquet writer: %v", r)
		}
	}()
	return parquet.NewGenericWriter[data.Example](f, opts...), nil
}

// Path is the destination path.
func (w *Writer) Path() string { return w.path }

// Rows is the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Write appends rows.
func (w *Writer) Write(rows []data.Example) error {
	if w.done {
		return fmt.Errorf("parquetio: %s: write after Close", w.path)
	}
	if w.failed != nil {
		return w.failed
	}
	if _, err := w.w.Write(rows); err != nil {
		w.failed = fmt.Errorf("parquetio: write %s: %w", w.path, err)
		return w.failed
	}
	w.rows += int64(len(rows))
	return nil
}

// Close flushes the file, syncs it and renames it into place. After a write
// WriteEach writes n rows produced by next, in chunks of 8,192, so memory
// does not grow with n.
func (w *Writer) WriteEach(n int, next func() data.Example) error {
	chunk := make([]data.Example, 0, min(n, 8192))
	for i := 0; i < n; i++ {
		chunk = append(chunk, next())
		if len(chunk) == cap(chunk) || i == n-1 {
			if err := w.Write(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	return nil
}

// error Close removes the temporary file and returns the error.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.failed != nil {
		w.discard()
		return w.failed
	}
	if err := w.w.Close(); err != nil {
		w.discard()
		return fmt.Errorf("parquetio: finish %s: %w", w.path, err)
	}
	if err := w.tmp.Sync(); err != nil {
		w.discard()
		return fmt.Errorf("parquetio: sync %s: %w", w.path, err)
	}
	if err := w.tmp.Close(); err != nil {
		_ = os.Remove(w.tmp.Name())
		w.forget()
		return fmt.Errorf("parquetio: close %s: %w", w.path, err)
	}
	if err := os.Rename(w.tmp.Name(), w.path); err != nil {
		_ = os.Remove(w.tmp.Name())
		w.forget()
		return fmt.Errorf("parquetio: rename into %s: %w", w.path, err)
	}
	w.forget()
	return nil
}

// Abort abandons the write: the temporary file is removed and the destination
// is left untouched. Abort after Close does nothing.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.discard()
}

func (w *Writer) discard() {
	_ = w.tmp.Close()
	_ = os.Remove(w.tmp.Name())
	w.forget()
}

// WriteFile writes rows to path atomically.
func WriteFile(path string, rows []data.Example, opts WriterOptions) error {
	w, err := NewWriterOptions(path, opts)
	if err != nil {
		return err
	}
	if err := w.Write(rows); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// errClosed is returned by a Reader used after Close.
var errClosed = errors.New("parquetio: reader is closed")
