package tokenizer

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"
)

// The expected ids in testdata/gpt2_expected.jsonl come from the independent
// JavaScript encoder npm gpt-3-encoder@1.1.4, those in neox_expected.jsonl from
// npm @huggingface/tokenizers@0.2.0 (Tokenizers.js, HF's pure-JS port), both
// written by scripts/tokenizer/gen_expected.js.

type expectedLine struct {
	Kind   string  `json:"kind"`
	Text   string  `json:"text"`
	File   string  `json:"file"`
	Line   int     `json:"line"`
	SHA256 string  `json:"sha256"`
	Count  int     `json:"count"`
	IDs    []int32 `json:"ids"`
}

func readExpected(t *testing.T, name string) []expectedLine {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (regenerate with scripts/tokenizer/fixtures.sh)", err)
	}
	defer f.Close()
	var out []expectedLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var e expectedLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// gpt3EncoderDivergences are edge cases where gpt-3-encoder does not follow
// GPT-2/HF semantics; the test checks our ids against ids derived by hand from
// encoder.json and vocab.bpe instead (and that gpt-3-encoder's still differ, so
// the note stays true).
//
//  1. JavaScript's \s includes U+FEFF and excludes U+0085 (NEL); the White_Space
//     property used by Oniguruma (HF) and Python's regex (GPT-2) is the
//     reverse. Only a preceding U+0020 shows it: HF splits " \u0085" into
//     " " + "\u0085" (a whitespace run before non-space gives back its last
//     rune) where JS keeps " \u0085" as one ` ?[^\s\p{L}\p{N}]+` piece; and HF
//     keeps " \ufeff" as one such piece where JS splits it.
//     vocab.bpe has "Ġ ï" (line 27078) but no "Â ħ", "ï »" or "» ¿" merge, so
//     " " = Ġ(220), "\u0085" = Â(126) ħ(227), " \ufeff" = Ġï(27332) »(119) ¿(123).
//  2. gpt-3-encoder has no special tokens: it spells <|endoftext|> out as
//     "<", "|", "endoftext", "|", ">", while HF's GPT-2 (and GPT2Tokenizer)
//     match it as the added special token 50256 before BPE; the text around it
//     is encoded on its own ("end." = end(437) .(13), " Next" = ĠNext(7406)).
//
// tokenizersJSDivergences: Tokenizers.js translates \s to \p{White_Space} in
// the patterns it reads from tokenizer.json, but its ByteLevel pre-tokenizer
// hard-codes GPT-2's pattern as a JavaScript regex, so it has the same U+0085 /
// U+FEFF divergence as gpt-3-encoder (see below). Hand-derived from the NeoX
// file's model: merges "Â ħ" (16398th), "Ġ ï" (15896th), "» ¿" (24139th),
// "Ġï »¿" (35518th); tokens Ġ=209, Âħ=16643, Ġï»¿=35762, a=66, b=67.
var tokenizersJSDivergences = map[string]divergence{
	"a \u0085b": {"U+0085 is White_Space", []int32{66, 209, 16643, 67}},
	"a \ufeffb": {"U+FEFF is not White_Space", []int32{66, 35762, 67}},
}

var gpt3EncoderDivergences = map[string]divergence{
	"a \u0085b":              {"U+0085 is White_Space", []int32{64, 220, 126, 227, 65}},
	"a \ufeffb":              {"U+FEFF is not White_Space", []int32{64, 27332, 119, 123, 65}},
	"<|endoftext|>":          {"special token", []int32{50256}},
	"a<|endoftext|>b":        {"special token", []int32{64, 50256, 65}},
	"end.<|endoftext|> Next": {"special token", []int32{437, 13, 50256, 7406}},
}

// corpusTexts rebuilds the texts of a shared data file exactly as gen_expected.js
// does, keyed by 1-based line number, in file order.
type corpusText struct {
	line int
	text string
}

func corpusTexts(t testing.TB, dir, rel string) []corpusText {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []corpusText
	switch {
	case strings.HasPrefix(rel, "sst2/"):
		for i := 1; i < len(lines); i++ {
			l := strings.TrimSuffix(lines[i], "\r")
			if l == "" {
				continue
			}
			_, text, ok := strings.Cut(l, "\t")
			if !ok {
				t.Fatalf("%s:%d: no tab", rel, i+1)
			}
			out = append(out, corpusText{i + 1, text})
		}
	case strings.HasPrefix(rel, "adult/"):
		for i, l := range lines {
			v := strings.Split(strings.TrimSuffix(l, "\r"), ",")
			if len(v) != 15 {
				continue
			}
			for k := range v {
				v[k] = strings.TrimSpace(v[k])
			}
			out = append(out, corpusText{i + 1, adultPrompt(v)})
		}
	default:
		t.Fatalf("unknown corpus %s", rel)
	}
	return out
}

