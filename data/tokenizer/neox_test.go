package tokenizer

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// spaces returns the id of the NeoX added token made of n spaces: the file
// numbers them downwards from 50254 (24 spaces) to 50276 (2 spaces).
func spaces(n int) int32 { return int32(50254 + 24 - n) }

func TestNeoXAddedTokensAndSpaces(t *testing.T) {
	tok := neox(t)
	if got := tok.VocabSize(); got != 50277 {
		t.Errorf("VocabSize = %d, want 50277", got)
	}
	added := tok.AddedTokens()
	if len(added) != 25 {
		t.Fatalf("%d added tokens, want 25", len(added))
	}
	for n := 2; n <= 24; n++ {
		if id, ok := tok.TokenID(strings.Repeat(" ", n)); !ok || id != spaces(n) {
			t.Fatalf("token of %d spaces: id %d %v, want %d", n, id, ok, spaces(n))
		}
	}
	// Vocabulary ids read from the file (byte-level spellings).
	id := func(s string) int32 {
		v, ok := tok.TokenID(s)
		if !ok {
			t.Fatalf("%q not in the NeoX vocabulary", s)
		}
		return v
	}
	sp, nl, tab := id("Ġ"), id("Ċ"), id("ĉ")
	cases := []struct {
		in   string
		want []int32
	}{
		{"<|endoftext|>", []int32{0}},
		{"<|unk|>", []int32{1}},
		{"<|endoftext|><|endoftext|>", []int32{0, 0}},
		{"a<|endoftext|>b", []int32{id("a"), 0, id("b")}},
		{"<|endoftext|> Hello", []int32{0, id("ĠHello")}},
		{" ", []int32{sp}},
		{"  ", []int32{spaces(2)}},
		{"   ", []int32{spaces(3)}},
		{strings.Repeat(" ", 24), []int32{spaces(24)}},
		{strings.Repeat(" ", 25), []int32{spaces(24), sp}},             // leftmost-longest, then BPE
		{strings.Repeat(" ", 26), []int32{spaces(24), spaces(2)}},      //
		{strings.Repeat(" ", 48), []int32{spaces(24), spaces(24)}},     //
		{"a  b", []int32{id("a"), spaces(2), id("b")}},                 // "b" loses its Ġ to the added token
		{"Hello  world", []int32{id("Hello"), spaces(2), id("world")}}, //
		{"x\n  y", []int32{id("x"), nl, spaces(2), id("y")}},           //
		{"x\t  y", []int32{id("x"), tab, spaces(2), id("y")}},          //
		{"  x", []int32{spaces(2), id("x")}},                           //
		{"x  ", []int32{id("x"), spaces(2)}},                           //
		{" x", []int32{id("Ġx")}},                                      // one space is not an added token
		{"\u00e9", []int32{id("Ã©")}},                                  // é is C3 A9
		{"e\u0301", []int32{id("Ã©")}},                                 // NFC first
	}
	for _, c := range cases {
		got, err := tok.Encode(c.in)
		if err != nil {
			t.Fatalf("Encode(%q): %v", c.in, err)
		}
		if !slices.Equal(got, c.want) {
			toks, _ := tok.Tokens(c.in)
			t.Errorf("Encode(%q) = %v %q, want %v", c.in, got, toks, c.want)
		}
	}
	if tok.PadID() != 0 || tok.EOSID() != 0 {
		t.Errorf("PadID, EOSID = %d, %d; want 0, 0 (this file names id 1 <|unk|>, not <|padding|>)", tok.PadID(), tok.EOSID())
	}
}

func TestSpecialIDs(t *testing.T) {
	g := gpt2(t)
	if g.VocabSize() != 50257 || g.PadID() != 50256 || g.EOSID() != 50256 {
		t.Errorf("GPT-2 VocabSize, PadID, EOSID = %d, %d, %d; want 50257, 50256, 50256", g.VocabSize(), g.PadID(), g.EOSID())
	}
	// HF's Pythia copy names id 1 <|padding|>: PadID must prefer it.
	tok := loadBytes(t, miniJSON(t, nil, nil, []map[string]any{tokenEntry(300, "<|endoftext|>"), tokenEntry(301, "<|padding|>")}, nil, nil))
	if tok.PadID() != 301 || tok.EOSID() != 300 {
		t.Errorf("PadID, EOSID = %d, %d; want 301, 300", tok.PadID(), tok.EOSID())
	}
}

