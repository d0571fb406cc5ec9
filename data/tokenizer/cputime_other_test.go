//go:build !unix

package tokenizer

import "time"

// processCPU is unavailable here; the MB/cpu-s metric is then not reported.
func processCPU() time.Duration { return 0 }
