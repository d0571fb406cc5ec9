package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// miniJSON builds a tokenizer.json whose vocabulary maps every byte's
// byte-level rune to the byte's value (so a piece without merges encodes to its
// raw bytes) plus extra tokens, with the given merges, added tokens and flags.
func miniJSON(t testing.TB, extraVocab map[string]int32, merges []string, added []map[string]any, preTok map[string]any, more map[string]any) []byte {
	t.Helper()
	bl := newByteLevel()
	vocab := map[string]int32{}
	for b := 0; b < 256; b++ {
		vocab[string(bl.toRune[b])] = int32(b)
	}
	for k, v := range extraVocab {
		vocab[k] = v
	}
	if preTok == nil {
		preTok = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true}
	}
	if merges == nil {
		merges = []string{}
	}
	doc := map[string]any{
		"version":        "1.0",
		"added_tokens":   added,
		"normalizer":     map[string]any{"type": "NFC"},
		"pre_tokenizer":  preTok,
		"post_processor": map[string]any{"type": "ByteLevel", "trim_offsets": true},
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model":          map[string]any{"type": "BPE", "vocab": vocab, "merges": merges},
	}
	for k, v := range more {
		doc[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

func loadBytes(t testing.TB, data []byte) *Tokenizer {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tokenEntry(id int, content string, flags ...string) map[string]any {
	m := map[string]any{"id": id, "content": content, "single_word": false, "lstrip": false,
		"rstrip": false, "normalized": false, "special": true}
	for _, f := range flags {
		m[f] = true
	}
	return m
}

// b spells a string's bytes as ids in the mini vocabulary.
func b(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}

func cat(parts ...[]int32) []int32 { return slices.Concat(parts...) }

func one(id int32) []int32 { return []int32{id} }

// Expected ids follow HF tokenizers' AddedVocabulary: leftmost-longest matches;
// single_word drops a match touching a letter/number; lstrip/rstrip absorb the
// whitespace beside the match; normalized=false tokens match the raw text,
// normalized=true ones the NFC text (and their content is NFC'd).
func TestAddedTokenFlags(t *testing.T) {
	tok := loadBytes(t, miniJSON(t, nil, nil, []map[string]any{
		tokenEntry(300, "[A]", "single_word"),
		tokenEntry(301, "<m>", "lstrip"),
		tokenEntry(302, "<r>", "rstrip"),
		tokenEntry(303, "ab"),
		tokenEntry(304, "abc"),
		tokenEntry(305, "bcd"),
		tokenEntry(306, "e\u0301!", "normalized"), // matched as "é!" after NFC
		tokenEntry(307, "n\u0303"),                // raw: NFD text only
	}, nil, nil))
	cases := []struct {
		in   string
		want []int32
	}{
		{"x [A] y", cat(b("x "), one(300), b(" y"))},
		{"[A]", one(300)},
		{"_[A]_", cat(b("_"), one(300), b("_"))}, // '_' is not alphanumeric
		{"x[A] y", b("x[A] y")},                  // touches a letter on the left
		{"x [A]y", b("x [A]y")},                  // and on the right
		{"1[A]", b("1[A]")},                      // numbers are word characters
		{"é[A]", b("é[A]")},                      // so are non-ASCII letters
		{"x  <m>y", cat(b("x"), one(301), b("y"))},
		{"x\t\n<m>", cat(b("x"), one(301))},
		{"<m>", one(301)},
		{"x<r>  y", cat(b("x"), one(302), b("y"))},
		{"<r>\u3000y", cat(one(302), b("y"))}, // U+3000 is whitespace
		{"<r>  <m>", cat(one(302), one(301))},
		{"abcd", cat(one(304), b("d"))}, // leftmost, then longest
		{"xbcd", cat(b("x"), one(305))},
		{"abab", cat(one(303), one(303))},
		{"aabc", cat(b("a"), one(304))},
		{"\u00e9!", one(306)},   // precomposed é
		{"e\u0301!", one(306)},  // NFD input normalizes to it
		{"n\u0303", one(307)},   // raw match before normalization
		{"\u00f1", b("\u00f1")}, // precomposed ñ is not the raw NFD content
		{"", nil},
	}
	for _, c := range cases {
		got, err := tok.Encode(c.in)
		if err != nil {
			t.Fatalf("Encode(%q): %v", c.in, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestPreTokenizerFlags(t *testing.T) {
	bl := newByteLevel()
	sp := string(bl.toRune[' '])
	extra := map[string]int32{"a" + sp: 400}
	merges := []string{"a " + sp}
	added := []map[string]any{tokenEntry(302, "<r>", "rstrip")}
	cases := []struct {
		name   string
		preTok map[string]any
		in     string
		want   []int32
	}{
		// With the regex, "a b" splits into "a" + " b", so the merge "a Ġ" cannot apply.
		{"regex", map[string]any{"type": "ByteLevel"}, "a b", b("a b")},
		{"no regex", map[string]any{"type": "ByteLevel", "use_regex": false}, "a b", cat(one(400), b("b"))},
		{"prefix space", map[string]any{"type": "ByteLevel", "add_prefix_space": true}, "hi", b(" hi")},
		{"prefix space kept", map[string]any{"type": "ByteLevel", "add_prefix_space": true}, " hi", b(" hi")},
		// Each piece between added tokens gets its own prefix space, as in HF.
		{"prefix space per piece", map[string]any{"type": "ByteLevel", "add_prefix_space": true}, "x<r>y", cat(b(" x"), one(302), b(" y"))},
		{"sequence", map[string]any{"type": "Sequence", "pretokenizers": []any{map[string]any{"type": "ByteLevel", "use_regex": false}}}, "a b", cat(one(400), b("b"))},
	}
	for _, c := range cases {
		tok := loadBytes(t, miniJSON(t, extra, merges, added, c.preTok, nil))
		got, err := tok.Encode(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", c.name, c.in, got, c.want)
		}
	}
}

func TestTemplateAndTruncation(t *testing.T) {
	added := []map[string]any{tokenEntry(500, "<s>"), tokenEntry(501, "</s>")}
	post := map[string]any{"type": "TemplateProcessing",
		"single": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			map[string]any{"SpecialToken": map[string]any{"id": "</s>", "type_id": 0}},
		},
		"special_tokens": map[string]any{
			"<s>":  map[string]any{"id": "<s>", "ids": []int{500}, "tokens": []string{"<s>"}},
			"</s>": map[string]any{"id": "</s>", "ids": []int{501}, "tokens": []string{"</s>"}},
		}}
	tok := loadBytes(t, miniJSON(t, nil, nil, added, nil, map[string]any{"post_processor": post,
		"truncation": map[string]any{"max_length": 5, "direction": "Right", "strategy": "LongestFirst", "stride": 0}}))
	cases := []struct {
		tok  *Tokenizer
		in   string
		want []int32
	}{
		{tok, "ab", cat(one(500), b("ab"), one(501))},
		{tok, "abcdef", cat(one(500), b("abc"), one(501))}, // file's max_length 5 includes the template
		{tok.WithTruncation(0, TruncateRight), "abcdef", cat(one(500), b("abcdef"), one(501))},
		{tok.WithTruncation(4, TruncateLeft), "abcdef", cat(one(500), b("ef"), one(501))},
		{tok.WithTruncation(1, TruncateRight), "abc", one(500)},
	}
	for _, c := range cases {
		got, err := c.tok.Encode(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
