package parquetio

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/w2st/w2st/data"
)

// Options configures a Reader.
type Options struct {
	// Columns lists the columns to read (Parquet names: "id", "text",
	// "label", "soft_label", "group", "domain", "split", "input_ids",
	// "length", "synthetic", "race"); the other fields of each Example stay
	// zero and their pages are never read. Nil reads every column.
	// Requested columns "id", "text" and "label" must be present in every
	// file; the optional ones may be absent (zero values).
	Columns []string
	// ShuffleBuffer, when > 0, shuffles rows with a buffer of that many rows
	// (and the order of row groups), seeded by Seed. Memory grows with the
	// buffer, not with the data.
	ShuffleBuffer int
	Seed          int64
	// Shard and NumShards select row groups i (counted over all files in
	// order) with i % NumShards == Shard, for parallel readers. NumShards 0
	// or 1 reads everything.
	Shard, NumShards int
}

// Reader streams data.Example rows from one or more Parquet files, one row
// group at a time. It is not safe for concurrent use.
type Reader struct {
	opts   Options
	units  []unit
	files  map[string]*fileInfo
	next   int // next unit to open
	rows   int64
	closed bool

	// current row group
	curFile *os.File
	curPath string
	curPF   *parquet.File
	rg      *parquet.GenericReader[data.Example]
	unit    unit
	buf     []data.Example
	bufPos  int
	bufN    int
	rowBase int64 // file row index of buf[0]

	rng     *rand.Rand
	shuffle []data.Example
	srcDone bool
}

// unit is one row group of one file.
type unit struct {
	path     string
	index    int   // row group index within the file
	firstRow int64 // file row index of its first row
	rows     int64
}

type fileInfo struct {
	schema *parquet.Schema // projection to read with
	hasIDs bool            // both input_ids and length are read
}

// Info describes a Parquet file without reading its rows.
type Info struct {
	Path      string
	NumRows   int64
	RowGroups int
	Columns   []string          // top-level column names in file order
	Metadata  map[string]string // footer key/value metadata
}

// colSpec is the expected physical shape of one Example column.
type colSpec struct {
	node     parquet.Node
	kind     parquet.Kind
	list     bool
	required bool // must be present when requested
}

var exampleSchema = parquet.SchemaOf(data.Example{})

var allColumns = func() []string {
	var names []string
	for _, f := range parquet.SchemaOf(data.Example{}).Fields() {
		names = append(names, f.Name())
	}
	return names
}()

func exampleColumns() map[string]colSpec {
	specs := map[string]colSpec{}
	for _, f := range parquet.SchemaOf(data.Example{}).Fields() {
		s := colSpec{node: f, required: f.Required()}
		n := parquet.Node(f)
		for !n.Leaf() {
			s.list = true
			n = n.Fields()[0]
		}
		s.kind = n.Type().Kind()
		specs[f.Name()] = s
	}
	return specs
}

// ColumnNames lists the Example columns in schema order.
func ColumnNames() []string { return append([]string(nil), allColumns...) }

// ExpandPaths turns file names, directories (all *.parquet inside) and glob
// patterns into a list of files. A pattern that matches nothing is an error.
func ExpandPaths(patterns []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("parquetio: bad glob %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("parquetio: %q matches no files", p)
			}
			sort.Strings(m)
			for _, f := range m {
				add(f)
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("parquetio: %w", err)
		}
		if st.IsDir() {
			m, _ := filepath.Glob(filepath.Join(p, "*.parquet"))
			if len(m) == 0 {
				return nil, fmt.Errorf("parquetio: directory %s holds no .parquet files", p)
			}
			sort.Strings(m)
			for _, f := range m {
				add(f)
			}
			continue
		}
		add(p)
	}
	if len(out) == 0 {
		return nil, errors.New("parquetio: no input files")
	}
	return out, nil
}

// openParquet opens path and its footer; the caller closes the *os.File.
func openParquet(path string) (f *os.File, pf *parquet.File, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("parquetio: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("parquetio: %s: %w", path, err)
	}
	if st.Size() == 0 {
		_ = f.Close()
		return nil, nil, fmt.Errorf("parquetio: %s: empty file (not Parquet)", path)
	}
	if err := checkFooter(f, st.Size()); err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("parquetio: %s: not a readable Parquet file (truncated or corrupt?): %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			_ = f.Close()
			f, pf, err = nil, nil, fmt.Errorf("parquetio: %s: corrupt Parquet file: %v", path, r)
		}
	}()
	pf, err = parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("parquetio: %s: not a readable Parquet file (truncated or corrupt?): %w", path, err)
	}
	return f, pf, nil
}

