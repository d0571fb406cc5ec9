// Package split divides a training pool into the weak and strong halves of a
// weak-to-strong experiment and checks that nothing leaks between them: no
// example id is in both halves, and the student trained on weak labels sees
// no ground-truth label of its half.
package split

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/w2st/w2st/data"
)

// Halves is a 50/50 split of a training pool.
type Halves struct {
	Weak   []data.Example // D_weak: the weak model trains on it with ground truth
	Strong []data.Example // D_strong: weak labels, the ceiling and the student
}

// Split shuffles rows with a PCG generator seeded by seed and gives the first
// ⌊n/2⌋ to D_weak and the rest to D_strong. The result depends only on the set
// of ids and the seed, not on the order of rows in the file (rows are ordered
// by id before shuffling). Ids must be non-empty and unique.
func Split(rows []data.Example, seed int64) (Halves, error) {
	if len(rows) < 2 {
		return Halves{}, fmt.Errorf("split: %d examples, need at least 2", len(rows))
	}
	idx := make([]int, len(rows))
	seen := make(map[string]int, len(rows))
	for i, r := range rows {
		if r.ID == "" {
			return Halves{}, fmt.Errorf("split: row %d has an empty id", i+1)
		}
		if j, dup := seen[r.ID]; dup {
			return Halves{}, fmt.Errorf("split: id %q is on rows %d and %d; ids must be unique", r.ID, j+1, i+1)
		}
		seen[r.ID] = i
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return rows[idx[a]].ID < rows[idx[b]].ID })
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed5b1175))
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	half := len(rows) / 2
	h := Halves{Weak: make([]data.Example, 0, half), Strong: make([]data.Example, 0, len(rows)-half)}
	for k, i := range idx {
		if k < half {
			h.Weak = append(h.Weak, rows[i])
		} else {
			h.Strong = append(h.Strong, rows[i])
		}
	}
	if err := CheckDisjoint(h.Weak, h.Strong); err != nil {
		return Halves{}, err
	}
	return h, nil
}

// LeakError is a failed leakage check.
type LeakError struct{ Msg string }

func (e *LeakError) Error() string { return "leakage check failed: " + e.Msg }

// CheckDisjoint fails when an example id is in both halves.
func CheckDisjoint(weak, strong []data.Example) error {
	ids := make(map[string]bool, len(weak))
	for _, r := range weak {
		ids[r.ID] = true
	}
	for _, r := range strong {
		if ids[r.ID] {
			return &LeakError{Msg: fmt.Sprintf("example id %q is in both D_weak and D_strong", r.ID)}
		}
	}
	return nil
}

// Argmax returns the index of the largest probability (the first on ties), or
// -1 for an empty slice.
func Argmax(p []float32) int {
	best := -1
	for i, v := range p {
		if best < 0 || v > p[best] {
			best = i
		}
	}
	return best
}

// StudentSet builds the W2S student's training rows from D_strong and the weak
// model's class probabilities on it: each row keeps its id, text, tokens and
// group, its soft label becomes the weak probabilities and its label column is
// replaced by the weak model's hard label (argmax), so no ground truth of
// D_strong remains in the rows.
func StudentSet(strong []data.Example, weakProbs map[string][]float32) ([]data.Example, error) {
	out := make([]data.Example, len(strong))
	for i, r := range strong {
		p, ok := weakProbs[r.ID]
		if !ok {
			return nil, fmt.Errorf("weak labels: no prediction for D_strong example %q", r.ID)
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("weak labels: empty probabilities for example %q", r.ID)
		}
		r.SoftLabel = slices.Clone(p)
		r.Label = int32(Argmax(p))
		out[i] = r
	}
	return out, nil
}

// CheckStudent verifies the rows the W2S student is about to train on: every id
// is in D_strong and not in D_weak, every soft label is exactly the weak model's
// prediction for that id, and every label equals the argmax of the weak
// prediction. Any other label value can only have come from ground truth (or a
// bug) and fails the run.
func CheckStudent(student []data.Example, weakIDs map[string]bool, strongIDs map[string]bool, weakProbs map[string][]float32) error {
	if len(student) != len(strongIDs) {
		return &LeakError{Msg: fmt.Sprintf("student set has %d rows, D_strong has %d", len(student), len(strongIDs))}
	}
	for i, r := range student {
		if weakIDs[r.ID] {
			return &LeakError{Msg: fmt.Sprintf("student row %d: id %q belongs to D_weak", i+1, r.ID)}
		}
		if !strongIDs[r.ID] {
			return &LeakError{Msg: fmt.Sprintf("student row %d: id %q is not in D_strong", i+1, r.ID)}
		}
		p := weakProbs[r.ID]
		if !slices.Equal(p, r.SoftLabel) {
			return &LeakError{Msg: fmt.Sprintf("student row %d (id %q): soft label %v is not the weak model's prediction %v", i+1, r.ID, r.SoftLabel, p)}
		}
		if want := int32(Argmax(p)); r.Label != want {
			return &LeakError{Msg: fmt.Sprintf("student row %d (id %q): label %d is not the weak label %d (a ground-truth label would reach the student)", i+1, r.ID, r.Label, want)}
		}
	}
	return nil
}

// IDs returns the set of ids of rows.
func IDs(rows []data.Example) map[string]bool {
	m := make(map[string]bool, len(rows))
	for _, r := range rows {
		m[r.ID] = true
	}
	return m
}
