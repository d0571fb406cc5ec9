package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzLoad feeds arbitrary bytes to the tokenizer.json loader: it must return
// an error or a tokenizer that encodes and decodes without panicking.
func FuzzLoad(f *testing.F) {
	f.Add(miniJSON(f, map[string]int32{"ab": 300}, []string{"a b"}, []map[string]any{tokenEntry(301, "<x>", "lstrip")}, nil, nil))
	f.Add(miniJSON(f, nil, nil, nil, map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": false}, nil))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`))
	f.Add([]byte(`{"model":{"vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"}]},"added_tokens":[{"id":9,"content":"zz","single_word":true}]}`))
	f.Add([]byte(`{"model":null}`))
	f.Add([]byte(`[1,2`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		p := filepath.Join(dir, "tokenizer.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := Load(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, s := range []string{"", "ab ab", "<x> a  b\n", "é 日本 😀"} {
			ids, err := tok.Encode(s)
			if err != nil {
				t.Fatalf("Encode(%q): %v", s, err)
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("Encode(%q) gave id %d outside [0,%d)", s, id, tok.VocabSize())
				}
			}
			if _, err := tok.Decode(ids); err != nil {
				t.Fatalf("Decode(Encode(%q)): %v", s, err)
			}
		}
	})
}

// FuzzEncodeRoundTrip checks decode(encode(s)) == NFC(s) on the NeoX tokenizer
// and == s on GPT-2 for any valid UTF-8, and a clean error otherwise.
func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range []string{"Hello  world", " \n\t ", "<|endoftext|>x<|unk|>", "e\u0301 \u212b", "日本語 😀👍🏽",
		strings.Repeat("ab", 100), "don't 'S 123", "\xff\xfe", "a\u0085b \ufeff"} {
		f.Add(s)
	}
	nx, g := neox(f), gpt2(f)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<16 {
			return
		}
		for _, c := range []struct {
			tok *Tokenizer
			nfc bool
		}{{nx, true}, {g, false}} {
			ids, err := c.tok.Encode(s)
			if !utf8.ValidString(s) {
				if err == nil {
					t.Fatalf("Encode(%q) accepted invalid UTF-8", s)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Encode(%q): %v", s, err)
			}
			got, err := c.tok.Decode(ids)
			if err != nil {
				t.Fatal(err)
			}
			want := s
			if c.nfc {
				want = norm.NFC.String(s)
			}
			if got != want {
				t.Fatalf("%s: decode(encode(%q)) = %q", c.tok.Source(), s, got)
			}
			ids2, offs, err := c.tok.EncodeWithOffsets(s)
			if err != nil || !slices.Equal(ids2, ids) || len(offs) != len(ids) {
				t.Fatalf("EncodeWithOffsets(%q) = %v, %v, %v; Encode gave %v", s, ids2, offs, err, ids)
			}
			prev := 0
			for _, o := range offs {
				if o.Start < prev || o.Start > o.End || o.End > len(s) {
					t.Fatalf("EncodeWithOffsets(%q): offsets %v out of order or bounds", s, offs)
				}
				prev = o.Start
			}
		}
	})
}
