package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is an entry of tokenizer.json's added_tokens: a string matched in
// the text before pre-tokenization and mapped to a fixed id, never split by BPE.
type AddedToken struct {
	ID      int32
	Content string
	// SingleWord: only match when not preceded or followed by a word character
	// (a letter or number).
	SingleWord bool
	// LStrip and RStrip: the match absorbs the whitespace on its left/right.
	LStrip, RStrip bool
	// Normalized: matched in the normalized text (after NFC) rather than the raw text.
	Normalized bool
	// Special marks control tokens such as <|endoftext|>.
	Special bool
}

// matcher finds added tokens in a string with leftmost-longest semantics
// (HF tokenizers uses an Aho-Corasick automaton with MatchKind::LeftmostLongest)
// and then applies each token's single_word, lstrip and rstrip flags.
type matcher struct {
	nodes  []trieNode
	tokens []AddedToken
	first  [256]bool // bytes that start some pattern
	only   int       // the single byte that starts every pattern, or -1
}

type trieNode struct {
	next  []trieEdge
	token int32 // index into tokens of the pattern ending here, or -1
}

type trieEdge struct {
	b    byte
	node int32
}

// newMatcher builds a matcher over tokens whose patterns are their Content
// (already normalized by the caller where needed). Empty patterns are ignored.
func newMatcher(tokens []AddedToken) *matcher {
	m := &matcher{nodes: []trieNode{{token: -1}}, tokens: tokens, only: -1}
	starts := 0
	for ti, t := range tokens {
		if t.Content == "" {
			continue
		}
		if !m.first[t.Content[0]] {
			starts++
			m.only = int(t.Content[0])
		}
		m.first[t.Content[0]] = true
		n := int32(0)
		for i := 0; i < len(t.Content); i++ {
			n = m.child(n, t.Content[i], true)
		}
		if m.nodes[n].token < 0 { // first of duplicate contents wins
			m.nodes[n].token = int32(ti)
		}
	}
	if starts != 1 {
		m.only = -1
	}
	return m
}

func (m *matcher) child(n int32, b byte, create bool) int32 {
	for _, e := range m.nodes[n].next {
		if e.b == b {
			return e.node
		}
	}
	if !create {
		return -1
	}
	m.nodes = append(m.nodes, trieNode{token: -1})
	id := int32(len(m.nodes) - 1)
	m.nodes[n].next = append(m.nodes[n].next, trieEdge{b: b, node: id})
	return id
}

// longestAt returns the index of the longest pattern starting at s[i] and its end, or -1.
func (m *matcher) longestAt(s string, i int) (int32, int) {
	best, end := int32(-1), 0
	n := int32(0)
	for k := i; k < len(s); k++ {
		if n = m.child(n, s[k], false); n < 0 {
			break
		}
		if t := m.nodes[n].token; t >= 0 {
			best, end = t, k+1
		}
	}
	return best, end
}

// span is a piece of a string: an added token (token >= 0) or text to pre-tokenize.
type span struct {
	start, end int
	token      int32 // index into matcher.tokens, or -1
}

// split appends to dst the pieces of s: matched added tokens and the text
// between them, covering s.
func (m *matcher) split(dst []span, s string) []span {
	if m == nil || len(m.nodes) == 1 {
		return append(dst, span{0, len(s), -1})
	}
	last := 0 // end of the previous emitted piece
	for i := 0; i < len(s); {
		if m.only >= 0 { // one start byte (NeoX: '<' raw, ' ' normalized): jump to it
			k := strings.IndexByte(s[i:], byte(m.only))
			if k < 0 {
				break
			}
			i += k
		} else if !m.first[s[i]] {
			i++
			continue
		}
		ti, end := m.longestAt(s, i)
		if ti < 0 {
			i++
			continue
		}
		t := &m.tokens[ti]
		start, stop := i, end
		if t.SingleWord && ((start > 0 && endsWithWord(s[:start])) || (stop < len(s) && startsWithWord(s[stop:]))) {
			i = end // discarded; the automaton resumes after the match
			continue
		}
		if t.LStrip {
			start = max(leftSpaceStart(s[:start]), last)
		}
		if t.RStrip {
			stop += rightSpaceLen(s[stop:])
		}
		if last < start {
			dst = append(dst, span{last, start, -1})
		}
		dst = append(dst, span{start, stop, ti})
		last, i = stop, stop
	}
	if last < len(s) {
		dst = append(dst, span{last, len(s), -1})
	}
	return dst
}

// isWordRune is Rust's char::is_alphanumeric (Alphabetic or Numeric).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Other_Alphabetic, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}

// leftSpaceStart returns the offset where the trailing whitespace of s starts.
func leftSpaceStart(s string) int {
	i := len(s)
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.Is(unicode.White_Space, r) {
			break
		}
		i -= w
	}
	return i
}

// rightSpaceLen returns the byte length of the leading whitespace of s.
func rightSpaceLen(s string) int {
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !unicode.Is(unicode.White_Space, r) {
			break
		}
		i += w
	}
	return i
}
