package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Hand-derived offsets (bytes of the input), following HF's Encoding.offsets
// with the ByteLevel post-processor: NeoX trims spaces (trim_offsets true),
// GPT-2's encoder.json + vocab.bpe has no trimming.
func TestEncodeWithOffsets(t *testing.T) {
	nx, g := neox(t), gpt2(t)
	cases := []struct {
		name string
		tok  *Tokenizer
		in   string
		want []Offset
	}{
		{"neox trims the space", nx, "Hello world", []Offset{{0, 5}, {6, 11}}},
		{"gpt2 keeps it", g, "Hello world", []Offset{{0, 5}, {5, 11}}},
		{"spaces token trims to empty", nx, "a  b", []Offset{{0, 1}, {3, 3}, {3, 4}}},
		{"special token", nx, "<|endoftext|>x", []Offset{{0, 13}, {13, 14}}},
		// 日本 is one token; 語 (3 bytes) is split over two tokens, both covering it.
		{"split character", nx, "日本語", []Offset{{0, 6}, {6, 9}, {6, 9}}},
		// NFD e + U+0301 (3 bytes) normalizes to é: its token covers both original characters.
		{"normalized", nx, "e\u0301", []Offset{{0, 3}}},
		{"after normalized", nx, "e\u0301 x", []Offset{{0, 3}, {4, 5}}},
		{"empty", nx, "", nil},
	}
	for _, c := range cases {
		ids, offs, err := c.tok.EncodeWithOffsets(c.in)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := c.tok.Encode(c.in)
		if !slices.Equal(ids, want) {
			t.Errorf("%s: ids %v differ from Encode's %v", c.name, ids, want)
		}
		if !slices.Equal(offs, c.want) {
			toks, _ := c.tok.Tokens(c.in)
			t.Errorf("%s: offsets of %q %q = %v, want %v", c.name, c.in, toks, offs, c.want)
		}
	}
	// add_prefix_space: the added space covers nothing and is not trimmed from the text.
	tok := loadBytes(t, miniJSON(t, nil, nil, []map[string]any{tokenEntry(302, "<r>")},
		map[string]any{"type": "ByteLevel", "add_prefix_space": true}, nil))
	_, offs, err := tok.EncodeWithOffsets("hi<r>x")
	if want := []Offset{{0, 0}, {0, 1}, {1, 2}, {2, 5}, {5, 5}, {5, 6}}; err != nil || !slices.Equal(offs, want) {
		t.Errorf("prefix space: offsets %v, %v; want %v", offs, err, want)
	}
	// Truncation keeps the offsets of the kept ids.
	_, offs, _ = g.WithTruncation(1, TruncateLeft).EncodeWithOffsets("Hello world")
	if !slices.Equal(offs, []Offset{{5, 11}}) {
		t.Errorf("truncated offsets %v", offs)
	}
}

// For GPT-2 (no normalizer, no trimming) on ASCII text every token's range
// spells exactly the token's bytes; on any text ranges are ordered and in bounds.
func TestOffsetsProperty(t *testing.T) {
	g, nx := gpt2(t), neox(t)
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 1000; i++ {
		s := randomText(r)
		for _, tok := range []*Tokenizer{g, nx} {
			ids, offs, err := tok.EncodeWithOffsets(s)
			if err != nil || len(ids) != len(offs) {
				t.Fatalf("EncodeWithOffsets(%q): %d ids, %d offsets, %v", s, len(ids), len(offs), err)
			}
			prev := 0
			for k, o := range offs {
				if o.Start < prev || o.Start > o.End || o.End > len(s) {
					t.Fatalf("%s: %q: offset %d = %v out of order or bounds (%v)", tok.Source(), s, k, o, offs)
				}
				prev = o.Start
			}
		}
		ascii := strings.Map(func(r rune) rune {
			if r < 128 {
				return r
			}
			return 'x'
		}, s)
		ids, offs, _ := g.EncodeWithOffsets(ascii)
		for k, id := range ids {
			if got := ascii[offs[k].Start:offs[k].End]; got != string(g.idBytes[id]) {
				t.Fatalf("%q: token %d spells %q, its range %v holds %q", ascii, k, g.idBytes[id], offs[k], got)
			}
		}
	}
}
