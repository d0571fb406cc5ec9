package wordtok

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"age 39, workclass State-gov.", []string{"age", "39", ",", "workclass", "State", "-", "gov", "."}},
		{"  $50k?", []string{"$", "50k", "?"}},
		{"", nil},
		{"é ü", []string{"é", "ü"}},
	}
	for _, c := range cases {
		if got := Split(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBuildEncodeDecode(t *testing.T) {
	tok, err := Build([]string{"b a a", "c a b"}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Frequencies a:3, b:2, c:1 → ids 3, 4, 5 after the 3 specials.
	if tok.VocabSize() != 6 {
		t.Fatalf("vocab %d", tok.VocabSize())
	}
	ids, err := tok.Encode("a b c d")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{3, 4, 5, UnkID}; !slices.Equal(ids, want) {
		t.Errorf("Encode = %v, want %v", ids, want)
	}
	s, err := tok.Decode([]int32{5, 3})
	if err != nil || s != "c a" {
		t.Errorf("Decode = %q, %v", s, err)
	}
	if _, err := tok.Decode([]int32{99}); err == nil {
		t.Error("out of range id: want error")
	}
	if _, err := tok.Encode("\xff"); err == nil {
		t.Error("invalid UTF-8: want error")
	}
	small, _ := Build([]string{"b a a", "c a b"}, 1, 1)
	if small.VocabSize() != 4 {
		t.Errorf("maxWords 1: vocab %d", small.VocabSize())
	}
	// minCount 2 drops c (seen once): it becomes <|unk|>.
	common, _ := Build([]string{"b a a", "c a b"}, 0, 2)
	if ids, _ := common.Encode("a b c"); common.VocabSize() != 5 || !slices.Equal(ids, []int32{3, 4, UnkID}) {
		t.Errorf("minCount 2: vocab %d, ids %v", common.VocabSize(), ids)
	}
}

func FuzzEncode(f *testing.F) {
	tok, _ := Build([]string{"A person has age 39, sex Male."}, 0, 1)
	for _, s := range []string{"", "age 39", "\xff\xfe", "sex  Female ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.Encode(s)
		if err != nil {
			return
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}
