package train

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/w2st/w2st/data"
)

// BatchSource yields the fixed-shape batches of one epoch at a time.
//
// Reset(epoch) rewinds to the start of that epoch (0-based). For resume to be
// exact, the order of an epoch must be a pure function of the epoch index
// (and the source's seed), not of how many epochs were read before.
// Next returns io.EOF at the end of the epoch.
type BatchSource interface {
	Reset(epoch int) error
	Next() (*data.Batch, error)
}

// Lener is implemented by sources that know their number of batches per
// epoch; others are counted with one pass.
type Lener interface{ Len() int }

// SliceSource serves in-memory batches, optionally in a seeded random order
// per epoch (permutation from PCG(Seed, epoch)).
type SliceSource struct {
	Batches []*data.Batch
	Shuffle bool
	Seed    int64
	order   []int
	pos     int
}

// Reset implements BatchSource.
func (s *SliceSource) Reset(epoch int) error {
	if epoch < 0 {
		return fmt.Errorf("slice source: negative epoch %d", epoch)
	}
	s.order = make([]int, len(s.Batches))
	for i := range s.order {
		s.order[i] = i
	}
	if s.Shuffle {
		r := rand.New(rand.NewPCG(uint64(s.Seed), uint64(epoch)))
		r.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
	}
	s.pos = 0
	return nil
}

// Next implements BatchSource.
func (s *SliceSource) Next() (*data.Batch, error) {
	if s.order == nil {
		if err := s.Reset(0); err != nil {
			return nil, err
		}
	}
	if s.pos >= len(s.order) {
		return nil, io.EOF
	}
	b := s.Batches[s.order[s.pos]]
	s.pos++
	return b, nil
}

// Len implements Lener.
func (s *SliceSource) Len() int { return len(s.Batches) }

// countBatches returns the number of batches of one epoch.
func countBatches(src BatchSource) (int, error) {
	if l, ok := src.(Lener); ok {
		return l.Len(), nil
	}
	if err := src.Reset(0); err != nil {
		return 0, fmt.Errorf("counting batches: %w", err)
	}
	n := 0
	for {
		_, err := src.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("counting batches: batch %d: %w", n, err)
		}
		n++
	}
}

// checkBatch validates a batch's slice lengths against its shape.
func checkBatch(b *data.Batch, classes int) error {
	if b == nil {
		return errors.New("nil batch")
	}
	switch {
	case b.Size < 1 || b.SeqLen < 1:
		return fmt.Errorf("batch shape %dx%d: size and seq len must be >= 1", b.Size, b.SeqLen)
	case b.Real < 0 || b.Real > b.Size:
		return fmt.Errorf("batch Real=%d out of [0,%d]", b.Real, b.Size)
	case b.Classes < 2:
		return fmt.Errorf("batch Classes=%d: need >= 2", b.Classes)
	case classes > 0 && b.Classes != classes:
		return fmt.Errorf("batch has %d classes, the model %d", b.Classes, classes)
	case len(b.Tokens) != b.Size*b.SeqLen:
		return fmt.Errorf("batch Tokens has %d values, want %d×%d", len(b.Tokens), b.Size, b.SeqLen)
	case len(b.Lengths) != b.Size || len(b.Labels) != b.Size || len(b.Groups) != b.Size || len(b.Mask) != b.Size:
		return fmt.Errorf("batch Lengths/Labels/Groups/Mask must have %d values (got %d/%d/%d/%d)",
			b.Size, len(b.Lengths), len(b.Labels), len(b.Groups), len(b.Mask))
	case len(b.SoftLabels) != b.Size*b.Classes:
		return fmt.Errorf("batch SoftLabels has %d values, want %d×%d", len(b.SoftLabels), b.Size, b.Classes)
	}
	for i, l := range b.Lengths {
		if l < 1 || int(l) > b.SeqLen {
			return fmt.Errorf("batch row %d: length %d out of [1,%d]", i, l, b.SeqLen)
		}
	}
	for i, y := range b.Labels {
		if y < 0 || int(y) >= b.Classes {
			return fmt.Errorf("batch row %d: label %d out of [0,%d)", i, y, b.Classes)
		}
	}
	return nil
}
