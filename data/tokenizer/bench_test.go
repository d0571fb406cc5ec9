package tokenizer

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/w2st/w2st/internal/shareddata"
)

// reportCPU adds MB of text per CPU-second (user + system time of the whole
// process) to a benchmark, a figure that other load on the machine distorts
// far less than wall-clock MB/s. Call it after the timed loop.
func reportCPU(b *testing.B, start time.Duration, bytesPerOp int64) {
	if cpu := processCPU() - start; cpu > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

// benchTexts returns the SST-2 train sentences (about 5.2 MB) and their byte count.
func benchTexts(b *testing.B) ([]string, int64) {
	b.Helper()
	var texts []string
	var n int64
	for _, c := range corpusTexts(b, shareddata.Dir(b), "sst2/train.tsv") {
		texts = append(texts, c.text)
		n += int64(len(c.text))
	}
	return texts, n
}

// BenchmarkEncode reports MB/s of input text (SST-2 train, 3.6 MB) on one
// goroutine, warm cache; compare with the ~5 MB/s per core that HF's Rust
// tokenizers reach.
func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"neox", "gpt2"} {
		b.Run(name, func(b *testing.B) {
			tok := map[string]func(testing.TB) *Tokenizer{"neox": neox, "gpt2": gpt2}[name](b)
			texts, n := benchTexts(b)
			b.SetBytes(n)
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				for _, s := range texts {
					if _, err := tok.Encode(s); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, cpu, n)
		})
	}
}

// BenchmarkEncodeNoCache measures the BPE merge itself (the cache disabled).
func BenchmarkEncodeNoCache(b *testing.B) {
	tok := *neox(b)
	m := *tok.model
	m.cache = newWordCache(0)
	tok.model = &m
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		for _, s := range texts {
			if _, err := tok.Encode(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, cpu, n)
}

// BenchmarkEncodeBatch reports MB/s with GOMAXPROCS workers (wall-clock MB/s
// divided by the worker count is MB/s per core; MB/cpu-s measures the same
// with the CPU actually used).
func BenchmarkEncodeBatch(b *testing.B) {
	tok := neox(b)
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "workers")
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := tok.EncodeBatch(texts, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, n)
}

// BenchmarkEncodeLongWord is a 64 KiB word without spaces (the priority-queue path).
func BenchmarkEncodeLongWord(b *testing.B) {
	tok := neox(b)
	s := strings.Repeat("abcdefghij", 6554)
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		if _, err := tok.Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	p := shareddata.Dir(b) + "/tokenizers/gpt-neox-20b-tokenizer.json"
	for i := 0; i < b.N; i++ {
		if _, err := Load(p); err != nil {
			b.Fatal(err)
		}
	}
}
