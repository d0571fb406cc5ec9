package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows training progress: a progress bar on a terminal, plain
// lines otherwise, nothing without a writer.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	every int
	total int
	start int
}

func newProgress(w io.Writer, total, start, every int) *progress {
	p := &progress{w: w, total: total, start: start, every: every}
	if w == nil {
		return p
	}
	if p.every <= 0 {
		p.every = max(1, total/20)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("train"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
		_ = p.bar.Set(start)
	}
	return p
}

func (p *progress) step(sl *StepLog, elapsed time.Duration) {
	if p.w == nil {
		return
	}
	done := sl.Step - p.start
	eta := time.Duration(0)
	if done > 0 {
		eta = time.Duration(float64(elapsed) / float64(done) * float64(p.total-sl.Step))
	}
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("train loss %.4f %.0f tok/s", sl.Loss, sl.TokensPerS))
		_ = p.bar.Set(sl.Step)
		return
	}
	if sl.Step%p.every == 0 || sl.Step == p.total {
		fmt.Fprintf(p.w, "step %d/%d  loss %.4f  lr %.3g  grad-norm %.3g  %.0f tok/s  eta %s\n",
			sl.Step, p.total, sl.Loss, sl.LR, sl.GradNorm, sl.TokensPerS, eta.Round(time.Second))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
