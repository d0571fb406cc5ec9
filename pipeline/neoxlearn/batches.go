package neoxlearn

import (
	"strconv"

	"github.com/w2st/w2st/data"
)

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
