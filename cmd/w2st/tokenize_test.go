package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"
)

func runTokenize(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"tokenize"}, args...), &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// The ids printed for each line equal gpt-3-encoder's (the tokenizer package's
// committed reference fixture), in input order.
func TestTokenizeMatchesReference(t *testing.T) {
	gpt2 := filepath.Join(shareddata.Dir(t), "tokenizers", "gpt2")
	f, err := os.Open(filepath.Join("..", "..", "data", "tokenizer", "testdata", "gpt2_expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	var want [][]int32
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Kind, Text string
			IDs        []int32
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind != "edge" || strings.ContainsAny(e.Text, "\r\n") || strings.Contains(e.Text, "<|endoftext|>") {
			continue // one text per line; gpt-3-encoder has no special tokens
		}
		if strings.Contains(e.Text, " \u0085") || strings.Contains(e.Text, " \ufeff") {
			continue // documented gpt-3-encoder divergences (data/tokenizer/reference_test.go)
		}
		texts, want = append(texts, e.Text), append(want, e.IDs)
	}
	if len(texts) < 100 {
		t.Fatalf("only %d usable edge cases", len(texts))
	}
	code, stdout, stderr := runTokenize(t, strings.Join(texts, "\n")+"\n", "--tokenizer", gpt2, "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d output lines for %d inputs", len(lines), len(texts))
	}
	for i, l := range lines {
		var got []int32
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d: %q is not a JSON array of ids: %v", i+1, l, err)
		}
		if !slices.Equal(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
			t.Errorf("line %d (%q): %v, want %v", i+1, texts[i], got, want[i])
		}
	}
}

func TestTokenizeFlagsAndErrors(t *testing.T) {
	dir := shareddata.Dir(t)
	neox := filepath.Join(dir, "tokenizers", "gpt-neox-20b-tokenizer.json")
	gpt2 := filepath.Join(dir, "tokenizers", "gpt2")
	cases := []struct {
		name, stdin string
		args        []string
		code        int
		stdout      string
		stderrHas   string
	}{
		// NeoX ids: Hello=12092, Ġworld=1533, 50276 = two spaces, a=66, b=67, <|endoftext|>=0.
		{"neox ids", "Hello world\r\n  a  b\n<|endoftext|>\n\n", []string{"--tokenizer", neox}, 0,
			"[12092,1533]\n[50276,66,50276,67]\n[0]\n[]\n", ""},
		{"tokens", "Hello world\n<|endoftext|> x\n", []string{"--tokenizer", gpt2, "--tokens"}, 0,
			"[\"Hello\",\"Ġworld\"]\n[\"<|endoftext|>\",\"Ġx\"]\n", ""},
		// GPT-2: one=505, Ġtwo=734, Ġthree=1115, Ġfour=1440.
		{"max-len", "one two three four\n", []string{"--tokenizer", gpt2, "--max-len", "2"}, 0, "[505,734]\n", ""},
		{"truncate-left", "one two three four\n", []string{"--tokenizer", gpt2, "--max-len", "2", "--truncate-left"}, 0, "[1115,1440]\n", ""},
		{"no trailing newline", "one", []string{"--tokenizer", gpt2}, 0, "[505]\n", ""},
		{"empty input", "", []string{"--tokenizer", gpt2}, 0, "", ""},
		{"bad utf8", "ok\nbad\xff\n", []string{"--tokenizer", gpt2}, 1, "[482]\n", "stdin:2: invalid UTF-8 at byte 3"},
		{"missing flag", "", nil, 2, "", "--tokenizer is required"},
		{"negative max-len", "", []string{"--tokenizer", gpt2, "--max-len", "-1"}, 2, "", "--max-len must be >= 0"},
		{"args", "", []string{"--tokenizer", gpt2, "file.txt"}, 2, "", "unexpected arguments"},
		{"truncate-left without max-len", "one\n", []string{"--tokenizer", gpt2, "--truncate-left"}, 2, "", "--truncate-left needs --max-len"},
		{"negative workers", "one\n", []string{"--tokenizer", gpt2, "--workers", "-3"}, 2, "", "--workers must be >= 0, got -3"},
		{"missing file", "", []string{"--tokenizer", filepath.Join(t.TempDir(), "nope.json")}, 1, "", "nope.json"},
	}
	// Past the first 4096-line batch, the error still names the right line.
	long := strings.Repeat("one\n", 4499) + "bad\xc3\n" + strings.Repeat("one\n", 10)
	cases = append(cases, struct {
		name, stdin string
		args        []string
		code        int
		stdout      string
		stderrHas   string
	}{"bad utf8 in second batch", long, []string{"--tokenizer", gpt2}, 1, strings.Repeat("[505]\n", 4499), "stdin:4500: invalid UTF-8 at byte 3"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runTokenize(t, c.stdin, c.args...)
			if code != c.code || stdout != c.stdout || !strings.Contains(stderr, c.stderrHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					code, stdout, stderr, c.code, c.stdout, c.stderrHas)
			}
		})
	}
}
