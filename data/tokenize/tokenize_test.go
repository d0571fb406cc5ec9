package tokenize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/synth"
	"github.com/w2st/w2st/data/tokenizer"
	"github.com/w2st/w2st/internal/shareddata"
)

// byteEncoder is a hand-checkable encoder: one id per byte.
type byteEncoder struct{ fail string }

func (e byteEncoder) EncodeBatch(texts []string, _ int) ([][]int32, error) {
	out := make([][]int32, len(texts))
	for i, s := range texts {
		if e.fail != "" && strings.Contains(s, e.fail) {
			return nil, fmt.Errorf("cannot encode %q", s)
		}
		for _, b := range []byte(s) {
			out[i] = append(out[i], int32(b))
		}
	}
	return out, nil
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	rows := []data.Example{{ID: "a", Text: "hi", Label: 1, Group: "F"}, {ID: "b", Text: "héllo", Synthetic: true}, {ID: "c", Text: "x"}}
	if err := parquetio.WriteFile(in, rows, parquetio.WriterOptions{RowGroupRows: 2}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.parquet")
	st, err := File(byteEncoder{}, []string{in}, out, Options{ChunkRows: 2, Metadata: map[string]string{"w2st.tokenizer": "bytes"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquetio.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []data.Example{
		{ID: "a", Text: "hi", Label: 1, Group: "F", InputIDs: []int32{'h', 'i'}, Length: 2},
		{ID: "b", Text: "héllo", Synthetic: true, InputIDs: []int32{'h', 0xc3, 0xa9, 'l', 'l', 'o'}, Length: 6},
		{ID: "c", Text: "x", InputIDs: []int32{'x'}, Length: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if st.Rows != 3 || st.Tokens != 9 || st.Histogram[6] != 1 {
		t.Fatalf("stats %+v", st)
	}
	info, _ := parquetio.Stat(out)
	if info.Metadata["w2st.tokenizer"] != "bytes" {
		t.Fatalf("metadata %v", info.Metadata)
	}
	// an encoder error names the rows and leaves nothing behind
	bad := filepath.Join(dir, "bad.parquet")
	_, err = File(byteEncoder{fail: "llo"}, []string{in}, bad, Options{ChunkRows: 2})
	if err == nil || !strings.Contains(err.Error(), `rows 0..1 (ids "a".."b")`) {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("failed tokenize left an output")
	}
}

// TestFileNeoX tokenizes census rows with the Pythia tokenizer and checks
// the ids against direct Encode calls.
func TestFileNeoX(t *testing.T) {
	tok, err := tokenizer.Load(shareddata.Require(t, "tokenizers/gpt-neox-20b-tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "c.parquet"), filepath.Join(dir, "t.parquet")
	rows := synth.Census(300, 1, 1)
	if err := parquetio.WriteFile(in, rows, parquetio.WriterOptions{RowGroupRows: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := File(tok, []string{in}, out, Options{ChunkRows: 64, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	got, err := parquetio.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		want, err := tok.Encode(rows[i].Text)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != rows[i].ID || !reflect.DeepEqual(r.InputIDs, want) || int(r.Length) != len(want) {
			t.Fatalf("row %d differs from Encode", i)
		}
	}
}

// BenchmarkReadTokenize streams a generated census file (W2ST_BENCH_ROWS,
// default 1,000,000 rows) and tokenizes every row with the Pythia tokenizer.
func BenchmarkReadTokenize(b *testing.B) {
	tok, err := tokenizer.Load(shareddata.Require(b, "tokenizers/gpt-neox-20b-tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	n := 1_000_000
	if s := os.Getenv("W2ST_BENCH_ROWS"); s != "" {
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "census.parquet")
	w, err := parquetio.NewWriter(in)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.WriteEach(n, synth.NewCensus(synth.DefaultBias, 1).Next); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := parquetio.Open([]string{in}, parquetio.Options{Columns: []string{"id", "text", "label"}})
		if err != nil {
			b.Fatal(err)
		}
		texts := make([]string, 0, 4096)
		rows := 0
		for {
			ex, err := r.Next()
			if err == nil {
				texts = append(texts, ex.Text)
				rows++
			}
			if len(texts) == cap(texts) || (err != nil && len(texts) > 0) {
				if _, err := tok.EncodeBatch(texts, 0); err != nil {
					b.Fatal(err)
				}
				texts = texts[:0]
			}
			if err != nil {
				break
			}
		}
		r.Close()
		if rows != n {
			b.Fatalf("%d rows", rows)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
