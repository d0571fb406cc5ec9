package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Offset is the byte range [Start, End) of the input text that a token came from.
type Offset struct{ Start, End int }

// EncodeWithOffsets is Encode that also returns, per id, the byte range of the
// original text it covers, as HF's Encoding.offsets (in bytes). A token that
// holds part of a multi-byte character covers the whole character; a
// normalized character covers the original characters it was composed from;
// post-processor template tokens are (0, 0). With the ByteLevel
// post-processor's trim_offsets, leading and trailing spaces are trimmed from
// each range as HF does (so NeoX's runs-of-spaces tokens get empty ranges).
// A space added by add_prefix_space covers nothing and is never trimmed.
func (t *Tokenizer) EncodeWithOffsets(text string) ([]int32, []Offset, error) {
	if err := checkUTF8(text); err != nil {
		return nil, nil, err
	}
	sc := newScratch()
	var ids []int32
	var offs []Offset
	for range t.prefix {
		offs = append(offs, Offset{})
	}
	ids = append(ids, t.prefix...)
	fake := map[int]bool{} // tokens whose first character is an add_prefix_space space
	spans := t.rawMatch.split(nil, text)
	for _, sp := range spans {
		if sp.token >= 0 {
			ids = append(ids, t.rawMatch.tokens[sp.token].ID)
			offs = append(offs, Offset{sp.start, sp.end})
			continue
		}
		piece, rng := t.normalizeAligned(text[sp.start:sp.end], sp.start)
		for _, sp2 := range t.normMatch.split(nil, piece) {
			if sp2.token >= 0 {
				ids = append(ids, t.normMatch.tokens[sp2.token].ID)
				offs = append(offs, Offset{rng[sp2.start].Start, rng[sp2.end-1].End})
				continue
			}
			if t.addPrefixSpace && piece[sp2.start] != ' ' {
				fake[len(ids)-len(t.prefix)] = true
			}
			ids, offs = t.encodeTextOffsets(ids, offs, piece[sp2.start:sp2.end], rng[sp2.start:sp2.end], sc)
		}
	}
	if t.trimOffsets {
		t.trim(ids[len(t.prefix):], offs[len(t.prefix):], fake)
	}
	for range t.suffix {
		offs = append(offs, Offset{})
	}
	ids = append(ids, t.suffix...)
	keep := t.truncateIndex(len(ids))
	outIDs := make([]int32, 0, len(keep))
	outOffs := make([]Offset, 0, len(keep))
	for _, k := range keep {
		outIDs, outOffs = append(outIDs, ids[k]), append(outOffs, offs[k])
	}
	return outIDs, outOffs, nil
}

// normalizeAligned normalizes s (which starts at byte base of the input) and
// returns, for each byte of the result, the input range it came from.
func (t *Tokenizer) normalizeAligned(s string, base int) (string, []Offset) {
	rng := make([]Offset, len(s))
	for i := range rng {
		// Every byte of a character maps to the whole character.
		start := i
		for start > 0 && !utf8.RuneStart(s[start]) {
			start--
		}
		_, w := utf8.DecodeRuneInString(s[start:])
		rng[i] = Offset{base + start, base + start + w}
	}
	for _, f := range t.normalizers {
		if f.IsNormalString(s) {
			continue
		}
		var it norm.Iter
		it.InitString(f, s)
		var out []byte
		var next []Offset
		prev := 0
		for !it.Done() {
			seg := it.Next()
			pos := it.Pos()
			if string(seg) == s[prev:pos] {
				next = append(next, rng[prev:pos]...) // unchanged: keep per-character ranges
			} else {
				r := Offset{rng[prev].Start, rng[pos-1].End}
				for range seg {
					next = append(next, r)
				}
			}
			out = append(out, seg...)
			prev = pos
		}
		s, rng = string(out), next
	}
	return s, rng
}

// encodeTextOffsets is encodeText keeping each token's input range.
func (t *Tokenizer) encodeTextOffsets(ids []int32, offs []Offset, s string, rng []Offset, sc *encodeScratch) ([]int32, []Offset) {
	if s == "" {
		return ids, offs
	}
	if t.addPrefixSpace && s[0] != ' ' {
		s = " " + s
		rng = append([]Offset{{rng[0].Start, rng[0].Start}}, rng...)
	}
	words := []string{s}
	if t.useRegex {
		words = splitGPT2(sc.words[:0], s)
	}
	pos := 0
	for _, w := range words {
		first := len(ids)
		ids = t.model.appendWord(ids, w, sc.local)
		// Walk the tokens' byte lengths through the word.
		p, ok := 0, true
		for _, id := range ids[first:] {
			n := 1
			if id != t.model.unk {
				n = len(t.idBytes[id])
			}
			if p+n > len(w) {
				ok = false
				break
			}
			offs = append(offs, spanOffset(rng, pos+p, pos+p+n))
			p += n
		}
		if !ok || p != len(w) { // unknown or dropped bytes: every token gets the word
			offs = offs[:first]
			for range ids[first:] {
				offs = append(offs, spanOffset(rng, pos, pos+len(w)))
			}
		}
		pos += len(w)
	}
	return ids, offs
}

// spanOffset maps bytes [a, b) of s to the input, widened to whole characters.
func spanOffset(rng []Offset, a, b int) Offset {
	return Offset{rng[a].Start, max(rng[b-1].End, rng[a].Start)}
}

// trim applies the ByteLevel post-processor's trim_offsets.
func (t *Tokenizer) trim(ids []int32, offs []Offset, fake map[int]bool) {
	space := t.bl.toRune[' ']
	isSpace := func(r rune) bool { return r == space || unicode.Is(unicode.White_Space, r) }
	for i, id := range ids {
		tok := t.idToToken[id]
		lead, trail := 0, 0
		for _, r := range tok {
			if !isSpace(r) {
				break
			}
			lead++
		}
		for k := len(tok); k > 0; {
			r, w := utf8.DecodeLastRuneInString(tok[:k])
			if !isSpace(r) {
				break
			}
			trail++
			k -= w
		}
		o := &offs[i]
		if fake[i] && lead > 0 {
			lead-- // that space is not in the text
		}
		if lead > 0 {
			o.Start = min(o.Start+lead, o.End)
		}
		if trail > 0 && o.End >= trail {
			o.End = max(o.End-trail, o.Start)
		}
	}
}

// truncateIndex returns the indices of an n-id encoding that truncation keeps.
func (t *Tokenizer) truncateIndex(n int) []int {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if t.maxLen <= 0 || n <= t.maxLen {
		return all
	}
	body := all[len(t.prefix) : n-len(t.suffix)]
	keep := max(t.maxLen-len(t.prefix)-len(t.suffix), 0)
	if t.truncDir == TruncateLeft {
		body = body[len(body)-keep:]
	} else {
		body = body[:keep]
	}
	out := append(append(append([]int(nil), all[:len(t.prefix)]...), body...), all[n-len(t.suffix):]...)
	if len(out) > t.maxLen {
		out = out[:t.maxLen]
	}
	return out
}
