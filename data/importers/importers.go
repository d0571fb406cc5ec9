// Package importers converts the paper's public data sets (and generic CSV or
// JSONL files) into w2st's Parquet schema (data.Example). Each importer reads
// its source's original format, reports malformed input as file:line, and
// Import writes the Parquet file and a summary JSON (row counts, label, group,
// domain and split histograms, input sha256) beside it, both atomically.
package importers

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/internal/cleanup"
)

// MaxLineBytes bounds one line of a text input (CSV, TSV, JSONL, Adult).
const MaxLineBytes = 16 << 20

// MaxJSONBytes bounds a whole-document JSON input (style.json, dev.json,
// name2email.json), which is read into memory.
const MaxJSONBytes = 1 << 30

// Emit receives each imported row.
type Emit func(data.Example) error

// Options are the importer settings; each source uses the ones it documents.
type Options struct {
	Task string `json:"task,omitempty"` // advglue, advglue-plus-plus: GLUE task (default sst2)
	Seed int64  `json:"seed,omitempty"` // enron-canaries: seed of the random labels

	// csv, jsonl: column names (TextCol default "text", LabelCol "label";
	// the others optional) and the CSV delimiter (default ',').
	TextCol   string `json:"text_col,omitempty"`
	LabelCol  string `json:"label_col,omitempty"`
	GroupCol  string `json:"group_col,omitempty"`
	DomainCol string `json:"domain_col,omitempty"`
	IDCol     string `json:"id_col,omitempty"`
	SplitCol  string `json:"split_col,omitempty"`
	Delimiter string `json:"delimiter,omitempty"`
	Split     string `json:"split,omitempty"` // csv, jsonl: split of every row (when no SplitCol)
}

// relevant keeps the options source uses, so summaries record only those.
func (o Options) relevant(source string) Options {
	switch source {
	case "advglue", "advglue-plus-plus":
		return Options{Task: o.Task}
	case "enron-canaries":
		return Options{Seed: o.Seed}
	case "csv", "jsonl":
		o.Task, o.Seed = "", 0
		if source == "jsonl" {
			o.Delimiter = ""
		}
		return o
	}
	return Options{}
}

// Result is what an importer reports besides its rows.
type Result struct {
	Inputs []string         // files read
	Extra  map[string]int64 // source-specific counts (e.g. adult rows_with_missing)
}

// Source is one importer.
type Source struct {
	Name    string
	Summary string
	Run     func(in string, opts Options, emit Emit) (Result, error)
}

// Sources lists the importers.
func Sources() []Source {
	return []Source{
		{"adult", "UCI Adult adult.data/adult.test (or their folder) -> Adult prompts, label >50K, group = sex", importAdult},
		{"sst2", "GLUE SST-2 train.tsv/dev.tsv (or their folder)", importSST2},
		{"decodingtrust-ood", "DecodingTrust OOD style.json: dev sets, domain = style", importStyle},
		{"advglue", "AdvGLUE dev.json (--task, default sst2)", importAdvGLUE},
		{"advglue-plus-plus", "AdvGLUE++ alpaca.json/vicuna.json/... (a file or folder; --task)", importAdvGLUEPP},
		{"enron-canaries", "DecodingTrust name2email.json -> PII canary sentences with seeded random labels", importEnron},
		{"csv", "generic CSV with a header (--text-col --label-col --group-col --domain-col)", importCSV},
		{"jsonl", "generic JSON lines (--text-col --label-col --group-col --domain-col)", importJSONL},
	}
}

// Lookup finds a source by name.
func Lookup(name string) (Source, error) {
	var names []string
	for _, s := range Sources() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Source{}, fmt.Errorf("unknown source %q (sources: %s)", name, strings.Join(names, ", "))
}

// InputFile identifies one input.
type InputFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Summary describes one import; it is written beside the output as JSON.
type Summary struct {
	Source    string            `json:"source"`
	Output    string            `json:"output"`
	Rows      int64             `json:"rows"`
	Labels    map[string]int64  `json:"labels"`
	Groups    map[string]int64  `json:"groups"`
	Domains   map[string]int64  `json:"domains"`
	Splits    map[string]int64  `json:"splits"`
	Synthetic bool              `json:"synthetic"`
	Extra     map[string]int64  `json:"extra,omitempty"`
	Inputs    []InputFile       `json:"inputs"`
	Options   Options           `json:"options"`
	Params    map[string]string `json:"params,omitempty"` // generator settings (w2st data synth)
}

// NewSummary starts a summary.
func NewSummary(source, output string) *Summary {
	return &Summary{Source: source, Output: output, Labels: map[string]int64{}, Groups: map[string]int64{},
		Domains: map[string]int64{}, Splits: map[string]int64{}}
}

