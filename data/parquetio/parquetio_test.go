package parquetio

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/w2st/w2st/data"
)

// sample returns n rows exercising every column.
func sample(n int) []data.Example {
	rows := make([]data.Example, n)
	for i := range rows {
		ex := data.Example{
			ID:    fmt.Sprintf("ex-%05d", i),
			Text:  fmt.Sprintf("row %d — ünïcode ✓", i),
			Label: int32(i % 3),
			Split: []string{"train", "test"}[i%2],
		}
		if i%2 == 0 {
			ex.Group = "Female"
			ex.SoftLabel = []float32{0.25, 0.5, 0.25}
		} else {
			ex.Group = "Male"
			ex.Domain = "shake_w"
			ex.Race = "White"
		}
		if i%5 != 0 {
			ex.InputIDs = []int32{int32(i), int32(i + 1), 50276}[:1+i%3]
			ex.Length = int32(len(ex.InputIDs))
		}
		ex.Synthetic = i%7 == 0
		rows[i] = ex
	}
	return rows
}

func writeSample(t *testing.T, dir, name string, rows []data.Example, rgRows int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := WriteFile(p, rows, WriterOptions{RowGroupRows: rgRows, Metadata: map[string]string{"w2st.test": "yes"}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, r *Reader) []data.Example {
	t.Helper()
	var out []data.Example
	for {
		ex, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ex)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n, rg  int
		groups int
	}{
		{"one row", 1, 0, 1},
		{"one group", 10, 0, 1},
		{"many groups", 23, 4, 6},
		{"exact groups", 12, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rows := sample(tc.n)
			p := writeSample(t, dir, "a.parquet", rows, tc.rg)
			got, err := ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, rows) {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, rows)
			}
			info, err := Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if info.NumRows != int64(tc.n) || info.RowGroups != tc.groups || info.Metadata["w2st.test"] != "yes" {
				t.Fatalf("Stat = %+v, want %d rows in %d groups with metadata", info, tc.n, tc.groups)
			}
			if !reflect.DeepEqual(info.Columns, ColumnNames()) {
				t.Fatalf("columns %v, want %v", info.Columns, ColumnNames())
			}
			// no temp files left behind
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Fatalf("directory holds %d entries, want 1", len(ents))
			}
		})
	}
}

func TestProjection(t *testing.T) {
	dir := t.TempDir()
	rows := sample(9)
	p := writeSample(t, dir, "a.parquet", rows, 4)
	for _, cols := range [][]string{{"label"}, {"label", "group"}, {"input_ids", "length", "id"}, {"soft_label", "race", "synthetic"}} {
		t.Run(strings.Join(cols, ","), func(t *testing.T) {
			r, err := Open([]string{p}, Options{Columns: cols})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := readAll(t, r)
			if len(got) != len(rows) {
				t.Fatalf("%d rows, want %d", len(got), len(rows))
			}
			for i := range rows {
				want := project(rows[i], cols)
				if !reflect.DeepEqual(got[i], want) {
					t.Fatalf("row %d = %+v, want %+v", i, got[i], want)
				}
			}
		})
	}
}

// project keeps only the named columns of ex (independently of the reader,
// through the struct tags).
func project(ex data.Example, cols []string) data.Example {
	var out data.Example
	src, dst := reflect.ValueOf(ex), reflect.ValueOf(&out).Elem()
	for i := 0; i < src.NumField(); i++ {
		name := strings.Split(src.Type().Field(i).Tag.Get("parquet"), ",")[0]
		for _, c := range cols {
			if c == name {
				dst.Field(i).Set(src.Field(i))
			}
		}
	}
	return out
}

func ids(rows []data.Example) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func TestShuffleDeterministicPermutation(t *testing.T) {
	dir := t.TempDir()
	rows := sample(200)
	p := writeSample(t, dir, "a.parquet", rows, 16)
	read := func(seed int64, buf int) []string {
		r, err := Open([]string{p}, Options{ShuffleBuffer: buf, Seed: seed, Columns: []string{"id"}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return ids(readAll(t, r))
	}
	want := ids(rows)
	a, b, c := read(1, 50), read(1, 50), read(2, 50)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different orders")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same order")
	}
	if reflect.DeepEqual(a, want) {
		t.Fatal("shuffled order equals file order")
	}
	for _, got := range [][]string{a, c, read(3, 1), read(4, 10000)} {
		s := append([]string(nil), got...)
		sort.Strings(s)
		if !reflect.DeepEqual(s, want) {
			t.Fatal("shuffle is not a permutation of the rows")
		}
	}
}

