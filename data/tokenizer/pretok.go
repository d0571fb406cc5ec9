package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of GPT-2's pre-tokenization pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// with the Unicode semantics of the Oniguruma engine used by HF tokenizers:
// \p{L} is general category L, \p{N} is category N (Nd, Nl, No) and \s is the
// White_Space property.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

// asciiClass holds the class of every ASCII byte.
var asciiClass = func() (t [128]uint8) {
	for b := 0; b < 128; b++ {
		t[b] = uint8(runeClass(rune(b)))
	}
	return t
}()

func runeClass(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.Is(unicode.White_Space, r):
		return classSpace
	}
	return classOther
}

// classAt returns the class and byte width of the rune starting at s[i].
func classAt(s string, i int) (int, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return int(asciiClass[c]), 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return runeClass(r), w
}

// contraction returns the length of the contraction ('s 't 're 've 'm 'll 'd,
// case-sensitive) starting at s[i], or 0.
func contraction(s string, i int) int {
	if s[i] != '\'' || i+1 >= len(s) {
		return 0
	}
	switch s[i+1] {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2] == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2] == 'l' {
			return 3
		}
	}
	return 0
}

// splitGPT2 appends to dst the pieces of s under GPT-2's pattern, matched
// leftmost-first alternative by alternative exactly as a backtracking regex
// engine does; the pattern's lookahead (?!\S) is evaluated by hand. The pieces
// are substrings of s and cover it.
func splitGPT2(dst []string, s string) []string {
	i := 0
	for i < len(s) {
		if n := contraction(s, i); n > 0 {
			dst = append(dst, s[i:i+n])
			i += n
			continue
		}
		// ` ?X+` for X in {letter, number, other}: an optional U+0020, then a run.
		j := i
		if s[i] == ' ' && i+1 < len(s) {
			j = i + 1
		}
		cls, w := classAt(s, j)
		if cls != classSpace && (j > i || s[i] != ' ') {
			k := j + w
			for k < len(s) {
				c, w2 := classAt(s, k)
				if c != cls {
					break
				}
				k += w2
			}
			dst = append(dst, s[i:k])
			i = k
			continue
		}
		// A whitespace run starting at i (s[i] is whitespace here: either a
		// U+0020 not followed by a letter/number/other run, or another space).
		k := i
		last := i // start of the run's last rune
		for k < len(s) {
			c, w2 := classAt(s, k)
			if c != classSpace {
				break
			}
			last = k
			k += w2
		}
		switch {
		case k == len(s):
			// \s+(?!\S) takes the whole run at the end of the text.
		case last > i:
			// Followed by non-space: \s+(?!\S) backtracks one rune, leaving the
			// last whitespace rune to start the next piece.
			k = last
		default:
			// A single whitespace rune before non-space: \s+ takes it.
		}
		dst = append(dst, s[i:k])
		i = k
	}
	return dst
}
