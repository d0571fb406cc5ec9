package neox

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel"
	"github.com/w2st/w2st/accel/safetensors"
)

// benchShapes are the shapes of the forward+backward benchmark; the PyTorch
// side is `scripts/reference/neox_ref.py bench --shape NAME --batch B --seq S`.
var benchShapes = []struct {
	preset     string
	batch, seq int
	device     bool // only on an accelerator (too slow for the CPU backend)
}{
	{"tiny", 8, 128, false},
	{"pythia-14m", 8, 128, false},
	{"pythia-70m", 4, 128, false},
	{"pythia-410m", 8, 512, true},
}

// benchBackend opens the backend named by W2ST_BACKEND / W2ST_PJRT_PLUGIN (default cpu).
func benchBackend(b *testing.B) *accel.Backend {
	spec, err := accel.ResolveSpec("", "")
	if err != nil {
		b.Fatal(err)
	}
	be, err := accel.Open(spec)
	if err != nil {
		b.Fatal(err)
	}
	return be
}

// BenchmarkForwardBackward measures forward + backward (gradients of a
// soft-label cross-entropy with respect to every parameter) on the CPU
// backend (or the one W2ST_BACKEND names, e.g. cuda), in tokens/s.
func BenchmarkForwardBackward(b *testing.B) {
	benchWith(b, benchBackend(b), -1)
}

// benchWith runs the forward+backward benchmark on backend for benchShapes[only] (all when only < 0).
func benchWith(b *testing.B, backend *accel.Backend, only int) {
	for i, sh := range benchShapes {
		if only >= 0 && i != only {
			continue
		}
		b.Run(sh.preset, func(b *testing.B) {
			if sh.device && backend.Info.Platform == "cpu" {
				b.Skip("accelerator-only shape")
			}
			cfg, _ := Preset(sh.preset)
			ctx := context.New()
			ctx.SetParam(context.ParamInitialSeed, int64(1))
			rng := rand.New(rand.NewPCG(1, 2))
			tok := make([]int32, sh.batch*sh.seq)
			for i := range tok {
				tok[i] = int32(rng.IntN(cfg.VocabSize))
			}
			lens := make([]int32, sh.batch)
			for i := range lens {
				lens[i] = int32(1 + rng.IntN(sh.seq))
			}
			soft := make([]float32, sh.batch*cfg.NumLabels)
			for i := 0; i < sh.batch; i++ {
				soft[i*2], soft[i*2+1] = 0.3, 0.7
			}
			args := []any{tensors.FromFlatDataAndDimensions(tok, sh.batch, sh.seq), tensors.FromFlatDataAndDimensions(lens, sh.batch),
				tensors.FromFlatDataAndDimensions(soft, sh.batch, cfg.NumLabels)}
			exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, tokens, lengths, soft *Node) []*Node {
				loss := softXent(Logits(ctx, cfg, tokens, lengths, ForwardOptions{}), soft)
				return append([]*Node{loss}, ctx.BuildTrainableVariablesGradientsGraph(loss)...)
			})
			if err != nil {
				b.Fatal(err)
			}
			defer exec.Finalize()
			run := func() {
				outs, err := exec.Exec(args...)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range outs {
					o.FinalizeAll()
				}
			}
			run() // compile and initialise outside the timing
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			b.ReportMetric(float64(sh.batch*sh.seq*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
		if backend.Info.Platform == "cpu" && !sh.device {
			b.Run(sh.preset+"/pytorch", func(b *testing.B) { benchPyTorch(b, sh.preset, sh.batch, sh.seq) })
		}
	}
}

// benchPyTorch runs the independent PyTorch reference's forward+backward on
// the same shape and batch (scripts/reference/neox_ref.py bench, with as many
// torch threads as GOMAXPROCS), so one `go test -bench ForwardBackward` run
// prints Go's and PyTorch's tokens/s side by side. Skipped without
// /usr/bin/python3 + torch.
func benchPyTorch(b *testing.B, shape string, batch, seq int) {
	if exec.Command("/usr/bin/python3", "-c", "import torch").Run() != nil {
		b.Skip("no /usr/bin/python3 with torch (Debian python3-torch)")
	}
	cmd := exec.Command("/usr/bin/python3", "../../scripts/reference/neox_ref.py", "bench", "--shape", shape,
		"--batch", strconv.Itoa(batch), "--seq", strconv.Itoa(seq), "--steps", strconv.Itoa(max(b.N, 1)))
	cmd.Env = append(os.Environ(), "W2ST_REF_THREADS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("PyTorch reference bench: %v\n%s", err, out)
	}
	var res struct {
		TokensPerSec float64 `json:"tokens_per_sec"`
		SecPerStep   float64 `json:"sec_per_step"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		b.Fatalf("PyTorch reference bench output %q: %v", out, err)
	}
	// The wall time includes Python's start-up; report the reference's own step time instead.
	b.ReportMetric(res.SecPerStep*1e9, "ns/op")
	b.ReportMetric(res.TokensPerSec, "tokens/s")
}

// vmHWM returns the process's peak resident set size in bytes (Linux).
func vmHWM(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Skip("no VmHWM")
	return 0
}

// BenchmarkLoadWeights500MB writes a random 660 MB F32 checkpoint (generated
// in a temp dir, streamed, never committed) and loads it, reporting the
// process's peak RSS (VmHWM) against the checkpoint size. Run it alone so
// the peak is this benchmark's:
//
//	go test ./accel/neox -run '^$' -bench LoadWeights500MB -benchtime 1x
func BenchmarkLoadWeights500MB(b *testing.B) {
	cfg := pythia(PythiaVocabSize, 1024, 9, 16) // 660 MB in f32
	dir := b.TempDir()
	var es []safetensors.Entry
	var size int64
	for _, p := range cfg.Params() {
		n := numel(p.Shape)
		size += 4 * int64(n)
		seed := uint64(len(es))
		es = append(es, safetensors.Entry{Name: p.Name, DType: safetensors.F32, Shape: p.Shape,
			WriteData: func(w io.Writer) error {
				bw := bufio.NewWriterSize(w, 1<<16)
				r := rand.New(rand.NewPCG(seed, 7))
				var buf [4]byte
				for i := 0; i < n; i++ {
					binary.LittleEndian.PutUint32(buf[:], math.Float32bits(float32(r.NormFloat64()*0.02)))
					if _, err := bw.Write(buf[:]); err != nil {
						return err
					}
				}
				return bw.Flush()
			}})
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := safetensors.WriteFile(path, es, nil); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	before := vmHWM(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx := context.New()
		if err := LoadWeights(ctx, cfg, dir); err != nil {
			b.Fatal(err)
		}
		if i == b.N-1 {
			b.StopTimer()
			peak := vmHWM(b)
			b.ReportMetric(float64(size)/1e6, "ckpt-MB")
			b.ReportMetric(float64(peak)/1e6, "peak-RSS-MB")
			b.ReportMetric(float64(before)/1e6, "RSS-before-MB")
			b.ReportMetric(float64(peak)/float64(size), "peak/ckpt")
			b.ReportMetric(float64(size)/1e6/(b.Elapsed().Seconds()/float64(b.N)), "MB/s")
		}
		runtime.KeepAlive(ctx)
		ctx.Finalize()
		runtime.GC()
	}
}
