package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/pflag"
	"github.com/w2st/w2st/data/tokenizer"
)

// maxTokenizeLine is the longest input line `w2st tokenize` accepts.
const maxTokenizeLine = 16 << 20

func tokenizeCommand() *command {
	return &command{
		name:    "tokenize",
		summary: "tokenize lines of standard input, one JSON array of token ids per line",
		long: `Reads UTF-8 text from standard input, one example per line (the "\n" or "\r\n"
ending is removed), and prints for each line one JSON array: the token ids, or with
--tokens the token strings in their byte-level spelling ("Ġworld"). --tokenizer names a
Hugging Face tokenizer.json (BPE + ByteLevel, e.g. GPT-NeoX/Pythia or GPT-2) or a folder
with tokenizer.json or GPT-2's encoder.json + vocab.bpe. Invalid UTF-8 is an error naming
the line (exit 1); the output then ends with the line before it. Lines are encoded in
parallel batches; output order is input order.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			tf := addTokenizerFlags(fs, "line")
			asTokens := fs.Bool("tokens", false, "print token strings instead of ids")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q (the text comes on standard input)", args)
				}
				tok, err := tf.load()
				if err != nil {
					return err
				}
				return tokenizeStream(tok, env.stdin, env.stdout, *asTokens, tf.workers)
			}
		},
	}
}

// tokenizeStream encodes in batches of lines and writes one JSON array per line.
func tokenizeStream(tok *tokenizer.Tokenizer, in io.Reader, out io.Writer, asTokens bool, workers int) error {
	const batch = 4096
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxTokenizeLine)
	w := bufio.NewWriterSize(out, 1<<16)
	lines := make([]string, 0, batch)
	first := 1 // line number of lines[0]
	var buf []byte
	var jsonOut bytes.Buffer
	enc := json.NewEncoder(&jsonOut)
	enc.SetEscapeHTML(false) // keep <|endoftext|> readable
	writeRows := func(ids [][]int32) error {
		for _, row := range ids {
			buf = buf[:0]
			if asTokens {
				strs := make([]string, len(row))
				for i, id := range row {
					strs[i], _ = tok.Token(id)
				}
				jsonOut.Reset()
				if err := enc.Encode(strs); err != nil { // writes the array and "\n"
					return fmt.Errorf("writing output: %w", err)
				}
				buf = append(buf, jsonOut.Bytes()...)
			} else {
				buf = append(buf, '[')
				for i, id := range row {
					if i > 0 {
						buf = append(buf, ',')
					}
					buf = strconv.AppendInt(buf, int64(id), 10)
				}
				buf = append(buf, ']', '\n')
			}
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
		return nil
	}
	flush := func() error {
		ids, err := tok.EncodeBatch(lines, workers)
		if err != nil {
			var be *tokenizer.BatchError
			if !errors.As(err, &be) {
				return err
			}
			// Print every line before the bad one, then stop.
			good, _ := tok.EncodeBatch(lines[:be.Index], workers)
			if werr := writeRows(good); werr != nil {
				return werr
			}
			if werr := w.Flush(); werr != nil {
				return fmt.Errorf("writing output: %w", werr)
			}
			return fmt.Errorf("stdin:%d: %w", first+be.Index, be.Err)
		}
		if err := writeRows(ids); err != nil {
			return err
		}
		first += len(lines)
		lines = lines[:0]
		return nil
	}
	for sc.Scan() {
		line := sc.Text()
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		lines = append(lines, line)
		if len(lines) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("stdin:%d: line longer than %d MiB", first+len(lines), maxTokenizeLine>>20)
		}
		return fmt.Errorf("reading stdin: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