// Stat describes the Parquet file at path.
func Stat(path string) (Info, error) {
	f, pf, err := openParquet(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	info := Info{Path: path, NumRows: pf.NumRows(), RowGroups: len(pf.RowGroups()), Metadata: map[string]string{}}
	for _, c := range pf.Schema().Fields() {
		info.Columns = append(info.Columns, c.Name())
	}
	for _, kv := range pf.Metadata().KeyValueMetadata {
		info.Metadata[kv.Key] = kv.Value
	}
	return info, nil
}

// projection checks the file's schema against the requested columns and
// returns the schema to read it with.
func projection(path string, pf *parquet.File, cols []string) (*fileInfo, error) {
	specs := exampleColumns()
	fileCols := map[string]parquet.Field{}
	for _, f := range pf.Schema().Fields() {
		fileCols[f.Name()] = f
	}
	g := parquet.Group{}
	for _, name := range cols {
		spec := specs[name]
		fc, ok := fileCols[name]
		if !ok {
			if spec.required {
				return nil, fmt.Errorf("parquetio: %s: missing required column %q (columns: %s)", path, name, strings.Join(sortedKeys(fileCols), ", "))
			}
			continue
		}
		if err := checkColumn(fc, spec); err != nil {
			return nil, fmt.Errorf("parquetio: %s: column %q: %w", path, name, err)
		}
		g[name] = spec.node
	}
	_, hasIDs := g["input_ids"]
	_, hasLen := g["length"]
	fi := &fileInfo{schema: parquet.NewSchema("Example", g), hasIDs: hasIDs && hasLen}
	if len(g) == len(fileCols) && parquet.EqualNodes(pf.Schema(), exampleSchema) {
		// every column of a file in our own layout: read without conversion
		// (a Group schema orders fields by name, which would force one)
		fi.schema = exampleSchema
	}
	return fi, nil
}

func checkColumn(fc parquet.Field, spec colSpec) (err error) {
	defer func() {
		if r := recover(); r != nil { // parquet-go panics on some malformed types
			err = fmt.Errorf("unsupported column type (%v), want %s", r, describe(spec))
		}
	}()
	n := parquet.Node(fc)
	list := false
	for !n.Leaf() {
		if len(n.Fields()) != 1 {
			return fmt.Errorf("is a group of %d fields, want %s", len(n.Fields()), describe(spec))
		}
		list = true
		n = n.Fields()[0]
	}
	if fc.Leaf() && fc.Repeated() {
		return fmt.Errorf("is a legacy repeated %s, want %s", n.Type(), describe(spec))
	}
	if list != spec.list || n.Type().Kind() != spec.kind {
		got := n.Type().String()
		if list {
			got = "list<" + got + ">"
		}
		return fmt.Errorf("has type %s, want %s", got, describe(spec))
	}
	return nil
}

func describe(s colSpec) string {
	k := s.kind.String()
	if s.list {
		return "list<" + k + ">"
	}
	return k
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Open opens the files named by paths (files, directories, globs) for
// streaming. Schemas are checked up front; rows are read lazily.
func Open(paths []string, opts Options) (*Reader, error) {
	if opts.NumShards < 0 || opts.Shard < 0 || (opts.NumShards > 0 && opts.Shard >= opts.NumShards) || (opts.NumShards == 0 && opts.Shard != 0) {
		return nil, fmt.Errorf("parquetio: bad shard %d of %d", opts.Shard, opts.NumShards)
	}
	if opts.ShuffleBuffer < 0 {
		return nil, fmt.Errorf("parquetio: negative shuffle buffer %d", opts.ShuffleBuffer)
	}
	cols := opts.Columns
	if cols == nil {
		cols = allColumns
	}
	known := exampleColumns()
	seen := map[string]bool{}
	for _, c := range cols {
		if _, ok := known[c]; !ok {
			return nil, fmt.Errorf("parquetio: unknown column %q (known: %s)", c, strings.Join(allColumns, ", "))
		}
		if seen[c] {
			return nil, fmt.Errorf("parquetio: column %q requested twice", c)
		}
		seen[c] = true
	}
	files, err := ExpandPaths(paths)
	if err != nil {
		return nil, err
	}
	r := &Reader{opts: opts, files: map[string]*fileInfo{}}
	var all []unit
	for _, p := range files {
		f, pf, err := openParquet(p)
		if err != nil {
			return nil, err
		}
		fi, err := projection(p, pf, cols)
		if err == nil {
			var first int64
			for i, rg := range pf.RowGroups() {
				all = append(all, unit{path: p, index: i, firstRow: first, rows: rg.NumRows()})
				first += rg.NumRows()
			}
		}
		_ = f.Close()
		if err != nil {
			return nil, err
		}
		r.files[p] = fi
	}
	for i, u := range all {
		if opts.NumShards > 1 && i%opts.NumShards != opts.Shard {
			continue
		}
		r.units = append(r.units, u)
		r.rows += u.rows
	}
	if opts.ShuffleBuffer > 0 {
		r.rng = rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed_0f_5407))
		r.rng.Shuffle(len(r.units), func(i, j int) { r.units[i], r.units[j] = r.units[j], r.units[i] })
		r.shuffle = make([]data.Example, 0, min(opts.ShuffleBuffer, int(min(r.rows, 1<<20))))
	}
	return r, nil
}

// NumRows is the number of rows this reader yields (its shard's rows).
func (r *Reader) NumRows() int64 { return r.rows }

