package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The priority-queue merge must give GPT-2's reference result (mergeScan,
// itself checked against gpt-3-encoder) on any word, short or long.
func TestMergeHeapMatchesScan(t *testing.T) {
	for _, tok := range []*Tokenizer{gpt2(t), neox(t)} {
		m := tok.model
		r := rand.New(rand.NewPCG(5, 6))
		alphabet := []string{"a", "b", "e", "t", "h", "in", "er", " ", "é", "日", "😀", "0", "1", "!", ","}
		for i := 0; i < 2000; i++ {
			var sb strings.Builder
			for n := 1 + r.IntN(200); n > 0; n-- {
				sb.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			word := sb.String()
			syms := make([]int32, len(word))
			for k := 0; k < len(word); k++ {
				syms[k] = m.byteID[word[k]]
			}
			want := m.mergeScan(slices.Clone(syms))
			got := m.mergeHeap(slices.Clone(syms))
			if !slices.Equal(got, want) {
				t.Fatalf("%s: word %q: heap %v, scan %v", tok.Source(), word, got, want)
			}
		}
	}
}

// Hand-derived BPE on a mini vocabulary: merges apply lowest rank first and
// every occurrence of a pair merges left to right.
func TestBPEMerges(t *testing.T) {
	extra := map[string]int32{"ab": 300, "bc": 301, "abc": 302, "aa": 303, "aaaa": 304}
	merges := []string{"b c", "a b", "a bc", "a a", "aa aa"}
	tok := loadBytes(t, miniJSON(t, extra, merges, nil, nil, nil))
	cases := []struct {
		in   string
		want []int32
	}{
		{"abc", []int32{302}},             // "b c" (rank 0) before "a b" (rank 1), then "a bc"
		{"abab", []int32{300, 300}},       //
		{"aaa", []int32{303, 'a'}},        // non-overlapping, left to right
		{"aaaaa", []int32{304, 'a'}},      //
		{"aaaaaa", []int32{304, 303}},     //
		{"cab", []int32{'c', 300}},        //
		{"xyz", []int32{'x', 'y', 'z'}},   // no merges apply
		{"ab ab", []int32{300, ' ', 300}}, // "Ġab" is not in the vocabulary
	}
	for _, c := range cases {
		got, err := tok.Encode(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestIgnoreMergesAndUnknownBytes(t *testing.T) {
	// ignore_merges: a pre-token that is itself in the vocabulary is one id even
	// when its merges would not build it.
	extra := map[string]int32{"ab": 300, "abc": 302}
	doc := miniJSON(t, extra, []string{"a b"}, nil, nil, nil)
	tok := loadBytes(t, doc)
	if got, _ := tok.Encode("abc"); !slices.Equal(got, []int32{300, 'c'}) {
		t.Errorf("without ignore_merges: %v", got)
	}
	doc = []byte(strings.Replace(string(doc), `"type":"BPE"`, `"ignore_merges":true,"type":"BPE"`, 1))
	tok = loadBytes(t, doc)
	if got, _ := tok.Encode("abc"); !slices.Equal(got, []int32{302}) {
		t.Errorf("with ignore_merges: %v, want [302]", got)
	}
}

func TestWordCacheBounded(t *testing.T) {
	c := newWordCache(64)
	for i := 0; i < 10000; i++ {
		w := strings.Repeat("x", i%300)
		c.put(w+string(rune('a'+i%26)), []int32{int32(i)})
	}
	if n := c.size(); n > 64 {
		t.Errorf("cache holds %d words, capacity 64", n)
	}
	c.put("k", []int32{7})
	if _, ok := c.get("k"); ok && c.size() > 64 {
		t.Errorf("a full cache took a new word")
	}
	fresh := newWordCache(64)
	in := []int32{7, 8}
	fresh.put("k", in)
	in[0] = 0 // the cache holds its own copy
	if ids, ok := fresh.get("k"); !ok || !slices.Equal(ids, []int32{7, 8}) {
		t.Errorf("cache get = %v, %v; want [7 8]", ids, ok)
	}
	if _, ok := newWordCache(0).get("k"); ok {
		t.Errorf("a disabled cache returned a word")
	}
	// Results with and without the cache agree.
	tok := neox(t)
	s := "The cache must not change results: the the the, again and again."
	a, _ := tok.Encode(s)
	b, _ := tok.Encode(s)
	if !slices.Equal(a, b) {
		t.Errorf("cached encoding differs: %v vs %v", a, b)
	}
}
