// Command rssprobe measures the streaming reader's memory: it generates a
// synthetic census Parquet file, or streams one (optionally tokenizing every
// row and shuffling through a bounded buffer) and prints rows/s and the peak
// resident set size (VmHWM from /proc/self/status) and the largest heap in
// use right after a forced collection (sampled every 262,144 rows).
// VmHWM also counts garbage the collector has not reclaimed yet, which on a
// loaded machine grows with run time; GOMEMLIMIT caps it. Run it once per size to
// compare, e.g.
//
//	go run ./scripts/data/rssprobe gen 1000000 /tmp/census-1m.parquet
//	go run ./scripts/data/rssprobe read /tmp/census-1m.parquet ../shared/data/tokenizers/gpt-neox-20b-tokenizer.json
//
// It is a measuring tool for the closing note, not a test.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/w2st/w2st/data/parquetio"
	"github.com/w2st/w2st/data/synth"
	"github.com/w2st/w2st/data/tokenizer"
)

func main() {
	shuffle := flag.Int("shuffle", 0, "read: shuffle buffer rows (0: file order)")
	chunk := flag.Int("chunk", 4096, "read: rows tokenized per EncodeBatch call")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rssprobe gen N FILE | rssprobe [-shuffle K] read FILE [TOKENIZER]")
	}
	flag.Parse()
	args := flag.Args()
	var err error
	switch {
	case len(args) == 3 && args[0] == "gen":
		err = gen(args[1], args[2])
	case (len(args) == 2 || len(args) == 3) && args[0] == "read":
		tok := ""
		if len(args) == 3 {
			tok = args[2]
		}
		err = read(args[1], tok, *shuffle, *chunk)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rssprobe:", err)
		os.Exit(1)
	}
}

func gen(nStr, path string) error {
	n, err := strconv.Atoi(nStr)
	if err != nil || n < 1 {
		return fmt.Errorf("bad row count %q", nStr)
	}
	start := time.Now()
	w, err := parquetio.NewWriter(path)
	if err != nil {
		return err
	}
	if err := w.WriteEach(n, synth.NewCensus(synth.DefaultBias, 1).Next); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	st, _ := os.Stat(path)
	fmt.Printf("gen rows=%d bytes=%d seconds=%.2f VmHWM_kB=%d\n", n, st.Size(), time.Since(start).Seconds(), vmHWM())
	return nil
}

func read(path, tokPath string, shuffle, chunk int) error {
	var tok *tokenizer.Tokenizer
	if tokPath != "" {
		var err error
		if tok, err = tokenizer.Load(tokPath); err != nil {
			return err
		}
	}
	base := vmHWM()
	start := time.Now()
	r, err := parquetio.Open([]string{path}, parquetio.Options{ShuffleBuffer: shuffle, Seed: 1})
	if err != nil {
		return err
	}
	defer r.Close()
	var rows, tokens int64
	var peakLive uint64
	texts := make([]string, 0, chunk)
	flush := func() error {
		if tok == nil || len(texts) == 0 {
			texts = texts[:0]
			return nil
		}
		ids, err := tok.EncodeBatch(texts, 0)
		if err != nil {
			return err
		}
		for _, x := range ids {
			tokens += int64(len(x))
		}
		texts = texts[:0]
		return nil
	}
	for {
		ex, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rows++
		if rows%(1<<18) == 0 {
			peakLive = max(peakLive, liveHeap())
		}
		texts = append(texts, ex.Text)
		if len(texts) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	sec := time.Since(start).Seconds()
	peakLive = max(peakLive, liveHeap())
	fmt.Printf("read rows=%d tokens=%d seconds=%.2f rows_per_s=%.0f shuffle=%d tokenize=%v VmHWM_kB=%d (after loading the tokenizer: %d) peak_heap_after_gc_kB=%d\n",
		rows, tokens, sec, float64(rows)/sec, shuffle, tok != nil, vmHWM(), base, peakLive>>10)
	return nil
}

// liveHeap forces a collection and returns the heap in use (bytes): what the
// program holds, without the garbage a busy machine's GC has not yet freed.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// vmHWM is the process's peak resident set size in kB (0 when unknown).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}