// randomText draws valid UTF-8 mixing ASCII, spaces, accents, combining marks,
// CJK, emoji and the added tokens.
func randomText(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", "9", " ", "  ", "   ", "\t", "\n", "\r\n", "'s", "'", ",", ".", "!",
		"é", "e\u0301", "\u00c5", "A\u030a", "\u212b", "ß", "日本", "語", "😀", "👍🏽", "\u200d", "\u00a0",
		"\u0085", "\ufeff", "<|endoftext|>", "<|unk|>", "<|endo", "ﬁ", "\u0000", "\u007f", "Ω"}
	var sb strings.Builder
	for n := r.IntN(30); n > 0; n-- {
		if r.IntN(6) == 0 {
			sb.WriteRune(rune(r.IntN(0x2FFFF)))
			continue
		}
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return strings.ToValidUTF8(sb.String(), "?")
}

// decode(encode(x)) == normalize(x): NFC for NeoX, the identity for GPT-2.
func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for _, c := range []struct {
		name string
		tok  *Tokenizer
		nfc  bool
	}{{"neox", neox(t), true}, {"gpt2", gpt2(t), false}} {
		for i := 0; i < n; i++ {
			s := randomText(r)
			ids, err := c.tok.Encode(s)
			if err != nil {
				t.Fatalf("%s: Encode(%q): %v", c.name, s, err)
			}
			got, err := c.tok.Decode(ids)
			if err != nil {
				t.Fatalf("%s: Decode: %v", c.name, err)
			}
			want := s
			if c.nfc {
				want = norm.NFC.String(s)
			}
			if got != want {
				t.Fatalf("%s: decode(encode(%q)) = %q, want %q", c.name, s, got, want)
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	tok := gpt2(t)
	for _, c := range []struct {
		in  string
		off string
	}{{"ab\xffcd", "at byte 2 (0xff)"}, {"\xc3", "at byte 0 (0xc3)"}, {"ok \xed\xa0\x80", "at byte 3 (0xed)"}} {
		_, err := tok.Encode(c.in)
		if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), c.off) {
			t.Errorf("Encode(%q) error = %v, want ErrInvalidUTF8 %s", c.in, err, c.off)
		}
	}
	_, err := tok.EncodeBatch([]string{"fine", "also fine", "bad\xfe"}, 2)
	if !errors.Is(err, ErrInvalidUTF8) || !strings.HasPrefix(err.Error(), "text 2:") {
		t.Errorf("EncodeBatch error = %v, want text 2: invalid UTF-8", err)
	}
}

func TestEncodeBatchMatchesEncode(t *testing.T) {
	tok := neox(t)
	r := rand.New(rand.NewPCG(3, 4))
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = randomText(r)
	}
	for _, workers := range []int{0, 1, 3, 64} {
		got, err := tok.EncodeBatch(texts, workers)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range texts {
			want, _ := tok.Encode(s)
			if !slices.Equal(got[i], want) {
				t.Fatalf("workers=%d: text %d: batch %v, single %v", workers, i, got[i], want)
			}
		}
	}
	if got, err := tok.EncodeBatch(nil, 4); err != nil || len(got) != 0 {
		t.Errorf("EncodeBatch(nil) = %v, %v", got, err)
	}
}

func TestDecode(t *testing.T) {
	tok := neox(t)
	cases := []struct {
		ids  []int32
		want string
	}{
		{[]int32{12092, 1533}, "Hello world"}, // ids from the NeoX vocabulary: Hello, Ġworld
		{[]int32{0, spaces(3), 0}, "<|endoftext|>   <|endoftext|>"},
		{nil, ""},
	}
	for _, c := range cases {
		got, err := tok.Decode(c.ids)
		if err != nil || got != c.want {
			t.Errorf("Decode(%v) = %q, %v; want %q", c.ids, got, err, c.want)
		}
	}
	// A lone lead byte of a multi-byte character decodes to U+FFFD.
	lead, _ := tok.TokenID("Ã") // byte 0xC3
	if got, _ := tok.Decode([]int32{lead}); got != "\uFFFD" {
		t.Errorf("Decode(lead byte) = %q, want U+FFFD", got)
	}
	raw, err := tok.DecodeBytes([]int32{0, 12092}, true)
	if err != nil || string(raw) != "Hello" {
		t.Errorf("DecodeBytes(skip special) = %q, %v", raw, err)
	}
	for _, bad := range []int32{-1, 50277, 1 << 30} {
		if _, err := tok.Decode([]int32{12092, bad}); err == nil || !strings.Contains(err.Error(), "position 1") {
			t.Errorf("Decode(.., %d) error = %v, want one naming position 1", bad, err)
		}
	}
	if !utf8.ValidString(tok.Normalize("e\u0301")) || tok.Normalize("e\u0301") != "\u00e9" {
		t.Errorf("Normalize is not NFC")
	}
}
