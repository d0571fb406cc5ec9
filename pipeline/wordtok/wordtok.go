// Package wordtok is a word-level tokenizer built from a training pool: the
// fallback the pipeline uses when no model tokenizer file is given (the
// demo's default, since the real GPT-NeoX tokenizer is not shipped with w2st).
//
// Text is split into maximal runs of letters or digits and single other
// non-space characters; case is kept. Id 0 is <|padding|>, 1 <|endoftext|>,
// 2 <|unk|>; the words of the pool follow by decreasing frequency (ties in
// byte order), so the vocabulary depends only on the pool's texts. Words
// rarer than a minimum count are left out (they encode as <|unk|>).
package wordtok

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"unicode"
	"unicode/utf8"
)

// Special token ids.
const (
	PadID int32 = 0
	EOSID int32 = 1
	UnkID int32 = 2
)

// Tokenizer maps words to ids.
type Tokenizer struct {
	words []string
	ids   map[string]int32
}

// Split breaks text into words: runs of letters/digits, and each other
// non-space rune on its own.
func Split(text string) []string {
	var out []string
	start := -1
	for i, r := range text {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if alnum {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, text[start:i])
			start = -1
		}
		if !unicode.IsSpace(r) {
			out = append(out, string(r))
		}
	}
	if start >= 0 {
		out = append(out, text[start:])
	}
	return out
}

// Build makes a vocabulary from texts: the words that occur at least
// minCount times, at most maxWords of them (0 = no limit). Rarer words map to
// <|unk|>, so that a model cannot memorise rows by their unique tokens (such
// as Adult's fnlwgt numbers).
func Build(texts []string, maxWords, minCount int) (*Tokenizer, error) {
	freq := map[string]int{}
	for i, t := range texts {
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("wordtok: text %d is not valid UTF-8", i+1)
		}
		for _, w := range Split(t) {
			freq[w]++
		}
	}
	words := make([]string, 0, len(freq))
	for w, n := range freq {
		if n >= minCount {
			words = append(words, w)
		}
	}
	sort.Slice(words, func(a, b int) bool {
		if freq[words[a]] != freq[words[b]] {
			return freq[words[a]] > freq[words[b]]
		}
		return words[a] < words[b]
	})
	if maxWords > 0 && len(words) > maxWords {
		words = words[:maxWords]
	}
	return fromWords(append([]string{"<|padding|>", "<|endoftext|>", "<|unk|>"}, words...)), nil
}

func fromWords(words []string) *Tokenizer {
	t := &Tokenizer{words: words, ids: make(map[string]int32, len(words))}
	for i, w := range words {
		t.ids[w] = int32(i)
	}
	return t
}

// Encode returns the ids of text's words (unknown words are <|unk|>).
func (t *Tokenizer) Encode(text string) ([]int32, error) {
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("wordtok: invalid UTF-8")
	}
	ws := Split(text)
	out := make([]int32, len(ws))
	for i, w := range ws {
		id, ok := t.ids[w]
		if !ok {
			id = UnkID
		}
		out[i] = id
	}
	return out, nil
}

// Decode joins the words of ids with spaces.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	s := ""
	for i, id := range ids {
		if id < 0 || int(id) >= len(t.words) {
			return "", fmt.Errorf("wordtok: id %d out of range [0,%d)", id, len(t.words))
		}
		if i > 0 {
			s += " "
		}
		s += t.words[id]
	}
	return s, nil
}

// VocabSize is the number of ids.
func (t *Tokenizer) VocabSize() int { return len(t.words) }

// PadID is the padding id.
func (t *Tokenizer) PadID() int32 { return PadID }

// EOSID is the end-of-text id.
func (t *Tokenizer) EOSID() int32 { return EOSID }

// Save writes the vocabulary as a JSON list of words (index = id).
func (t *Tokenizer) Save(path string) error {
	b, err := json.Marshal(t.words)
	if err != nil {
		return fmt.Errorf("wordtok: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("wordtok: %w", err)
	}
	return nil
}
