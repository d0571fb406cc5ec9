package main

import (
	"github.com/spf13/pflag"
	"github.com/w2st/w2st/data/tokenizer"
)

// tokenizerFlags are the flags of the commands that encode text:
// --tokenizer, --max-len, --truncate-left and --workers.
type tokenizerFlags struct {
	path    string
	maxLen  int
	left    bool
	workers int
}

func addTokenizerFlags(fs *pflag.FlagSet, unit string) *tokenizerFlags {
	t := &tokenizerFlags{}
	fs.StringVar(&t.path, "tokenizer", "", "tokenizer.json, or a folder with tokenizer.json or encoder.json + vocab.bpe (required)")
	fs.IntVar(&t.maxLen, "max-len", 0, "keep at most N tokens per "+unit+" (0: no limit)")
	fs.BoolVar(&t.left, "truncate-left", false, "with --max-len, keep the last N tokens instead of the first")
	fs.IntVar(&t.workers, "workers", 0, "encoding goroutines (0: one per CPU)")
	return t
}

// load checks the flags (a bad value is a usage error) and loads the tokenizer
// with the requested truncation.
func (t *tokenizerFlags) load() (*tokenizer.Tokenizer, error) {
	switch {
	case t.path == "":
		return nil, usageErrorf("--tokenizer is required")
	case t.maxLen < 0:
		return nil, usageErrorf("--max-len must be >= 0, got %d", t.maxLen)
	case t.left && t.maxLen == 0:
		return nil, usageErrorf("--truncate-left needs --max-len")
	case t.workers < 0:
		return nil, usageErrorf("--workers must be >= 0, got %d", t.workers)
	}
	tok, err := tokenizer.Load(t.path)
	if err != nil {
		return nil, err
	}
	if t.maxLen > 0 {
		dir := tokenizer.TruncateRight
		if t.left {
			dir = tokenizer.TruncateLeft
		}
		tok = tok.WithTruncation(t.maxLen, dir)
	}
	return tok, nil
}