func TestShardsPartitionRowGroups(t *testing.T) {
	dir := t.TempDir()
	rowsA, rowsB := sample(10), sample(7)
	for i := range rowsB {
		rowsB[i].ID = "b-" + rowsB[i].ID
	}
	writeSample(t, dir, "a.parquet", rowsA, 3) // groups 0..3 (3,3,3,1)
	writeSample(t, dir, "b.parquet", rowsB, 3) // groups 4..6 (3,3,1)
	var union []string
	for shard := 0; shard < 3; shard++ {
		r, err := Open([]string{filepath.Join(dir, "*.parquet")}, Options{Shard: shard, NumShards: 3})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(readAll(t, r))
		if int64(len(got)) != r.NumRows() {
			t.Fatalf("shard %d: %d rows, NumRows %d", shard, len(got), r.NumRows())
		}
		r.Close()
		// hand-computed: global row groups g with g%3 == shard
		var want []string
		all := append(ids(rowsA), ids(rowsB)...)
		starts := []int{0, 3, 6, 9, 10, 13, 16, 17}
		for g := shard; g < 7; g += 3 {
			want = append(want, all[starts[g]:starts[g+1]]...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("shard %d = %v, want %v", shard, got, want)
		}
		union = append(union, got...)
	}
	if len(union) != 17 {
		t.Fatalf("shards cover %d rows, want 17", len(union))
	}
}

func TestMultipleFilesDirAndGlob(t *testing.T) {
	dir := t.TempDir()
	a := writeSample(t, dir, "a.parquet", sample(3), 0)
	b := writeSample(t, dir, "b.parquet", sample(4), 0)
	for _, tc := range []struct {
		name  string
		paths []string
		n     int
	}{
		{"files", []string{b, a}, 7},
		{"dir", []string{dir}, 7},
		{"glob", []string{filepath.Join(dir, "[ab].parquet")}, 7},
		{"duplicates collapse", []string{a, a}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadAll(tc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("%d rows, want %d", len(got), tc.n)
			}
		})
	}
}

type badLabel struct {
	ID    string `parquet:"id"`
	Text  string `parquet:"text"`
	Label string `parquet:"label"`
}

type noLabel struct {
	ID   string `parquet:"id"`
	Text string `parquet:"text"`
}

type badIDs struct {
	ID       string  `parquet:"id"`
	Text     string  `parquet:"text"`
	Label    int32   `parquet:"label"`
	InputIDs []int64 `parquet:"input_ids,list"`
}

