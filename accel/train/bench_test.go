package train

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/w2st/w2st/accel/neox"
	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/trust"
	"github.com/w2st/w2st/trust/fairness"
)

// benchTrain trains b.N steps (after one warm-up step that compiles) and
// reports tokens/s.
func benchTrain(b *testing.B, model ModelFn, batch *data.Batch, cfg Config) {
	ctx := context.New()
	cfg.MaxSteps = 1
	if _, err := Train(testBackend, ctx, model, &SliceSource{Batches: []*data.Batch{batch}}, cfg); err != nil {
		b.Fatal(err)
	}
	cfg.MaxSteps = b.N
	b.ResetTimer()
	res, err := Train(testBackend, ctx, model, &SliceSource{Batches: []*data.Batch{batch}}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(res.Tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkTrainStepTiny(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	benchTrain(b, tinyModel, makeBatch(r, 32, 32, 64), Config{LR: 1e-3})
}

func BenchmarkTrainStepNeoXTiny(b *testing.B) {
	cfg, err := neox.Preset("tiny")
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	batch := makeBatch(r, 32, 32, 64)
	for _, loss := range []string{LossXent, LossLogconf} {
		b.Run(loss, func(b *testing.B) {
			benchTrain(b, NeoXModel(cfg, 0), batch, Config{LR: 1e-3, Loss: loss, ClipNorm: 1,
				Regularizers: []trust.Regularizer{fairness.NewDemographicParity(1)}})
		})
	}
}
