package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"

	"github.com/w2st/w2st/data/importers"
	"github.com/w2st/w2st/data/parquetio"
)

func TestDataCommands(t *testing.T) {
	dir := t.TempDir()
	census := filepath.Join(dir, "census.parquet")
	badCSV := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badCSV, []byte("text,label\nfine,1\nbad,yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goodCSV := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(goodCSV, []byte("text,label,sex\nfine,1,F\nok,0,M\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                 string
		args                 []string
		code                 int
		stdoutHas, stderrHas []string
	}{
		{"synth census", []string{"data", "synth", "census", "--n", "300", "--bias", "1", "--seed", "4", "--out", census}, 0,
			[]string{"synth-census: 300 rows", "Female", "Male", "synthetic: true"}, nil},
		{"stats untokenized", []string{"data", "stats", census}, 0, []string{"rows:       300", "synthetic:  300 rows", "not tokenized"}, nil},
		{"import csv", []string{"data", "import", "csv", "--in", goodCSV, "--out", filepath.Join(dir, "good.parquet"), "--group-col", "sex"}, 0,
			[]string{"csv: 2 rows", "sha256", "F ", "M "}, nil},
		{"import bad csv", []string{"data", "import", "csv", "--in", badCSV, "--out", filepath.Join(dir, "bad.parquet")}, 1,
			nil, []string{badCSV + ":3:", `label "yes" is not an integer`}},
		{"unknown source", []string{"data", "import", "nope", "--in", badCSV, "--out", "x.parquet"}, 2, nil, []string{`unknown source "nope"`}},
		{"import without source", []string{"data", "import", "--in", badCSV}, 2, nil, []string{"want one source (adult, sst2, decodingtrust-ood, advglue, advglue-plus-plus, enron-canaries, csv, jsonl), got 0 arguments"}},
		{"import without out", []string{"data", "import", "csv", "--in", badCSV}, 2, nil, []string{"--in and --out are required"}},
		{"synth bias NaN", []string{"data", "synth", "census", "--bias", "NaN", "--out", filepath.Join(dir, "nan.parquet")}, 2, nil, []string{"--bias must be a finite number, got NaN"}},
		{"synth bias Inf", []string{"data", "synth", "census", "--bias", "-Inf", "--out", filepath.Join(dir, "inf.parquet")}, 2, nil, []string{"--bias must be a finite number, got -Inf"}},
		{"synth n", []string{"data", "synth", "census", "--n", "0", "--out", census}, 2, nil, []string{"--n must be >= 1"}},
		{"stats missing", []string{"data", "stats", filepath.Join(dir, "none.parquet")}, 1, nil, []string{"none.parquet"}},
		{"stats not parquet", []string{"data", "stats", badCSV}, 1, nil, []string{badCSV, "not a readable Parquet file"}},
		{"tokenize usage", []string{"data", "tokenize", "--in", census}, 2, nil, []string{"--tokenizer, --in and --out are required"}},
		{"tokenize truncate-left without max-len", []string{"data", "tokenize", "--tokenizer", "t.json", "--in", census, "--out", filepath.Join(dir, "t.parquet"), "--truncate-left"}, 2, nil, []string{"--truncate-left needs --max-len"}},
		{"tokenize negative workers", []string{"data", "tokenize", "--tokenizer", "t.json", "--in", census, "--out", filepath.Join(dir, "t.parquet"), "--workers", "-1"}, 2, nil, []string{"--workers must be >= 0, got -1"}},
		{"import flag of another source", []string{"data", "import", "adult", "--in", badCSV, "--out", filepath.Join(dir, "x.parquet"), "--text-col", "t"}, 2, nil, []string{"--text-col applies to csv, jsonl, not adult"}},
		{"import delimiter for jsonl", []string{"data", "import", "jsonl", "--in", badCSV, "--out", filepath.Join(dir, "x.parquet"), "--delimiter", ";"}, 2, nil, []string{"--delimiter applies to csv, not jsonl"}},
		{"import task for csv", []string{"data", "import", "csv", "--in", badCSV, "--out", filepath.Join(dir, "x.parquet"), "--task", "qqp"}, 2, nil, []string{"--task applies to advglue, advglue-plus-plus, not csv"}},
		{"import split and split-col", []string{"data", "import", "csv", "--in", goodCSV, "--out", filepath.Join(dir, "x.parquet"), "--split", "train", "--split-col", "sex"}, 2, nil, []string{"--split and --split-col exclude each other"}},
		{"stats buckets descending", []string{"data", "stats", "--buckets", "30,10", census}, 2, nil, []string{"--buckets [30 10] must be positive and strictly ascending"}},
		{"stats bucket zero", []string{"data", "stats", "--buckets", "0", census}, 2, nil, []string{"--buckets [0] must be"}},
		{"import onto a folder", []string{"data", "import", "csv", "--in", goodCSV, "--out", dir}, 1, nil, []string{dir + ": is a directory"}},
		{"help", []string{"help", "data"}, 0, []string{"import", "tokenize", "synth", "stats"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(out, s) {
					t.Fatalf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(errs, s) {
					t.Fatalf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.parquet")); err == nil {
		t.Fatal("failed import left an output")
	}
	var sum importers.Summary
	b, err := os.ReadFile(filepath.Join(dir, "census.summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if !sum.Synthetic || sum.Rows != 300 || sum.Params["bias"] != "1" || sum.Params["seed"] != "4" {
		t.Fatalf("census summary %+v", sum)
	}
	info, err := parquetio.Stat(census)
	if err != nil || info.Metadata["w2st.synthetic"] != "true" {
		t.Fatalf("census metadata %v %v", info.Metadata, err)
	}
}

func TestDataTokenizeAndStats(t *testing.T) {
	tok := filepath.Join(shareddata.Dir(t), "tokenizers", "gpt2")
	dir := t.TempDir()
	census, toks := filepath.Join(dir, "c.parquet"), filepath.Join(dir, "c.tok.parquet")
	if code, _, errs := runCLI(t, "data", "synth", "census", "--n", "200", "--out", census); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runCLI(t, "data", "tokenize", "--tokenizer", tok, "--in", census, "--out", toks, "--workers", "2")
	if code != 0 || !strings.Contains(out, "200 rows") {
		t.Fatalf("tokenize exit %d: %s %s", code, out, errs)
	}
	rows, err := parquetio.ReadAll(toks)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		// the template starts "A person in 1996": GPT-2 ids 32, 1048, 287, 8235 (gpt-3-encoder)
		if r.Length < 50 || int(r.Length) != len(r.InputIDs) || r.InputIDs[0] != 32 || r.InputIDs[1] != 1048 || r.InputIDs[2] != 287 || r.InputIDs[3] != 8235 || !r.Synthetic {
			t.Fatalf("row %s: length %d ids %v", r.ID, r.Length, r.InputIDs[:min(6, len(r.InputIDs))])
		}
	}
	code, out, errs = runCLI(t, "data", "stats", "--max-buckets", "3", "--batch-size", "16", toks)
	if code != 0 {
		t.Fatal(errs)
	}
	for _, s := range []string{"length histogram:", "bucket plan (batch size 16):", "padding efficiency:"} {
		if !strings.Contains(out, s) {
			t.Fatalf("stats lacks %q:\n%s", s, out)
		}
	}
	if strings.Count(out, "seq len") > 3 {
		t.Fatalf("more than 3 buckets:\n%s", out)
	}
}