func writeOther[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeSample(t, dir, "good.parquet", sample(50), 10)
	raw, _ := os.ReadFile(good)
	trunc := filepath.Join(dir, "trunc.parquet")
	os.WriteFile(trunc, raw[:len(raw)/2], 0o644)
	empty := filepath.Join(dir, "empty.parquet")
	os.WriteFile(empty, nil, 0o644)
	garbage := filepath.Join(dir, "garbage.parquet")
	os.WriteFile(garbage, []byte("id,text,label\n1,hi,0\n"), 0o644)
	mistyped := filepath.Join(dir, "mistyped.parquet")
	writeOther(t, mistyped, []badLabel{{"a", "x", "yes"}})
	missing := filepath.Join(dir, "missing.parquet")
	writeOther(t, missing, []noLabel{{"a", "x"}})
	badList := filepath.Join(dir, "badlist.parquet")
	writeOther(t, badList, []badIDs{{"a", "x", 0, []int64{1}}})
	utf := filepath.Join(dir, "utf.parquet")
	if err := WriteFile(utf, []data.Example{{ID: "ok", Text: "fine"}, {ID: "bad", Text: "caf\xe9"}}, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	lenMismatch := filepath.Join(dir, "len.parquet")
	if err := WriteFile(lenMismatch, []data.Example{{ID: "a", Text: "x", InputIDs: []int32{1, 2}, Length: 3}}, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		opts  Options
		want  []string // substrings of the error
	}{
		{"truncated", []string{trunc}, Options{}, []string{trunc, "truncated or corrupt"}},
		{"empty", []string{empty}, Options{}, []string{empty, "empty file"}},
		{"not parquet", []string{garbage}, Options{}, []string{garbage}},
		{"missing file", []string{filepath.Join(dir, "nope.parquet")}, Options{}, []string{"nope.parquet"}},
		{"glob without match", []string{filepath.Join(dir, "*.csv")}, Options{}, []string{"matches no files"}},
		{"mistyped label", []string{mistyped}, Options{}, []string{mistyped, `column "label"`, "want INT32"}},
		{"missing label", []string{missing}, Options{}, []string{missing, `missing required column "label"`}},
		{"missing label projected away is fine", []string{missing}, Options{Columns: []string{"id"}}, nil},
		{"mistyped list", []string{badList}, Options{}, []string{badList, `column "input_ids"`, "want list<INT32>"}},
		{"broken utf-8", []string{utf}, Options{}, []string{utf, "row 1", `"text"`, "invalid UTF-8"}},
		{"length mismatch", []string{lenMismatch}, Options{}, []string{lenMismatch, "row 0", "length 3 but 2 input_ids"}},
		{"unknown column", []string{good}, Options{Columns: []string{"txt"}}, []string{`unknown column "txt"`}},
		{"bad shard", []string{good}, Options{Shard: 2, NumShards: 2}, []string{"bad shard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				r, err := Open(tc.paths, tc.opts)
				if err != nil {
					return err
				}
				defer r.Close()
				for {
					if _, err := r.Next(); err == io.EOF {
						return nil
					} else if err != nil {
						return err
					}
				}
			}()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.parquet")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sample(5)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatal("destination changed before Close")
	}
	w.Abort()
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatal("Abort touched the destination")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("Abort left %d entries", len(ents))
	}
	if err := w.Write(sample(1)); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
	if err := WriteFile(p, sample(5), WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll(p)
	if err != nil || len(got) != 5 {
		t.Fatalf("ReadAll after rewrite: %d rows, %v", len(got), err)
	}
	if _, err := NewWriter(filepath.Join(dir, "no", "such", "dir.parquet")); err == nil {
		t.Fatal("NewWriter into a missing directory succeeded")
	}
	// a destination that is a directory fails at once, leaving nothing behind
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(sub); err == nil || !strings.Contains(err.Error(), sub+": is a directory") {
		t.Fatalf("NewWriter onto a directory: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("%d entries after refusing a directory, want 2", len(ents))
	}
}

// FuzzOpen feeds arbitrary bytes to the reader: it must return rows or an
// error, never panic.
func FuzzOpen(f *testing.F) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[data.Example](&buf, parquet.MaxRowsPerRowGroup(2))
	if _, err := w.Write(sample(5)); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)-9])
	f.Add(append([]byte("PAR1"), good[len(good)/2:]...))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "fuzz.parquet")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open([]string{p}, Options{})
		if err != nil {
			return
		}
		defer r.Close()
		for i := 0; i < 1000; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

// TestWriteEach writes more rows than one chunk (and an empty stream) and reads
// them back in order.
func TestWriteEach(t *testing.T) {
	for _, n := range []int{0, 1, 8192, 8193, 20000} {
		path := filepath.Join(t.TempDir(), "each.parquet")
		w, err := NewWriter(path)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		if err := w.WriteEach(n, func() data.Example {
			ex := data.Example{ID: strconv.Itoa(i), Text: "t", Label: int32(i % 2)}
			i++
			return ex
		}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			continue
		}
		rows, err := ReadAll(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Fatalf("n=%d: read %d rows", n, len(rows))
		}
		for k, r := range rows {
			if r.ID != strconv.Itoa(k) || r.Label != int32(k%2) {
				t.Fatalf("n=%d: row %d = %+v", n, k, r)
			}
		}
	}
}