// adultPrompt is gen_expected.js's DecodingTrust-style prompt (tokenizer input only).
func adultPrompt(v []string) string {
	names := []string{"age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
		"occupation", "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
		"native-country"}
	attrs := make([]string, len(names))
	for i, n := range names {
		attrs[i] = n + " " + v[i]
	}
	return "A person in 1996 has the following attributes: " + strings.Join(attrs, ", ") + ".\n" +
		"Is the annual income of this person greater than $50k? Answer yes or no."
}

func idsDigest(all [][]int32) string {
	h := sha256.New()
	var b strings.Builder
	for _, ids := range all {
		b.Reset()
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, id)
		}
		b.WriteByte('\n')
		h.Write([]byte(b.String()))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// reference is one fixture of ids from an independent implementation.
type reference struct {
	name        string // test name
	fixture     string // file in testdata
	impl        string // the implementation that wrote it
	tok         func(testing.TB) *Tokenizer
	divergences map[string]divergence
	minEdge     int
	minSamples  int
}

type divergence struct {
	why string
	ids []int32
}

var references = []reference{
	{"gpt2", "gpt2_expected.jsonl", "gpt-3-encoder", gpt2, gpt3EncoderDivergences, 190, 4000},
	{"neox", "neox_expected.jsonl", "Tokenizers.js", neox, tokenizersJSDivergences, 220, 1000},
}

func TestEdgeCasesMatchReference(t *testing.T) {
	for _, ref := range references {
		t.Run(ref.name, func(t *testing.T) {
			tok := ref.tok(t)
			n := 0
			for _, e := range readExpected(t, ref.fixture) {
				if e.Kind != "edge" {
					continue
				}
				n++
				got, err := tok.Encode(e.Text)
				if err != nil {
					t.Errorf("Encode(%q): %v", e.Text, err)
					continue
				}
				if d, ok := ref.divergences[e.Text]; ok {
					if slices.Equal(d.ids, e.IDs) {
						t.Errorf("%q: documented divergence of %s (%s) no longer diverges", e.Text, ref.impl, d.why)
					}
					if !slices.Equal(got, d.ids) {
						t.Errorf("Encode(%q) = %v, want HF-semantics ids %v (%s)", e.Text, got, d.ids, d.why)
					}
					continue
				}
				if !slices.Equal(got, e.IDs) {
					toks, _ := tok.Tokens(e.Text)
					t.Errorf("Encode(%q) = %v %q, %s gives %v", e.Text, got, toks, ref.impl, e.IDs)
				}
			}
			if n < ref.minEdge {
				t.Fatalf("only %d edge cases in %s", n, ref.fixture)
			}
		})
	}
}

func TestRealTextMatchesReference(t *testing.T) {
	dir := shareddata.Dir(t)
	for _, ref := range references {
		t.Run(ref.name, func(t *testing.T) {
			tok := ref.tok(t)
			byFile := map[string][]corpusText{}
			samples := 0
			for _, e := range readExpected(t, ref.fixture) {
				if e.Kind == "edge" {
					continue
				}
				texts, ok := byFile[e.File]
				if !ok {
					texts = corpusTexts(t, dir, e.File)
					byFile[e.File] = texts
				}
				switch e.Kind {
				case "sample":
					samples++
					k, found := slices.BinarySearchFunc(texts, e.Line, func(c corpusText, line int) int { return c.line - line })
					if !found {
						t.Fatalf("%s:%d: no text on that line", e.File, e.Line)
					}
					text := texts[k].text
					if h := sha256.Sum256([]byte(text)); hex.EncodeToString(h[:8]) != e.SHA256 {
						t.Fatalf("%s:%d: rebuilt text %q has another sha256 than the fixture's: the text rules differ from gen_expected.js", e.File, e.Line, text)
					}
					got, err := tok.Encode(text)
					if err != nil {
						t.Fatalf("%s:%d: %v", e.File, e.Line, err)
					}
					if !slices.Equal(got, e.IDs) {
						t.Errorf("%s:%d: Encode(%q) = %v, %s gives %v", e.File, e.Line, text, got, ref.impl, e.IDs)
					}
				case "digest":
					if len(texts) != e.Count {
						t.Fatalf("%s: %d texts, the fixture has %d", e.File, len(texts), e.Count)
					}
					if testing.Short() {
						continue
					}
					strs := make([]string, len(texts))
					for i, c := range texts {
						strs[i] = c.text
					}
					all, err := tok.EncodeBatch(strs, 0)
					if err != nil {
						t.Fatalf("%s: %v", e.File, err)
					}
					if got := idsDigest(all); got != e.SHA256 {
						t.Errorf("%s: ids digest over all %d texts = %s, %s gives %s", e.File, len(texts), got, ref.impl, e.SHA256)
					}
				default:
					t.Fatalf("unknown fixture kind %q", e.Kind)
				}
			}
			if samples < ref.minSamples || len(byFile) != 4 {
				t.Fatalf("%s has %d samples over %d files, want ≥ %d over 4", ref.fixture, samples, len(byFile), ref.minSamples)
			}
		})
	}
}
