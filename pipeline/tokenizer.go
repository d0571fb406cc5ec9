package pipeline

import (
	"github.com/w2st/w2st/data/tokenizer"
	"github.com/w2st/w2st/pipeline/wordtok"
)

// WordMinCount is the minimum number of occurrences in the training pool for
// a word to get its own id in the "words" tokenizer (rarer words are <|unk|>).
const WordMinCount = 5

func buildWordTokenizer(texts []string) (Tokenizer, error) {
	return wordtok.Build(texts, 0, WordMinCount)
}

// loadTokenizer opens a model tokenizer: an HF tokenizer.json, or a folder
// with one (or with GPT-2's encoder.json and vocab.bpe).
func loadTokenizer(path string) (Tokenizer, error) {
	return tokenizer.Load(path)
}
