package neoxlearn

import (
	"strconv"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/batching"
)

// batcherSource adapts a batching.Batcher to train.BatchSource.
type batcherSource struct{ *batching.Batcher }

// Reset implements train.BatchSource: epoch e's order depends only on the
// seed and e, so a resumed run sees the same batches.
func (s batcherSource) Reset(epoch int) error {
	s.SetEpoch(epoch)
	return nil
}

// Len implements train.Lener.
func (s batcherSource) Len() int { return s.NumBatches() }

// indexed returns copies of rows whose IDs are their indices (so predictions
// map back to rows even when example ids repeat), without soft labels when
// keepSoft is false.
func indexed(rows []data.Example, keepSoft bool) []data.Example {
	out := make([]data.Example, len(rows))
	for i, r := range rows {
		r.ID = strconv.Itoa(i)
		if !keepSoft {
			r.SoftLabel = nil
		}
		r.Length = int32(len(r.InputIDs))
		out[i] = r
	}
	return out
}
