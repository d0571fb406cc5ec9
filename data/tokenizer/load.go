package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// MaxFileSize is the largest tokenizer.json, encoder.json or vocab.bpe Load reads.
const MaxFileSize = 64 << 20

// maxIDHoles is how many ids below the highest one may be unassigned.
const maxIDHoles = 1 << 16

// cacheCapacity is the number of pre-tokens each tokenizer's BPE cache holds.
const cacheCapacity = 1 << 17

// Load reads a tokenizer: a Hugging Face tokenizer.json file, or a folder
// holding either tokenizer.json or GPT-2's encoder.json and vocab.bpe.
// Errors name the file and, for malformed content, the field or line.
func Load(path string) (*Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if !fi.IsDir() {
		return loadHFFile(path)
	}
	hf := filepath.Join(path, "tokenizer.json")
	if _, err := os.Stat(hf); err == nil {
		return loadHFFile(hf)
	}
	enc, bpeFile := filepath.Join(path, "encoder.json"), filepath.Join(path, "vocab.bpe")
	_, e1 := os.Stat(enc)
	_, e2 := os.Stat(bpeFile)
	if e1 != nil || e2 != nil {
		return nil, fmt.Errorf("tokenizer: folder %s has neither tokenizer.json nor encoder.json + vocab.bpe", path)
	}
	return LoadGPT2(enc, bpeFile)
}

// readLimited reads a whole file of at most MaxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("tokenizer: %s is larger than the %d MiB limit", path, MaxFileSize>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1)) // also bounds pipes and growing files
	if err != nil {
		return nil, fmt.Errorf("tokenizer: reading %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("tokenizer: %s is larger than the %d MiB limit", path, MaxFileSize>>20)
	}
	return data, nil
}

