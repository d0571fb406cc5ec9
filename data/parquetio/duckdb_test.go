package parquetio

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/w2st/w2st/data"
)

// duckdbExpected is what scripts/data/duckdb_check.mjs's "write" mode
// writes, computed here from the same formulas.
func duckdbExpected() []data.Example {
	var rows []data.Example
	for i := 0; i < 50; i++ {
		ex := data.Example{
			ID:     fmt.Sprintf("duck-%03d", i),
			Text:   "DuckDB row " + strconv.Itoa(i) + " — ünïcode",
			Label:  int32(i % 2),
			Group:  map[bool]string{true: "Female", false: "Male"}[i%2 == 0],
			Split:  "train",
			Length: int32(1 + i%4),
		}
		if i%3 != 0 {
			ex.SoftLabel = []float32{0.25, 0.75}
		}
		for x := 0; x < 1+i%4; x++ {
			ex.InputIDs = append(ex.InputIDs, int32(x+i))
		}
		ex.Synthetic = i%5 == 0
		rows = append(rows, ex)
	}
	return rows
}

// TestDuckDBFixture reads the committed DuckDB-written file (make fixtures).
func TestDuckDBFixture(t *testing.T) {
	got, err := ReadAll(filepath.Join("testdata", "duckdb.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if want := duckdbExpected(); !reflect.DeepEqual(got, want) {
		t.Fatalf("DuckDB file read as\n%+v\nwant\n%+v", got, want)
	}
	// DuckDB wrote no "race" column: an absent optional column reads as zero
	info, err := Stat(filepath.Join("testdata", "duckdb.parquet"))
	if err != nil || len(info.Columns) != 10 {
		t.Fatalf("fixture columns %+v %v", info, err)
	}
}

// duckdbScript returns the check script, skipping when node or the npm
// package is missing (failing when $CI is set: .ci/deps.sh installs them).
func duckdbScript(t *testing.T) string {
	t.Helper()
	script, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "data", "duckdb_check.mjs"))
	pkg := filepath.Join(filepath.Dir(script), "node_modules", "@duckdb", "node-api")
	_, nodeErr := exec.LookPath("node")
	_, pkgErr := os.Stat(pkg)
	if nodeErr != nil || pkgErr != nil {
		msg := fmt.Sprintf("DuckDB check needs node and %s (cd scripts/data && npm ci): node: %v, package: %v", pkg, nodeErr, pkgErr)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return script
}

// TestDuckDB opens our files in DuckDB and DuckDB's in ours.
func TestDuckDB(t *testing.T) {
	script := duckdbScript(t)
	dir := t.TempDir()
	rows := sample(1000)
	p := writeSample(t, dir, "ours.parquet", rows, 128)
	out, err := exec.Command("node", script, "read", p).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb read: %v\n%s", err, out)
	}
	var got struct {
		Columns       map[string]string `json:"columns"`
		Rows          string            `json:"rows"`
		DistinctIDs   string            `json:"distinct_ids"`
		LabelSum      string            `json:"label_sum"`
		TextChars     string            `json:"text_chars"`
		IDsCount      string            `json:"input_ids_count"`
		IDsSum        string            `json:"input_ids_sum"`
		LengthSum     string            `json:"length_sum"`
		SoftSum       float64           `json:"soft_label_sum"`
		Groups        string            `json:"groups_non_null"`
		SyntheticRows string            `json:"synthetic_rows"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wantCols := map[string]string{"id": "VARCHAR", "text": "VARCHAR", "label": "INTEGER", "soft_label": "FLOAT[]",
		"group": "VARCHAR", "domain": "VARCHAR", "split": "VARCHAR", "input_ids": "INTEGER[]", "length": "INTEGER",
		"synthetic": "BOOLEAN", "race": "VARCHAR"}
	if !reflect.DeepEqual(got.Columns, wantCols) {
		t.Fatalf("DuckDB sees columns %v, want %v", got.Columns, wantCols)
	}
	var labels, chars, nIDs, sumIDs, lengths, groups, synth int64
	var soft float64
	for _, r := range rows {
		labels += int64(r.Label)
		chars += int64(utf8.RuneCountInString(r.Text))
		nIDs += int64(len(r.InputIDs))
		for _, id := range r.InputIDs {
			sumIDs += int64(id)
		}
		lengths += int64(r.Length)
		for _, s := range r.SoftLabel {
			soft += float64(s)
		}
		if r.Group != "" {
			groups++
		}
		if r.Synthetic {
			synth++
		}
	}
	n := strconv.Itoa(len(rows))
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"rows", got.Rows, n}, {"distinct ids", got.DistinctIDs, n}, {"label sum", got.LabelSum, strconv.FormatInt(labels, 10)},
		{"text chars", got.TextChars, strconv.FormatInt(chars, 10)}, {"input_ids count", got.IDsCount, strconv.FormatInt(nIDs, 10)},
		{"input_ids sum", got.IDsSum, strconv.FormatInt(sumIDs, 10)}, {"length sum", got.LengthSum, strconv.FormatInt(lengths, 10)},
		{"non-null groups", got.Groups, strconv.FormatInt(groups, 10)}, {"synthetic rows", got.SyntheticRows, strconv.FormatInt(synth, 10)},
	} {
		if c.got != c.want {
			t.Errorf("DuckDB %s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if d := got.SoftSum - soft; d > 1e-3 || d < -1e-3 {
		t.Errorf("DuckDB soft_label sum %v, want %v", got.SoftSum, soft)
	}

	theirs := filepath.Join(dir, "duck.parquet")
	if out, err := exec.Command("node", script, "write", theirs).CombinedOutput(); err != nil {
		t.Fatalf("duckdb write: %v\n%s", err, out)
	}
	back, err := ReadAll(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, duckdbExpected()) {
		t.Fatalf("DuckDB-written file read as %+v", back[:2])
	}
}
