// Package tokenizer implements byte-level BPE tokenization as GPT-2 and
// GPT-NeoX/Pythia use it, loaded from a Hugging Face tokenizer.json (BPE model,
// ByteLevel pre-tokenizer and decoder, NFC-style normalizers, added tokens) or
// from GPT-2's original encoder.json + vocab.bpe.
//
// Encoding follows HF tokenizers: added tokens are matched first (leftmost
// longest, honouring single_word/lstrip/rstrip/normalized), the remaining text
// is normalized, split with GPT-2's pattern and merged by BPE with a bounded
// per-tokenizer cache. GPT-2's pattern is evaluated by hand (Go's regexp has no
// lookahead) with Oniguruma's classes: \p{L}, \p{N} and \s = White_Space.
// EncodeWithOffsets also returns HF-style byte offsets (trim_offsets honoured).
// A Tokenizer is safe for concurrent use.
//
// The tests compare ids with two independent implementations over every
// SST-2 sentence and Adult prompt of the shared data and ~200 edge cases:
// npm gpt-3-encoder for GPT-2 and npm @huggingface/tokenizers (Tokenizers.js)
// for GPT-NeoX. Both use JavaScript's \s in GPT-2's pattern, which includes
// U+FEFF and excludes U+0085, so after a space those two characters split
// differently there (documented in reference_test.go); gpt-3-encoder also has
// no special tokens.
package tokenizer

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrInvalidUTF8 is wrapped by the errors Encode returns for text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// Direction says which end of a sequence truncation removes tokens from.
type Direction int

const (
	// TruncateRight keeps the first tokens (HF's default "Right").
	TruncateRight Direction = iota
	// TruncateLeft keeps the last tokens.
	TruncateLeft
)

// Tokenizer encodes text to token ids and decodes ids back to text.
type Tokenizer struct {
	model *bpe
	bl    *byteLevel

	normalizers []norm.Form // applied in order

	// ByteLevel pre-tokenizer flags.
	addPrefixSpace bool
	useRegex       bool
	trimOffsets    bool // the ByteLevel post-processor's trim_offsets (EncodeWithOffsets)

	added      []AddedToken
	rawMatch   *matcher      // added tokens with normalized=false, matched in the raw text
	normMatch  *matcher      // added tokens with normalized=true, matched after normalization
	addedByID  map[int32]int // index into added
	prefix     []int32       // post-processor template ids before the sequence
	suffix     []int32       // and after it
	maxLen     int           // truncation length including prefix/suffix; 0 = none
	truncDir   Direction
	idToToken  []string // token string per id ("" for holes)
	idBytes    [][]byte // decoded bytes per id (nil for holes)
	vocabSize  int
	source     string // the file loaded, for messages
	namedToken map[string]int32
	scratch    *sync.Pool // of *encodeScratch
}

// WithTruncation returns a tokenizer that shares t's vocabulary and cache and
// truncates every encoding to at most maxLen ids (0 disables truncation),
// cutting from the given end. Post-processor tokens are kept, as in HF.
func (t *Tokenizer) WithTruncation(maxLen int, dir Direction) *Tokenizer {
	c := *t
	c.maxLen, c.truncDir = max(maxLen, 0), dir
	return &c
}

// Source returns the path the tokenizer was loaded from.
func (t *Tokenizer) Source() string { return t.source }

// VocabSize returns the highest token id plus one, counting added tokens.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TokenID returns the id of a token string (a vocabulary entry in its
// byte-level form such as "Ġthe", or an added token's content).
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	if id, ok := t.namedToken[tok]; ok {
		return id, true
	}
	id, ok := t.model.vocab[tok]
	return id, ok
}

// Token returns the token string of id ("" and false when no token has it).
func (t *Tokenizer) Token(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.idToToken) || t.idBytes[id] == nil {
		return "", false
	}
	return t.idToToken[id], true
}

// AddedTokens returns a copy of the added tokens in file order.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// PadID returns the id of <|padding|> when the vocabulary has it, else of <|endoftext|>, else -1.
func (t *Tokenizer) PadID() int32 {
	for _, s := range []string{"<|padding|>", "<|endoftext|>"} {
		if id, ok := t.TokenID(s); ok {
			return id
		}
	}
	return -1
}

// EOSID returns the id of <|endoftext|>, else of </s>, else -1.
func (t *Tokenizer) EOSID() int32 {
	for _, s := range []string{"<|endoftext|>", "</s>"} {
		if id, ok := t.TokenID(s); ok {
			return id
		}
	}
	return -1
}

// Encode tokenizes text. It returns an error wrapping ErrInvalidUTF8, with the
// byte offset, when text is not valid UTF-8.
func (t *Tokenizer) Encode(text string) ([]int32, error) {
	sc := t.scratch.Get().(*encodeScratch)
	ids, err := t.encode(make([]int32, 0, len(text)/4+8), text, sc)
	t.scratch.Put(sc)
	return ids, err
}

// Tokens returns the token strings of Encode(text), in their byte-level form
// (e.g. "Ġworld") as HF's Encoding.tokens.
func (t *Tokenizer) Tokens(text string) ([]string, error) {
	ids, err := t.Encode(text)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.idToToken[id]
	}
	return out, nil
}

// encodeScratch holds reusable buffers of one encoding goroutine.
type encodeScratch struct {
	spans  []span
	spans2 []span
	words  []string
	local  map[string][]int32 // private word cache (see appendWord)
}

func newScratch() *encodeScratch {
	return &encodeScratch{local: make(map[string][]int32)}
}

