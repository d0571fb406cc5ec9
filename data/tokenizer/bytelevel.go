package tokenizer

import "unicode/utf8"

// byteLevel is GPT-2's reversible map between the 256 byte values and 256
// printable code points, used by the ByteLevel pre-tokenizer and decoder:
// the printable bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' map to themselves and
// the remaining 68 bytes map, in increasing order, to U+0100, U+0101, ….
type byteLevel struct {
	toRune [256]rune
	toByte map[rune]byte
}

func newByteLevel() *byteLevel {
	bl := &byteLevel{toByte: make(map[rune]byte, 256)}
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printable(b) {
			r = rune(256 + n)
			n++
		}
		bl.toRune[b] = r
		bl.toByte[r] = byte(b)
	}
	return bl
}

// encode returns the byte-level string of raw bytes s (each byte becomes one rune).
func (bl *byteLevel) encode(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, bl.toRune[s[i]])
	}
	return string(buf)
}

// decode maps a token string back to raw bytes as HF's ByteLevel decoder does:
// when every rune of tok is in the byte alphabet the runes become their bytes,
// otherwise (for example an added token made of plain spaces) the token's own
// UTF-8 bytes are used unchanged.
func (bl *byteLevel) decode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := bl.toByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}