func loadHFFile(path string) (*Tokenizer, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	t, err := parseHF(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t.source = path
	return t, nil
}

// LoadGPT2 reads GPT-2's encoder.json (token -> id) and vocab.bpe (merges, one
// "a b" pair per line after a #version header). As HF's GPT2Tokenizer does,
// <|endoftext|> is an added special token, matched in the text.
func LoadGPT2(encoderPath, vocabBPEPath string) (*Tokenizer, error) {
	encData, err := readLimited(encoderPath)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int32
	if err := strictUnmarshal(encData, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", encoderPath, jsonErr(encData, err, ""))
	}
	bpeData, err := readLimited(vocabBPEPath)
	if err != nil {
		return nil, err
	}
	var merges [][2]string
	sc := bufio.NewScanner(bytes.NewReader(bpeData))
	sc.Buffer(make([]byte, 0, 64<<10), MaxFileSize)
	for line := 1; sc.Scan(); line++ {
		txt := strings.TrimRight(sc.Text(), "\r")
		if (line == 1 && strings.HasPrefix(txt, "#version")) || strings.TrimSpace(txt) == "" {
			continue
		}
		parts := strings.Fields(txt)
		if len(parts) != 2 {
			return nil, fmt.Errorf("tokenizer: %s:%d: a merge must be two space-separated tokens, got %q", vocabBPEPath, line, txt)
		}
		merges = append(merges, [2]string{parts[0], parts[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", vocabBPEPath, err)
	}
	spec := &hfSpec{
		vocab:          vocab,
		merges:         merges,
		mergeWhere:     func(i int) string { return fmt.Sprintf("%s: merge %d", vocabBPEPath, i+1) },
		vocabWhere:     encoderPath,
		unk:            -1,
		addPrefixSpace: false,
		useRegex:       true,
	}
	if id, ok := vocab["<|endoftext|>"]; ok {
		spec.added = []AddedToken{{ID: id, Content: "<|endoftext|>", Special: true}}
	}
	t, err := build(spec)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t.source = filepath.Dir(encoderPath)
	return t, nil
}

// hfSpec is a validated description from which build makes a Tokenizer.
type hfSpec struct {
	vocab          map[string]int32
	merges         [][2]string
	mergeWhere     func(i int) string // names merge i in messages
	vocabWhere     string             // names the vocabulary in messages
	unk            int32
	fuseUnk        bool
	ignoreMerges   bool
	normalizers    []norm.Form
	addPrefixSpace bool
	useRegex       bool
	trimOffsets    bool
	added          []AddedToken
	prefix, suffix []int32
	maxLen         int
	truncDir       Direction
}

func build(s *hfSpec) (*Tokenizer, error) {
	bl := newByteLevel()
	m := &bpe{
		vocab:        s.vocab,
		merges:       make(map[uint64]merge, len(s.merges)),
		unk:          s.unk,
		fuseUnk:      s.fuseUnk,
		ignoreMerges: s.ignoreMerges,
		bl:           bl,
		cache:        newWordCache(cacheCapacity),
	}
	maxID := int32(-1)
	for tok, id := range s.vocab {
		if id < 0 {
			return nil, fmt.Errorf("%s: token %q has negative id %d", s.vocabWhere, tok, id)
		}
		maxID = max(maxID, id)
	}
	for b := 0; b < 256; b++ {
		m.byteID[b] = -1
		if id, ok := s.vocab[string(bl.toRune[b])]; ok {
			m.byteID[b] = id
		}
	}
	for i, p := range s.merges {
		a, okA := s.vocab[p[0]]
		b, okB := s.vocab[p[1]]
		ab, okAB := s.vocab[p[0]+p[1]]
		switch {
		case !okA:
			return nil, fmt.Errorf("%s: token %q is not in the vocabulary", s.mergeWhere(i), p[0])
		case !okB:
			return nil, fmt.Errorf("%s: token %q is not in the vocabulary", s.mergeWhere(i), p[1])
		case !okAB:
			return nil, fmt.Errorf("%s: merged token %q is not in the vocabulary", s.mergeWhere(i), p[0]+p[1])
		}
		// A pair listed twice keeps its last rank, as in GPT-2's dict(zip(merges,
		// range(n))) and HF's HashMap collect.
		m.merges[pairKey(a, b)] = merge{rank: int32(i), id: ab}
	}
	t := &Tokenizer{
		model:          m,
		bl:             bl,
		normalizers:    s.normalizers,
		addPrefixSpace: s.addPrefixSpace,
		useRegex:       s.useRegex,
		trimOffsets:    s.trimOffsets,
		added:          s.added,
		addedByID:      make(map[int32]int, len(s.added)),
		namedToken:     make(map[string]int32, len(s.added)),
		prefix:         s.prefix,
		suffix:         s.suffix,
		maxLen:         s.maxLen,
		truncDir:       s.truncDir,
		scratch:        &sync.Pool{New: func() any { return newScratch() }},
	}
	for _, a := range s.added {
		maxID = max(maxID, a.ID)
	}
	// Ids index dense tables: bound the holes so a hostile file cannot make
	// Load allocate gigabytes.
	if n := len(s.vocab) + len(s.added); int(maxID) >= n+maxIDHoles {
		return nil, fmt.Errorf("%s: highest id %d leaves more than %d ids unused (%d tokens)", s.vocabWhere, maxID, maxIDHoles, n)
	}
	var raw, normd []AddedToken
	for i, a := range s.added {
		t.addedByID[a.ID] = i
		if _, ok := t.namedToken[a.Content]; !ok {
			t.namedToken[a.Content] = a.ID
		}
		if a.Normalized {
			a.Content = t.normalize(a.Content) // HF matches normalized tokens by their normalized content
			normd = append(normd, a)
		} else {
			raw = append(raw, a)
		}
	}
	t.rawMatch, t.normMatch = newMatcher(raw), newMatcher(normd)
	t.vocabSize = int(maxID) + 1
	t.idToToken = make([]string, t.vocabSize)
	t.idBytes = make([][]byte, t.vocabSize)
	// Deterministic when two strings share an id: the lexicographically first wins.
	toks := make([]string, 0, len(s.vocab))
	for tok := range s.vocab {
		toks = append(toks, tok)
	}
	sort.Strings(toks)
	for _, tok := range toks {
		id := s.vocab[tok]
		if t.idBytes[id] == nil {
			t.idToToken[id], t.idBytes[id] = tok, bl.decode(tok)
		}
	}
	for _, a := range s.added { // added tokens take precedence for their ids, as in HF
		t.idToToken[a.ID], t.idBytes[a.ID] = a.Content, bl.decode(a.Content)
	}
	for _, id := range append(append([]int32(nil), s.prefix...), s.suffix...) {
		if id < 0 || int(id) >= t.vocabSize || t.idBytes[id] == nil {
			return nil, fmt.Errorf("field post_processor: template id %d is not in the vocabulary", id)
		}
	}
	return t, nil
}

// strictUnmarshal decodes JSON rejecting trailing data after the value.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return nil
}

// jsonErr adds line:column to JSON errors and the field path where known.
func jsonErr(data []byte, err error, field string) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("line %d column %d: invalid JSON: %w", line, col, err)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		f := te.Field
		if field != "" {
			f = strings.TrimSuffix(field+"."+te.Field, ".")
		}
		return fmt.Errorf("line %d column %d: field %s: expected %s, got JSON %s", line, col, f, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("unexpected end of JSON (truncated file?)")
	}
	return err
}

func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