func checkUTF8(text string) error {
	if utf8.ValidString(text) {
		return nil
	}
	for i := 0; i < len(text); {
		r, w := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && w == 1 {
			return fmt.Errorf("%w at byte %d (0x%02x)", ErrInvalidUTF8, i, text[i])
		}
		i += w
	}
	return ErrInvalidUTF8
}

func (t *Tokenizer) encode(dst []int32, text string, sc *encodeScratch) ([]int32, error) {
	if err := checkUTF8(text); err != nil {
		return nil, err
	}
	if sc == nil {
		sc = newScratch()
	}
	dst = append(dst, t.prefix...)
	sc.spans = t.rawMatch.split(sc.spans[:0], text)
	for _, sp := range sc.spans {
		if sp.token >= 0 {
			dst = append(dst, t.rawMatch.tokens[sp.token].ID)
			continue
		}
		piece := t.normalize(text[sp.start:sp.end])
		sc.spans2 = t.normMatch.split(sc.spans2[:0], piece)
		for _, sp2 := range sc.spans2 {
			if sp2.token >= 0 {
				dst = append(dst, t.normMatch.tokens[sp2.token].ID)
				continue
			}
			dst = t.encodeText(dst, piece[sp2.start:sp2.end], sc)
		}
	}
	dst = append(dst, t.suffix...)
	return t.truncate(dst), nil
}

// encodeText pre-tokenizes one normalized piece that holds no added token and
// appends its BPE ids.
func (t *Tokenizer) encodeText(dst []int32, s string, sc *encodeScratch) []int32 {
	if s == "" {
		return dst
	}
	if t.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !t.useRegex {
		return t.model.appendWord(dst, s, sc.local)
	}
	sc.words = splitGPT2(sc.words[:0], s)
	for _, w := range sc.words {
		dst = t.model.appendWord(dst, w, sc.local)
	}
	return dst
}

func (t *Tokenizer) normalize(s string) string {
	if len(t.normalizers) == 0 || isASCII(s) { // ASCII is invariant under NFC, NFD, NFKC and NFKD
		return s
	}
	for _, f := range t.normalizers {
		if !f.IsNormalString(s) {
			s = f.String(s)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Normalize returns text as the tokenizer's normalizers leave it (for example
// its NFC form); decoding an encoding gives this string back.
func (t *Tokenizer) Normalize(text string) string { return t.normalize(text) }

func (t *Tokenizer) truncate(ids []int32) []int32 {
	if t.maxLen <= 0 || len(ids) <= t.maxLen {
		return ids
	}
	keep := t.truncateIndex(len(ids))
	out := make([]int32, len(keep))
	for i, k := range keep {
		out[i] = ids[k]
	}
	return out
}

// BatchError is the error of EncodeBatch: the first failing text's index and its error.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("text %d: %v", e.Index, e.Err) }

// Unwrap returns the text's error.
func (e *BatchError) Unwrap() error { return e.Err }

// EncodeBatch encodes texts with up to workers goroutines (workers <= 0 uses
// GOMAXPROCS). Results are in input order; on failure the error is a
// *BatchError for the lowest failing index.
func (t *Tokenizer) EncodeBatch(texts []string, workers int) ([][]int32, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(texts))
	out := make([][]int32, len(texts))
	if workers <= 1 {
		sc := t.scratch.Get().(*encodeScratch)
		defer t.scratch.Put(sc)
		for i, s := range texts {
			ids, err := t.encode(make([]int32, 0, len(s)/4+8), s, sc)
			if err != nil {
				return nil, &BatchError{Index: i, Err: err}
			}
			out[i] = ids
		}
		return out, nil
	}
	const chunk = 64
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		next    int
		firstAt = -1
		first   error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := t.scratch.Get().(*encodeScratch)
			defer t.scratch.Put(sc)
			for {
				mu.Lock()
				lo := next
				next += chunk
				stop := first != nil
				mu.Unlock()
				if stop || lo >= len(texts) {
					return
				}
				for i := lo; i < min(lo+chunk, len(texts)); i++ {
					ids, err := t.encode(make([]int32, 0, len(texts[i])/4+8), texts[i], sc)
					if err != nil {
						mu.Lock()
						if firstAt < 0 || i < firstAt {
							firstAt, first = i, err
						}
						mu.Unlock()
						break
					}
					out[i] = ids
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, &BatchError{Index: firstAt, Err: first}
	}
	return out, nil
}

// Decode returns the text of ids, keeping special tokens, as HF's
// decode(ids, skip_special_tokens=False) with the ByteLevel decoder. Byte
// sequences that are not valid UTF-8 (a partial character) become U+FFFD.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	b, err := t.DecodeBytes(ids, false)
	if err != nil {
		return "", err
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), nil
}

// DecodeBytes returns the raw bytes of ids, leaving out special added tokens
// when skipSpecial is set. An id that no token has is an error naming its position.
func (t *Tokenizer) DecodeBytes(ids []int32, skipSpecial bool) ([]byte, error) {
	var out []byte
	for i, id := range ids {
		if id < 0 || int(id) >= len(t.idBytes) || t.idBytes[id] == nil {
			return nil, fmt.Errorf("decode: id %d at position %d is not in the vocabulary of %s (size %d)", id, i, t.source, t.vocabSize)
		}
		if skipSpecial {
			if k, ok := t.addedByID[id]; ok && t.added[k].Special {
				continue
			}
		}
		out = append(out, t.idBytes[id]...)
	}
	return out, nil
}
