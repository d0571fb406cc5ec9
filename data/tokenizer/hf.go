package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// hfFile is the part of tokenizer.json that Load reads.
type hfFile struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"` // padding is the batcher's job; ignored
	AddedTokens   []hfAdded       `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type hfAdded struct {
	ID         *int32 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

type hfTyped struct {
	Type string `json:"type"`
}

type hfNormalizer struct {
	Type        string            `json:"type"`
	Normalizers []json.RawMessage `json:"normalizers"`
}

type hfByteLevel struct {
	Type           string            `json:"type"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	TrimOffsets    *bool             `json:"trim_offsets"`
	UseRegex       *bool             `json:"use_regex"`
	PreTokenizers  []json.RawMessage `json:"pretokenizers"`
}

type hfModel struct {
	Type                    string           `json:"type"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

type hfTruncation struct {
	MaxLength *int   `json:"max_length"`
	Direction string `json:"direction"`
	Strategy  string `json:"strategy"`
	Stride    int    `json:"stride"`
}

type hfPost struct {
	Type          string                    `json:"type"`
	TrimOffsets   *bool                     `json:"trim_offsets"`
	Single        []map[string]hfPiece      `json:"single"`
	SpecialTokens map[string]hfSpecialToken `json:"special_tokens"`
	Processors    []json.RawMessage         `json:"processors"`
}

type hfPiece struct {
	ID     string `json:"id"`
	TypeID int    `json:"type_id"`
}

type hfSpecialToken struct {
	ID  string  `json:"id"`
	IDs []int32 `json:"ids"`
}

func isNull(r json.RawMessage) bool {
	s := strings.TrimSpace(string(r))
	return s == "" || s == "null"
}

// decodeField decodes one sub-object, naming the field in errors.
func decodeField(data json.RawMessage, v any, field string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("field %s: %w", field, jsonErr(data, err, ""))
	}
	return nil
}

// parseHF validates a tokenizer.json and builds the tokenizer.
func parseHF(data []byte) (*Tokenizer, error) {
	var f hfFile
	if err := strictUnmarshal(data, &f); err != nil {
		return nil, jsonErr(data, err, "")
	}
	if isNull(f.Model) {
		return nil, fmt.Errorf("field model: missing")
	}
	spec := &hfSpec{vocabWhere: "field model.vocab", unk: -1, useRegex: true}

	// model
	var m hfModel
	if err := decodeField(f.Model, &m, "model"); err != nil {
		return nil, err
	}
	if m.Type == "" && m.Merges != nil {
		m.Type = "BPE" // old files omit the type
	}
	if m.Type != "BPE" {
		return nil, fmt.Errorf("field model.type: %q is not supported (only BPE)", m.Type)
	}
	if m.Vocab == nil {
		return nil, fmt.Errorf("field model.vocab: missing")
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("field model.dropout: %v is not supported (BPE dropout is random; use null)", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("field model.continuing_subword_prefix: %q is not supported by byte-level BPE", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("field model.end_of_word_suffix: %q is not supported by byte-level BPE", *m.EndOfWordSuffix)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("field model.byte_fallback: true is not supported with the ByteLevel pre-tokenizer")
	}
	spec.vocab, spec.fuseUnk, spec.ignoreMerges = m.Vocab, m.FuseUnk, m.IgnoreMerges
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("field model.unk_token: %q is not in model.vocab", *m.UnkToken)
		}
		spec.unk = id
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	spec.merges = merges
	spec.mergeWhere = func(i int) string { return fmt.Sprintf("field model.merges[%d]", i) }

	// normalizer
	if spec.normalizers, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}

	// pre_tokenizer
	if isNull(f.PreTokenizer) {
		return nil, fmt.Errorf("field pre_tokenizer: missing (byte-level BPE needs the ByteLevel pre-tokenizer)")
	}
	var pt hfByteLevel
	if err := decodeField(f.PreTokenizer, &pt, "pre_tokenizer"); err != nil {
		return nil, err
	}
	field := "pre_tokenizer"
	if pt.Type == "Sequence" && len(pt.PreTokenizers) == 1 {
		field = "pre_tokenizer.pretokenizers[0]"
		pt = hfByteLevel{}
		var seq hfByteLevel
		if err := decodeField(f.PreTokenizer, &seq, "pre_tokenizer"); err != nil {
			return nil, err
		}
		if err := decodeField(seq.PreTokenizers[0], &pt, field); err != nil {
			return nil, err
		}
	}
	if pt.Type != "ByteLevel" {
		return nil, fmt.Errorf("field %s.type: %q is not supported (only ByteLevel)", field, pt.Type)
	}
	if pt.AddPrefixSpace != nil {
		spec.addPrefixSpace = *pt.AddPrefixSpace
	}
	if pt.UseRegex != nil {
		spec.useRegex = *pt.UseRegex
	}

	// decoder: ByteLevel or absent (ids are decoded byte-level either way)
	if !isNull(f.Decoder) {
		var d hfTyped
		if err := decodeField(f.Decoder, &d, "decoder"); err != nil {
			return nil, err
		}
		if d.Type != "ByteLevel" {
			return nil, fmt.Errorf("field decoder.type: %q is not supported (only ByteLevel)", d.Type)
		}
	}

	// added_tokens
	seen := map[int32]int{}
	for i, a := range f.AddedTokens {
		where := fmt.Sprintf("field added_tokens[%d]", i)
		if a.ID == nil {
			return nil, fmt.Errorf("%s.id: missing", where)
		}
		if *a.ID < 0 {
			return nil, fmt.Errorf("%s.id: negative id %d", where, *a.ID)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("%s.content: empty", where)
		}
		if j, dup := seen[*a.ID]; dup {
			return nil, fmt.Errorf("%s.id: id %d is also added_tokens[%d]", where, *a.ID, j)
		}
		seen[*a.ID] = i
		// HF's default for normalized is !special.
		normalized := !a.Special
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		spec.added = append(spec.added, AddedToken{ID: *a.ID, Content: a.Content, SingleWord: a.SingleWord,
			LStrip: a.LStrip, RStrip: a.RStrip, Normalized: normalized, Special: a.Special})
	}

	// post_processor
	if spec.prefix, spec.suffix, spec.trimOffsets, err = parsePost(f.PostProcessor, "post_processor"); err != nil {
		return nil, err
	}

	// truncation
	if !isNull(f.Truncation) {
		var tr hfTruncation
		if err := decodeField(f.Truncation, &tr, "truncation"); err != nil {
			return nil, err
		}
		if tr.MaxLength == nil || *tr.MaxLength < 0 {
			return nil, fmt.Errorf("field truncation.max_length: missing or negative")
		}
		spec.maxLen = *tr.MaxLength
		switch tr.Direction {
		case "", "Right":
		case "Left":
			spec.truncDir = TruncateLeft
		default:
			return nil, fmt.Errorf("field truncation.direction: %q is not Left or Right", tr.Direction)
		}
	}
	return build(spec)
}

// parseMerges accepts both layouts: ["a b", …] and [["a","b"], …].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, fmt.Errorf("field model.merges: missing")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("field model.merges: %w", jsonErr(raw, err, ""))
	}
	out := make([][2]string, len(items))
	for i, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("field model.merges[%d]: %q is not two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var pair []string
		if err := json.Unmarshal(it, &pair); err != nil || len(pair) != 2 || pair[0] == "" || pair[1] == "" {
			return nil, fmt.Errorf("field model.merges[%d]: expected \"a b\" or [\"a\", \"b\"], got %.40s", i, string(it))
		}
		out[i] = [2]string{pair[0], pair[1]}
	}
	return out, nil
}

func parseNormalizer(raw json.RawMessage, field string) ([]norm.Form, error) {
	if isNull(raw) {
		return nil, nil
	}
	var n hfNormalizer
	if err := decodeField(raw, &n, field); err != nil {
		return nil, err
	}
	switch n.Type {
	case "NFC":
		return []norm.Form{norm.NFC}, nil
	case "NFD":
		return []norm.Form{norm.NFD}, nil
	case "NFKC":
		return []norm.Form{norm.NFKC}, nil
	case "NFKD":
		return []norm.Form{norm.NFKD}, nil
	case "Sequence":
		var out []norm.Form
		for i, sub := range n.Normalizers {
			fs, err := parseNormalizer(sub, fmt.Sprintf("%s.normalizers[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("field %s.type: %q is not supported (NFC, NFD, NFKC, NFKD or a Sequence of them)", field, n.Type)
}

// parsePost reads a ByteLevel post-processor (no ids added; its trim_offsets,
// default true, trims offsets), a TemplateProcessing one (its single-sequence
// template) or a Sequence of them.
func parsePost(raw json.RawMessage, field string) (prefix, suffix []int32, trim bool, err error) {
	if isNull(raw) {
		return nil, nil, false, nil
	}
	var p hfPost
	if err := decodeField(raw, &p, field); err != nil {
		return nil, nil, false, err
	}
	switch p.Type {
	case "ByteLevel":
		return nil, nil, p.TrimOffsets == nil || *p.TrimOffsets, nil
	case "Sequence":
		for i, sub := range p.Processors {
			pre, suf, tr, err := parsePost(sub, fmt.Sprintf("%s.processors[%d]", field, i))
			if err != nil {
				return nil, nil, false, err
			}
			prefix, suffix, trim = append(prefix, pre...), append(suffix, suf...), trim || tr
		}
		return prefix, suffix, trim, nil
	case "TemplateProcessing":
		seenSeq := false
		for i, piece := range p.Single {
			where := fmt.Sprintf("%s.single[%d]", field, i)
			if st, ok := piece["SpecialToken"]; ok {
				tok, ok := p.SpecialTokens[st.ID]
				if !ok {
					return nil, nil, false, fmt.Errorf("field %s: special token %q is not in %s.special_tokens", where, st.ID, field)
				}
				if seenSeq {
					suffix = append(suffix, tok.IDs...)
				} else {
					prefix = append(prefix, tok.IDs...)
				}
				continue
			}
			if _, ok := piece["Sequence"]; ok {
				if seenSeq {
					return nil, nil, false, fmt.Errorf("field %s: a single-sequence template has one Sequence", where)
				}
				seenSeq = true
				continue
			}
			return nil, nil, false, fmt.Errorf("field %s: expected SpecialToken or Sequence", where)
		}
		return prefix, suffix, false, nil
	}
	return nil, nil, false, fmt.Errorf("field %s.type: %q is not supported (ByteLevel, TemplateProcessing or Sequence)", field, p.Type)
}
