package train

import "math"

// LearningRate returns the learning rate of step s (0-based) of total steps
// for the schedule ("cosine" or "constant") with linear warm-up over
// round(warmupFrac·total) steps; see the package doc.
func LearningRate(lr float64, schedule string, warmupFrac float64, s, total int) float64 {
	w := int(math.Round(warmupFrac * float64(total)))
	if s < w {
		return lr * float64(s+1) / float64(w)
	}
	if schedule == ScheduleConstant || total <= w {
		return lr
	}
	return lr * 0.5 * (1 + math.Cos(math.Pi*float64(s-w)/float64(total-w)))
}

// LogconfWeight is logconf's coefficient a at training fraction f:
// coef·min(1, f/warmup) (coef when warmup is 0).
func LogconfWeight(coef, warmup, f float64) float64 {
	if warmup <= 0 || f >= warmup {
		return coef
	}
	return coef * f / warmup
}