// Count adds one row to the histograms.
func (s *Summary) Count(ex *data.Example) {
	s.Rows++
	s.Labels[strconv.Itoa(int(ex.Label))]++
	s.Groups[ex.Group]++
	s.Domains[ex.Domain]++
	s.Splits[ex.Split]++
	if ex.Synthetic {
		s.Synthetic = true
	}
}

// SummaryPath is where the summary of output goes: x.parquet -> x.summary.json.
func SummaryPath(output string) string {
	return strings.TrimSuffix(output, filepath.Ext(output)) + ".summary.json"
}

// WriteSummary writes s as indented JSON to path atomically.
func WriteSummary(path string, s *Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// WriteFileAtomic writes b to a temporary file beside path and renames it.
func WriteFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer cleanup.Register(f.Name())()
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// HashFile returns the size and sha256 of a file.
func HashFile(path string) (InputFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return InputFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return InputFile{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return InputFile{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Import runs source on in and writes out (Parquet) and its summary JSON.
// Nothing is left at either path when it fails.
func Import(source, in, out string, opts Options) (*Summary, error) {
	src, err := Lookup(source)
	if err != nil {
		return nil, err
	}
	w, err := parquetio.NewWriterOptions(out, parquetio.WriterOptions{Metadata: map[string]string{"w2st.source": source}})
	if err != nil {
		return nil, err
	}
	sum := NewSummary(source, out)
	sum.Options = opts.relevant(source)
	ids := map[string]struct{}{}
	batch := make([]data.Example, 0, 1024)
	flush := func() error {
		err := w.Write(batch)
		batch = batch[:0]
		return err
	}
	res, err := src.Run(in, opts, func(ex data.Example) error {
		if _, dup := ids[ex.ID]; dup {
			return fmt.Errorf("duplicate id %q", ex.ID)
		}
		ids[ex.ID] = struct{}{}
		sum.Count(&ex)
		batch = append(batch, ex)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && sum.Rows == 0 {
		err = fmt.Errorf("%s: no rows", in)
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("import %s: %w", source, err)
	}
	sum.Extra = res.Extra
	for _, p := range res.Inputs {
		fi, err := HashFile(p)
		if err != nil {
			w.Abort()
			return nil, err
		}
		sum.Inputs = append(sum.Inputs, fi)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := WriteSummary(SummaryPath(out), sum); err != nil {
		_ = os.Remove(out)
		return nil, err
	}
	return sum, nil
}

// lineReader reads lines with a length limit and counts them.
type lineReader struct {
	path string
	sc   *bufio.Scanner
	line int
}

func newLineReader(path string, r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes)
	return &lineReader{path: path, sc: sc}
}

// next returns the next line without its newline (and a trailing \r), and
// the first line without a leading UTF-8 byte order mark.
func (l *lineReader) next() (string, bool, error) {
	if !l.sc.Scan() {
		if err := l.sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return "", false, fmt.Errorf("%s:%d: line longer than %d bytes", l.path, l.line+1, MaxLineBytes)
			}
			return "", false, fmt.Errorf("%s:%d: %w", l.path, l.line+1, err)
		}
		return "", false, nil
	}
	l.line++
	line := strings.TrimSuffix(l.sc.Text(), "\r")
	if l.line == 1 {
		// A UTF-8 byte order mark (as Windows editors write) is not data.
		line = strings.TrimPrefix(line, "\ufeff")
	}
	return line, true, nil
}

func (l *lineReader) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", l.path, l.line, fmt.Sprintf(format, a...))
}

// checkUTF8 validates the string fields of ex.
func checkUTF8(ex *data.Example) error {
	for _, f := range []struct{ name, v string }{{"id", ex.ID}, {"text", ex.Text}, {"group", ex.Group}, {"domain", ex.Domain}, {"split", ex.Split}, {"race", ex.Race}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("field %s: invalid UTF-8", f.name)
		}
	}
	return nil
}

// parseLabel parses an integer class label.
func parseLabel(s string) (int32, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(s, 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("label %s is out of range", s)
	}
	if err != nil {
		return 0, fmt.Errorf("label %q is not an integer", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("label %d is negative", v)
	}
	return int32(v), nil
}

// readSmall reads a whole file with a size limit.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than the %d-byte limit", path, limit)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	return b, nil
}

// openText opens a text input and rejects empty files.
func openText(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if st.IsDir() {
		_ = f.Close()
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if st.Size() == 0 {
		_ = f.Close()
		return nil, fmt.Errorf("%s: empty file", path)
	}
	return f, nil
}

// filesIn resolves in: a file is itself; a folder gives the names that exist
// in it from want (at least one).
func filesIn(in string, want ...string) ([]string, error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{in}, nil
	}
	var out []string
	for _, w := range want {
		p := filepath.Join(in, w)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds none of %s", in, strings.Join(want, ", "))
	}
	return out, nil
}