// Next returns the next row, or io.EOF after the last one.
func (r *Reader) Next() (data.Example, error) {
	if r.closed {
		return data.Example{}, errClosed
	}
	if r.opts.ShuffleBuffer <= 0 {
		return r.pull()
	}
	for !r.srcDone && len(r.shuffle) < r.opts.ShuffleBuffer {
		ex, err := r.pull()
		if err == io.EOF {
			r.srcDone = true
			break
		}
		if err != nil {
			return data.Example{}, err
		}
		r.shuffle = append(r.shuffle, ex)
	}
	n := len(r.shuffle)
	if n == 0 {
		return data.Example{}, io.EOF
	}
	i := r.rng.IntN(n)
	ex := r.shuffle[i]
	r.shuffle[i] = r.shuffle[n-1]
	r.shuffle[n-1] = data.Example{}
	r.shuffle = r.shuffle[:n-1]
	return ex, nil
}

const readChunk = 256

// pull returns the next row in file order.
func (r *Reader) pull() (data.Example, error) {
	for r.bufPos >= r.bufN {
		if err := r.fill(); err != nil {
			return data.Example{}, err
		}
	}
	ex := r.buf[r.bufPos]
	row := r.rowBase + int64(r.bufPos)
	r.buf[r.bufPos] = data.Example{}
	r.bufPos++
	if err := r.check(&ex, row); err != nil {
		return data.Example{}, err
	}
	return ex, nil
}

func (r *Reader) check(ex *data.Example, row int64) error {
	for _, f := range []struct {
		name, v string
	}{{"id", ex.ID}, {"text", ex.Text}, {"group", ex.Group}, {"domain", ex.Domain}, {"split", ex.Split}, {"race", ex.Race}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("parquetio: %s: row %d: column %q: invalid UTF-8", r.curPath, row, f.name)
		}
	}
	if len(ex.SoftLabel) == 0 {
		ex.SoftLabel = nil
	}
	if len(ex.InputIDs) == 0 {
		ex.InputIDs = nil
	}
	if r.files[r.curPath].hasIDs && int(ex.Length) != len(ex.InputIDs) {
		return fmt.Errorf("parquetio: %s: row %d (id %q): length %d but %d input_ids", r.curPath, row, ex.ID, ex.Length, len(ex.InputIDs))
	}
	return nil
}

// fill reads the next chunk, moving to the next row group when needed.
func (r *Reader) fill() (err error) {
	if r.rg == nil {
		if r.next >= len(r.units) {
			return io.EOF
		}
		if err := r.openUnit(r.units[r.next]); err != nil {
			return err
		}
		r.next++
	}
	if r.buf == nil {
		r.buf = make([]data.Example, readChunk)
	}
	r.rowBase += int64(r.bufN)
	r.bufPos, r.bufN = 0, 0
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquetio: %s: row group %d: corrupt data: %v", r.curPath, r.unit.index, p)
		}
	}()
	n, rerr := r.rg.Read(r.buf)
	r.bufN = n
	if rerr != nil && rerr != io.EOF {
		return fmt.Errorf("parquetio: %s: row group %d: %w", r.curPath, r.unit.index, rerr)
	}
	if rerr == io.EOF || n == 0 {
		got := r.rowBase + int64(n) - r.unit.firstRow
		_ = r.rg.Close()
		r.rg = nil
		if got != r.unit.rows {
			return fmt.Errorf("parquetio: %s: row group %d: read %d rows, footer says %d", r.curPath, r.unit.index, got, r.unit.rows)
		}
	}
	return nil
}

func (r *Reader) openUnit(u unit) (err error) {
	if u.path != r.curPath {
		r.closeFile()
		f, pf, err := openParquet(u.path)
		if err != nil {
			return err
		}
		r.curFile, r.curPF, r.curPath = f, pf, u.path
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquetio: %s: row group %d: %v", u.path, u.index, p)
		}
	}()
	rgs := r.curPF.RowGroups()
	if u.index >= len(rgs) {
		return fmt.Errorf("parquetio: %s: row group %d vanished (file changed while reading?)", u.path, u.index)
	}
	r.rg = parquet.NewGenericRowGroupReader[data.Example](rgs[u.index], r.files[u.path].schema)
	r.unit = u
	r.rowBase, r.bufPos, r.bufN = u.firstRow, 0, 0
	return nil
}

func (r *Reader) closeFile() {
	if r.rg != nil {
		_ = r.rg.Close()
		r.rg = nil
	}
	if r.curFile != nil {
		_ = r.curFile.Close()
		r.curFile, r.curPF, r.curPath = nil, nil, ""
	}
}

// Close releases the open file.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.closeFile()
	r.shuffle, r.buf = nil, nil
	return nil
}

// ReadAll reads every row of the files named by paths (files, directories,
// globs) into memory, in file order. Use Open for large data.
func ReadAll(paths ...string) ([]data.Example, error) {
	r, err := Open(paths, Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]data.Example, 0, min(r.NumRows(), 1<<20)) // the footer's count is not trusted
	for {
		ex, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ex)
	}
}
