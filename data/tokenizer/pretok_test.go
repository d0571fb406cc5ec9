package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// Hand-derived splits under GPT-2's pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (each alternative tried in order at each position; \s = White_Space).
func TestSplitGPT2(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"Hello  world", []string{"Hello", " ", " world"}},         // the run gives back its last space
		{"Hello   world", []string{"Hello", "  ", " world"}},       //
		{"a ", []string{"a", " "}},                                 // trailing space: \s+(?!\S) at the end
		{"a   ", []string{"a", "   "}},                             //
		{"  a", []string{" ", " a"}},                               //
		{"\n", []string{"\n"}},                                     //
		{"a\nb", []string{"a", "\n", "b"}},                         // single non-U+0020 space before non-space: \s+
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},                 // run of two: lookahead keeps one back
		{"a \nb", []string{"a", " ", "\n", "b"}},                   //
		{"a\n b", []string{"a", "\n", " b"}},                       // the last space joins the word
		{"a\t\tb", []string{"a", "\t", "\t", "b"}},                 //
		{"x\n\n  y", []string{"x", "\n\n ", " y"}},                 //
		{" \n ", []string{" \n "}},                                 // all whitespace to the end
		{"don't", []string{"don", "'t"}},                           //
		{"we'll've", []string{"we", "'ll", "'ve"}},                 //
		{"DON'T", []string{"DON", "'", "T"}},                       // contractions are case-sensitive
		{"'s'S", []string{"'s", "'", "S"}},                         //
		{"''s", []string{"''", "s"}},                               // punctuation run wins over the contraction
		{"a's", []string{"a", "'s"}},                               //
		{" 's", []string{" '", "s"}},                               // ` ?[^\s\p{L}\p{N}]+` takes the space
		{"it'd", []string{"it", "'d"}},                             //
		{"I'm", []string{"I", "'m"}},                               //
		{"they're", []string{"they", "'re"}},                       //
		{"'r", []string{"'", "r"}},                                 // 'r alone is no contraction
		{"abc123def", []string{"abc", "123", "def"}},               //
		{" 123 45", []string{" 123", " 45"}},                       //
		{"3.14", []string{"3", ".", "14"}},                         //
		{"½Ⅻ٣", []string{"½Ⅻ٣"}},                                   // No, Nl, Nd are all \p{N}
		{"x²", []string{"x", "²"}},                                 // superscript two is No
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},   //
		{"a...!?b", []string{"a", "...!?", "b"}},                   //
		{" !!", []string{" !!"}},                                   //
		{"café naïve", []string{"café", " naïve"}},                 //
		{"e\u0301", []string{"e", "\u0301"}},                       // U+0301 is Mn: not L, N or space
		{"e\u0301x", []string{"e", "\u0301", "x"}},                 //
		{"日本語 です", []string{"日本語", " です"}},                         //
		{"😀😀 😀", []string{"😀😀", " 😀"}},                             // emoji are So
		{"a\u00a0b", []string{"a", "\u00a0", "b"}},                 // NBSP is White_Space
		{"a\u3000\u3000b", []string{"a", "\u3000", "\u3000", "b"}}, //
		{"a \u00a0b", []string{"a", " ", "\u00a0", "b"}},           //
		{"a\u0085b", []string{"a", "\u0085", "b"}},                 // NEL is White_Space
		{"a \u0085b", []string{"a", " ", "\u0085", "b"}},           // (JavaScript's \s disagrees)
		{"a \ufeffb", []string{"a", " \ufeff", "b"}},               // U+FEFF is Cf, not White_Space
		{"a\u200bb", []string{"a", "\u200b", "b"}},                 // ZWSP is Cf
		{"<|endoftext|>", []string{"<|", "endoftext", "|>"}},       //
	}
	for _, c := range cases {
		got := splitGPT2(nil, c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("splitGPT2(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Join(got, "") != c.in {
			t.Errorf("splitGPT2(%q) pieces do not cover the input", c.in)
		}
	}
}

func FuzzSplitGPT2(f *testing.F) {
	for _, s := range []string{"Hello  world", "a\n\nb ", "'s'll", "x²½ 3", "\t \u00a0\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pieces := splitGPT2(nil, s)
		if strings.Join(pieces, "") != s {
			t.Fatalf("pieces %q do not cover %q", pieces, s)
		}
		for _, p := range pieces {
			if p == "" {
				t.Fatalf("empty piece in %q", pieces)
			}
		}
	})
}
