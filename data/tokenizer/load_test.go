package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"
)

func TestLoadForms(t *testing.T) {
	dir := shareddata.Dir(t)
	// The folder with encoder.json + vocab.bpe, and the NeoX file.
	g, err := Load(filepath.Join(dir, "tokenizers", "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	if g.VocabSize() != 50257 || len(g.model.merges) != 50000 {
		t.Errorf("GPT-2: vocab %d merges %d, want 50257 and 50000", g.VocabSize(), len(g.model.merges))
	}
	n := neox(t)
	if len(n.model.vocab) != 50254 || len(n.model.merges) != 50009 {
		t.Errorf("NeoX: vocab %d merges %d, want 50254 and 50009", len(n.model.vocab), len(n.model.merges))
	}
	// A folder holding tokenizer.json loads that file.
	sub := t.TempDir()
	if err := os.WriteFile(filepath.Join(sub, "tokenizer.json"), miniJSON(t, nil, nil, nil, nil, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err := Load(sub); err != nil || tok.VocabSize() != 256 {
		t.Errorf("Load(folder with tokenizer.json) = %v", err)
	}
	// Merges as [a, b] arrays (newer tokenizer.json files) load the same.
	doc := strings.Replace(string(miniJSON(t, map[string]int32{"ab": 300}, []string{"a b"}, nil, nil, nil)), `"merges":["a b"]`, `"merges":[["a","b"]]`, 1)
	tok := loadBytes(t, []byte(doc))
	if ids, _ := tok.Encode("ab"); len(ids) != 1 || ids[0] != 300 {
		t.Errorf("array merges: Encode(ab) = %v", ids)
	}
}

func TestLoadErrors(t *testing.T) {
	good := string(miniJSON(t, map[string]int32{"ab": 300}, []string{"a b"}, []map[string]any{tokenEntry(301, "<x>")}, nil, nil))
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("test setup: %q not in the document", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "", "unexpected end of JSON"},
		{"truncated", good[:len(good)/2], "unexpected end of JSON"},
		{"syntax", "{\n  \"model\": {,}\n}", "line 2 column"},
		{"trailing", good + " {}", "invalid JSON"},
		{"no model", `{"version":"1.0"}`, "field model: missing"},
		{"model type", replace(`"type":"BPE"`, `"type":"WordPiece"`), `field model.type: "WordPiece"`},
		{"vocab type", replace(`"ab":300`, `"ab":"x"`), "field model"},
		{"merge not in vocab", replace(`"merges":["a b"]`, `"merges":["a q"]`), "field model.merges[0]: merged token \"aq\""},
		{"merge shape", replace(`"merges":["a b"]`, `"merges":["a b c"]`), "field model.merges[0]"},
		{"merge array", replace(`"merges":["a b"]`, `"merges":[["a"]]`), "field model.merges[0]"},
		{"dropout", replace(`"type":"BPE"`, `"type":"BPE","dropout":0.1`), "field model.dropout"},
		{"unk", replace(`"type":"BPE"`, `"type":"BPE","unk_token":"<nope>"`), "field model.unk_token"},
		{"suffix", replace(`"type":"BPE"`, `"type":"BPE","end_of_word_suffix":"</w>"`), "field model.end_of_word_suffix"},
		{"normalizer", replace(`{"type":"NFC"}`, `{"type":"Lowercase"}`), `field normalizer.type: "Lowercase"`},
		{"pre_tokenizer", replace(`"add_prefix_space":false,"trim_offsets":true,"type":"ByteLevel"}`, `"type":"Whitespace"}`), `field pre_tokenizer.type: "Whitespace"`},
		{"no pre_tokenizer", replace(`"pre_tokenizer":{"add_prefix_space":false,"trim_offsets":true,"type":"ByteLevel"}`, `"pre_tokenizer":null`), "field pre_tokenizer: missing"},
		{"decoder", replace(`"decoder":{"type":"ByteLevel"}`, `"decoder":{"type":"WordPiece"}`), "field decoder.type"},
		{"added id", replace(`"id":301`, `"id":-4`), "field added_tokens[0].id: negative"},
		{"added content", replace(`"content":"<x>"`, `"content":""`), "field added_tokens[0].content: empty"},
		{"huge id", replace(`"id":301`, `"id":2000000000`), "highest id 2000000000 leaves more than 65536 ids unused"},
		{"added type", replace(`"id":301`, `"id":"301"`), "field added_tokens"},
		{"post", replace(`"post_processor":{"trim_offsets":true,"type":"ByteLevel"}`, `"post_processor":{"type":"BertProcessing"}`), "field post_processor.type"},
		{"truncation", replace(`"version":"1.0"`, `"version":"1.0","truncation":{"max_length":8,"direction":"Up"}`), "field truncation.direction"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := os.WriteFile(p, []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil {
			t.Errorf("%s: Load succeeded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file and %q", c.name, err, c.want)
		}
	}
}

func TestLoadGPT2Errors(t *testing.T) {
	dir := t.TempDir()
	enc, bpeFile := filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(enc, `{"a":0,"b":1,"ab":2}`)
	write(bpeFile, "#version: 0.2\na b\n")
	if _, err := Load(dir); err != nil {
		t.Fatalf("good folder: %v", err)
	}
	write(bpeFile, "#version: 0.2\na b\nb\n")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), bpeFile+":3") {
		t.Errorf("bad merge line: %v", err)
	}
	write(bpeFile, "#version: 0.2\na c\n")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "merge 1") {
		t.Errorf("unknown token: %v", err)
	}
	write(enc, `{"a":0,`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), enc) {
		t.Errorf("truncated encoder.json: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "neither tokenizer.json") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestLoadSizeLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "64 MiB limit") {
		t.Errorf("oversized file: %v", err)
	}
}
