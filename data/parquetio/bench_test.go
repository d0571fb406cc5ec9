package parquetio

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/w2st/w2st/data/synth"
)

// benchRows is the size of the generated benchmark file (W2ST_BENCH_ROWS,
// default 1,000,000).
func benchRows(b *testing.B) int {
	if s := os.Getenv("W2ST_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("bad W2ST_BENCH_ROWS %q", s)
		}
		return n
	}
	return 1_000_000
}

// GenerateCensusFile writes n synthetic census rows to path in chunks.
func generateCensusFile(b *testing.B, path string, n int) {
	b.Helper()
	w, err := NewWriter(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.WriteEach(n, synth.NewCensus(synth.DefaultBias, 1).Next); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func benchRead(b *testing.B, opts Options) {
	n := benchRows(b)
	p := filepath.Join(b.TempDir(), "census.parquet")
	generateCensusFile(b, p, n)
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		r, err := Open([]string{p}, opts)
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
			if rows%(1<<18) == 0 {
				peak = max(peak, heapAfterGC())
			}
		}
		peak = max(peak, heapAfterGC())
		r.Close()
		if rows != n {
			b.Fatalf("%d rows, want %d", rows, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
}

// heapAfterGC is the heap in use right after a forced collection: the
// memory the reader holds, which must not grow with the file (compare
// W2ST_BENCH_ROWS=100000 with the default 1,000,000).
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkRead streams every column of a generated file.
func BenchmarkRead(b *testing.B) { benchRead(b, Options{}) }

// BenchmarkReadShuffled adds a 10,000-row shuffle buffer.
func BenchmarkReadShuffled(b *testing.B) { benchRead(b, Options{ShuffleBuffer: 10000, Seed: 1}) }

// BenchmarkReadProjected reads two small columns only.
func BenchmarkReadProjected(b *testing.B) { benchRead(b, Options{Columns: []string{"label", "group"}}) }

// BenchmarkWrite writes synthetic rows.
func BenchmarkWrite(b *testing.B) {
	n := benchRows(b)
	dir := b.TempDir()
	for b.Loop() {
		generateCensusFile(b, filepath.Join(dir, "w.parquet"), n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
