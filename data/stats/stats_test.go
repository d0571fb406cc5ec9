package stats

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/batching"
	"github.com/w2st/w2st/data/parquetio"
)

func tokRow(id string, label int32, group string, n int) data.Example {
	ids := make([]int32, n)
	return data.Example{ID: id, Text: id, Label: label, Group: group, Split: "train", InputIDs: ids, Length: int32(n)}
}

func TestCompute(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.parquet")
	// lengths 1×10, 2×10, 100×1 (hand-computed plan for 2 buckets: {2, 100})
	var rows []data.Example
	for i := 0; i < 10; i++ {
		rows = append(rows, tokRow("a"+string(rune('0'+i)), 0, "F", 1), tokRow("b"+string(rune('0'+i)), 1, "M", 2))
	}
	rows = append(rows, tokRow("c", 1, "M", 100))
	rows[0].Synthetic = true
	if err := parquetio.WriteFile(p, rows, parquetio.WriterOptions{RowGroupRows: 7}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		opts      Options
		bounds    []int
		eff       float64
		batchEff  float64
		truncated int64
	}{
		// real 130 tokens; padded 10*2+10*2+100 = 140
		{"planned", Options{MaxBuckets: 2, BatchSize: 4}, []int{2, 100}, 130.0 / 140, 130.0 / (5*4*2 + 1*4*100), 0},
		{"fixed", Options{Buckets: []int{1, 2, 128}, BatchSize: 10}, []int{1, 2, 128}, 130.0 / (10 + 20 + 128), 130.0 / (10 + 20 + 10*128), 0},
		{"max len", Options{MaxBuckets: 1, MaxLen: 8, BatchSize: 21}, []int{8}, 38.0 / (21 * 8), 38.0 / (21 * 8), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Compute([]string{p}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != 21 || rep.Synthetic != 1 || !rep.Tokenized ||
				!reflect.DeepEqual(rep.Labels, map[string]int64{"0": 10, "1": 11}) ||
				!reflect.DeepEqual(rep.Groups, map[string]int64{"F": 10, "M": 11}) {
				t.Fatalf("report %+v", rep)
			}
			if rep.Truncated != tc.truncated {
				t.Fatalf("truncated %d, want %d", rep.Truncated, tc.truncated)
			}
			if !reflect.DeepEqual(rep.Plan.Bounds, tc.bounds) {
				t.Fatalf("bounds %v, want %v", rep.Plan.Bounds, tc.bounds)
			}
			if d := rep.Plan.Efficiency() - tc.eff; d > 1e-12 || d < -1e-12 {
				t.Fatalf("efficiency %v, want %v", rep.Plan.Efficiency(), tc.eff)
			}
			if d := rep.Plan.BatchEfficiency(rep.BatchSize) - tc.batchEff; d > 1e-12 || d < -1e-12 {
				t.Fatalf("batch efficiency %v, want %v", rep.Plan.BatchEfficiency(rep.BatchSize), tc.batchEff)
			}
			var buf bytes.Buffer
			rep.Write(&buf)
			for _, s := range []string{"rows:       21", "synthetic:  1 rows", "length histogram:", "bucket plan", "padding efficiency:"} {
				if !strings.Contains(buf.String(), s) {
					t.Fatalf("output lacks %q:\n%s", s, buf.String())
				}
			}
		})
	}
	// untokenized files have no plan
	u := filepath.Join(dir, "u.parquet")
	if err := parquetio.WriteFile(u, []data.Example{{ID: "x", Text: "y"}}, parquetio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := Compute([]string{u}, Options{})
	if err != nil || rep.Tokenized {
		t.Fatalf("%+v %v", rep, err)
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	if !strings.Contains(buf.String(), "not tokenized") {
		t.Fatal(buf.String())
	}
	// a tokenized file with an empty-text row is not called "not tokenized"
	e := filepath.Join(dir, "e.parquet")
	if err := parquetio.WriteFile(e, []data.Example{{ID: "a", Text: "hi there", InputIDs: []int32{5, 6}, Length: 2}, {ID: "b", Text: ""}}, parquetio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err = Compute([]string{e}, Options{})
	if err != nil || rep.Tokenized || rep.EmptyRows != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	buf.Reset()
	rep.Write(&buf)
	if !strings.Contains(buf.String(), "1 of 2 rows have no tokens") || strings.Contains(buf.String(), "not tokenized (run") {
		t.Fatal(buf.String())
	}
	if _, err := Compute([]string{u}, Options{BatchSize: -1}); err == nil {
		t.Fatal("bad options accepted")
	}
}

func TestHistogramBins(t *testing.T) {
	var h batching.Histogram
	for _, l := range []int{3, 3, 4, 10, 12} {
		h.Add(l)
	}
	lo, hi, rows := HistogramBins(h, 3) // range 3..12, width (12-3+3)/3 = 4: [3,6] [7,10] [11,12]
	if !reflect.DeepEqual(lo, []int{3, 7, 11}) || !reflect.DeepEqual(hi, []int{6, 10, 12}) || !reflect.DeepEqual(rows, []int64{3, 1, 1}) {
		t.Fatalf("bins %v %v %v", lo, hi, rows)
	}
	if lo, _, _ := HistogramBins(nil, 3); lo != nil {
		t.Fatal("empty histogram gave bins")
	}
	if got := Balance(map[string]int64{"": 1, "b": 3}); !reflect.DeepEqual(got, []string{
		"(none)                           1   25.0%", "b                                3   75.0%"}) {
		t.Fatalf("%q", got)
	}
}
