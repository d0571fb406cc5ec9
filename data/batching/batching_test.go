package batching

import (
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/w2st/w2st/data"
)

func hist(pairs ...int) Histogram {
	var h Histogram
	for i := 0; i < len(pairs); i += 2 {
		for range pairs[i+1] {
			h.Add(pairs[i])
		}
	}
	return h
}

func TestPlanHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      Histogram
		k      int
		bounds []int
		padded int64
	}{
		// {1,100}: 10+11*100=1110; {2,100}: 20*2+100=140; {100}: 2100
		{"two buckets", hist(1, 10, 2, 10, 100, 1), 2, []int{2, 100}, 140},
		{"one bucket", hist(1, 10, 2, 10, 100, 1), 1, []int{100}, 2100},
		{"as many buckets as lengths", hist(3, 2, 5, 1, 9, 4), 8, []int{3, 5, 9}, 6 + 5 + 36},
		{"single length", hist(7, 3), 4, []int{7}, 21},
		// {4,6}: 4*4+6*4=40 vs {5,6}: 5*6+6*2=42 vs {3,6}: 3*2+6*6=42
		{"tie-break by cost", hist(3, 2, 4, 2, 5, 2, 6, 2), 2, []int{4, 6}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanBuckets(tc.h, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Bounds, tc.bounds) || p.PaddedTokens != tc.padded {
				t.Fatalf("plan %v padded %d, want %v padded %d", p.Bounds, p.PaddedTokens, tc.bounds, tc.padded)
			}
			if p.RealTokens != tc.h.Tokens() {
				t.Fatalf("real tokens %d, want %d", p.RealTokens, tc.h.Tokens())
			}
			var rows int64
			for _, r := range p.Rows {
				rows += r
			}
			if rows != tc.h.Rows() {
				t.Fatalf("plan holds %d rows, want %d", rows, tc.h.Rows())
			}
		})
	}
}

// bruteForce tries every set of at most k bounds drawn from the distinct
// lengths (the largest always included).
func bruteForce(h Histogram, k int) int64 {
	var lens []int
	for l, c := range h {
		if c > 0 {
			lens = append(lens, l)
		}
	}
	best := int64(-1)
	m := len(lens)
	for mask := 0; mask < 1<<(m-1); mask++ {
		bounds := []int{}
		for i := 0; i < m-1; i++ {
			if mask&(1<<i) != 0 {
				bounds = append(bounds, lens[i])
			}
		}
		bounds = append(bounds, lens[m-1])
		if len(bounds) > k {
			continue
		}
		var cost int64
		for l, c := range h {
			if c > 0 {
				cost += int64(bounds[sort.SearchInts(bounds, l)]) * c
			}
		}
		if best < 0 || cost < best {
			best = cost
		}
	}
	return best
}

func TestPlanMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		var h Histogram
		for range 1 + rng.IntN(12) {
			h.Add(1 + rng.IntN(14))
		}
		for range rng.IntN(60) {
			h.Add(1 + rng.IntN(14))
		}
		k := 1 + rng.IntN(5)
		p, err := PlanBuckets(h, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Bounds) > k {
			t.Fatalf("%d buckets, max %d", len(p.Bounds), k)
		}
		if want := bruteForce(h, k); p.PaddedTokens != want {
			t.Fatalf("trial %d: DP padded %d (bounds %v), brute force %d", trial, p.PaddedTokens, p.Bounds, want)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"no rows", func() error { _, err := PlanBuckets(nil, 2); return err }, "no rows"},
		{"zero buckets", func() error { _, err := PlanBuckets(hist(3, 1), 0); return err }, "at least one bucket"},
		{"empty rows", func() error { _, err := PlanBuckets(hist(0, 2, 3, 1), 2); return err }, "length 0"},
		{"too long for fixed", func() error { _, err := FixedPlan(hist(3, 1, 9, 1), []int{4, 8}); return err }, "exceed the largest bucket 8"},
		{"all too-long rows counted", func() error { _, err := FixedPlan(hist(3, 1, 9, 2, 12, 5), []int{4, 8}); return err }, "7 rows (up to length 12) exceed the largest bucket 8"},
		{"not ascending", func() error { _, err := FixedPlan(hist(3, 1), []int{8, 4}); return err }, "strictly ascending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	p, _ := FixedPlan(hist(2, 3, 4, 1), []int{2, 4})
	// 3 rows of 2 in a batch of 2: 2 batches × 2 × 2 = 8; 1 row of 4: 1 × 2 × 4 = 8
	if got, want := p.BatchEfficiency(2), 10.0/16; got != want {
		t.Fatalf("BatchEfficiency = %v, want %v", got, want)
	}
	if p.Efficiency() != 1 || p.NumBatches(2) != 3 {
		t.Fatalf("Efficiency %v NumBatches %d", p.Efficiency(), p.NumBatches(2))
	}
}

func rowsOf(n int, seed uint64) []data.Example {
	rng := rand.New(rand.NewPCG(seed, 9))
	rows := make([]data.Example, n)
	for i := range rows {
		l := 1 + rng.IntN(30)
		ids := make([]int32, l)
		for j := range ids {
			ids[j] = int32(100 + i*31 + j)
		}
		rows[i] = data.Example{ID: fmt.Sprintf("r%03d", i), Label: int32(i % 2), Group: []string{"Male", "Female"}[i%3%2], InputIDs: ids, Length: int32(l)}
	}
	return rows
}

// checkBatch verifies the layout contract of data.Batch against the rows.
func checkBatch(t *testing.T, bt *data.Batch, byID map[string]*data.Example, opts Options, groups []string) {
	t.Helper()
	if bt.Size != opts.BatchSize || len(bt.Tokens) != bt.Size*bt.SeqLen || len(bt.Lengths) != bt.Size ||
		len(bt.Labels) != bt.Size || len(bt.SoftLabels) != bt.Size*bt.Classes || len(bt.Groups) != bt.Size ||
		len(bt.Mask) != bt.Size || len(bt.IDs) != bt.Real || bt.Real < 1 || bt.Real > bt.Size {
		t.Fatalf("bad batch shape: size %d seq %d real %d, %d tokens", bt.Size, bt.SeqLen, bt.Real, len(bt.Tokens))
	}
	for i := 0; i < bt.Size; i++ {
		row := bt.Tokens[i*bt.SeqLen : (i+1)*bt.SeqLen]
		soft := bt.SoftLabels[i*bt.Classes : (i+1)*bt.Classes]
		if i >= bt.Real {
			if bt.Mask[i] != 0 || bt.Lengths[i] != 1 || bt.Labels[i] != 0 || bt.Groups[i] != 0 || soft[0] != 1 {
				t.Fatalf("padding row %d not masked: mask %v len %d", i, bt.Mask[i], bt.Lengths[i])
			}
			for _, tok := range row {
				if tok != opts.PadID {
					t.Fatalf("padding row %d holds token %d", i, tok)
				}
			}
			continue
		}
		ex := byID[bt.IDs[i]]
		want := ex.InputIDs
		if opts.MaxLen > 0 && len(want) > opts.MaxLen {
			if opts.TruncateLeft {
				want = want[len(want)-opts.MaxLen:]
			} else {
				want = want[:opts.MaxLen]
			}
		}
		if bt.Mask[i] != 1 || int(bt.Lengths[i]) != len(want) || bt.Labels[i] != ex.Label || groups[bt.Groups[i]] != ex.Group {
			t.Fatalf("row %d (%s) wrong: mask %v len %d label %d group %d", i, ex.ID, bt.Mask[i], bt.Lengths[i], bt.Labels[i], bt.Groups[i])
		}
		if !reflect.DeepEqual(row[:len(want)], want) {
			t.Fatalf("row %s tokens %v, want %v", ex.ID, row[:len(want)], want)
		}
		for _, tok := range row[len(want):] {
			if tok != opts.PadID {
				t.Fatalf("row %s not right-padded with %d", ex.ID, opts.PadID)
			}
		}
		for c, v := range soft {
			if w := float32(0); (c == int(ex.Label) && v != 1) || (c != int(ex.Label) && v != w) {
				t.Fatalf("row %s soft labels %v, want one-hot of %d", ex.ID, soft, ex.Label)
			}
		}
	}
}

func TestBatcherEpochs(t *testing.T) {
	rows := rowsOf(103, 1)
	byID := map[string]*data.Example{}
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	for _, opts := range []Options{
		{BatchSize: 8, MaxBuckets: 3, PadID: 1, Seed: 5, Shuffle: true},
		{BatchSize: 16, Buckets: []int{10, 20, 30}, PadID: 0},
		{BatchSize: 7, MaxBuckets: 2, MaxLen: 12, PadID: 2, Shuffle: true, Seed: 1},
		{BatchSize: 7, MaxBuckets: 2, MaxLen: 12, TruncateLeft: true, PadID: 2},
		{BatchSize: 200, MaxBuckets: 1, PadID: 3},
	} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			b, err := NewBatcher(rows, opts)
			if err != nil {
				t.Fatal(err)
			}
			groups := b.Groups()
			if !reflect.DeepEqual(groups, []string{"Female", "Male"}) || b.Classes() != 2 {
				t.Fatalf("groups %v classes %d", groups, b.Classes())
			}
			var orders [][]string
			for epoch := 0; epoch < 2; epoch++ {
				var order []string
				shapes := map[int]bool{}
				n := 0
				for {
					bt, err := b.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					n++
					checkBatch(t, bt, byID, opts, groups)
					shapes[bt.SeqLen] = true
					order = append(order, bt.IDs...)
				}
				if n != b.NumBatches() || n != b.Plan().NumBatches(opts.BatchSize) {
					t.Fatalf("%d batches, NumBatches %d", n, b.NumBatches())
				}
				if len(shapes) > len(b.Plan().Bounds) {
					t.Fatalf("%d shapes for %d buckets", len(shapes), len(b.Plan().Bounds))
				}
				sorted := append([]string(nil), order...)
				sort.Strings(sorted)
				for i, id := range sorted {
					if id != rows[i].ID {
						t.Fatalf("epoch %d does not yield every row exactly once", epoch)
					}
				}
				orders = append(orders, order)
				b.Reset()
			}
			if opts.Shuffle == reflect.DeepEqual(orders[0], orders[1]) {
				t.Fatalf("shuffle %v but epochs equal: %v", opts.Shuffle, reflect.DeepEqual(orders[0], orders[1]))
			}
			// the same seed and epoch give the same order
			b2, _ := NewBatcher(rows, opts)
			var again []string
			for _, bt := range b2.All() {
				again = append(again, bt.IDs...)
			}
			if !reflect.DeepEqual(again, orders[0]) {
				t.Fatal("order not deterministic per seed")
			}
		})
	}
}

func TestBatcherSoftLabelsAndErrors(t *testing.T) {
	rows := []data.Example{
		{ID: "a", Label: 1, SoftLabel: []float32{0.3, 0.7}, Group: "x", InputIDs: []int32{5, 6}, Length: 2},
		{ID: "b", Label: 0, Group: "y", InputIDs: []int32{7}, Length: 1},
	}
	b, err := NewBatcher(rows, Options{BatchSize: 4, MaxBuckets: 1, Groups: []string{"y", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	bt, _ := b.Next()
	want := []float32{0.3, 0.7, 1, 0, 1, 0, 1, 0}
	if !reflect.DeepEqual(bt.SoftLabels, want) || !reflect.DeepEqual(bt.Groups, []int32{1, 0, 0, 0}) || bt.SeqLen != 2 {
		t.Fatalf("soft %v groups %v seq %d", bt.SoftLabels, bt.Groups, bt.SeqLen)
	}
	for _, tc := range []struct {
		name string
		rows []data.Example
		opts Options
		want string
	}{
		{"untokenized", []data.Example{{ID: "u", Text: "hi"}}, Options{BatchSize: 2}, `row "u" has no tokens`},
		{"length mismatch", []data.Example{{ID: "m", InputIDs: []int32{1}, Length: 2}}, Options{BatchSize: 2}, "length 2 but 1 input_ids"},
		{"label out of range", []data.Example{{ID: "l", Label: 3, InputIDs: []int32{1}, Length: 1}}, Options{BatchSize: 2, Classes: 2}, "label 3 outside [0, 2)"},
		{"unknown group", []data.Example{{ID: "g", Group: "z", InputIDs: []int32{1}, Length: 1}}, Options{BatchSize: 2, Groups: []string{"a"}}, `group "z" not in`},
		{"soft labels", []data.Example{{ID: "s", SoftLabel: []float32{1, 0, 0}, InputIDs: []int32{1}, Length: 1}}, Options{BatchSize: 2, Classes: 2}, "3 soft labels for 2 classes"},
		{"batch size", rows, Options{}, "batch size"},
		{"no rows", nil, Options{BatchSize: 1}, "no rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBatcher(tc.rows, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

type sliceSource struct {
	rows []data.Example
	i    int
}

func (s *sliceSource) Next() (data.Example, error) {
	if s.i >= len(s.rows) {
		return data.Example{}, io.EOF
	}
	s.i++
	return s.rows[s.i-1], nil
}

func TestStream(t *testing.T) {
	rows := rowsOf(57, 3)
	byID := map[string]*data.Example{}
	var h Histogram
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
		h.Add(int(rows[i].Length))
	}
	plan, err := PlanBuckets(h, 3)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{BatchSize: 5, PadID: 9, Classes: 2, Groups: []string{"Female", "Male"}}
	s, err := NewStream(&sliceSource{rows: rows}, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	batches := 0
	for {
		bt, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		batches++
		checkBatch(t, bt, byID, opts, opts.Groups)
		if plan.Bucket(int(byID[bt.IDs[0]].Length)) != sort.SearchInts(plan.Bounds, bt.SeqLen) {
			t.Fatal("row in the wrong bucket")
		}
		for _, id := range bt.IDs {
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != len(rows) || batches != plan.NumBatches(5) {
		t.Fatalf("%d rows in %d batches, want %d in %d", len(seen), batches, len(rows), plan.NumBatches(5))
	}
	if _, err := NewStream(&sliceSource{}, plan, Options{BatchSize: 2}); err == nil {
		t.Fatal("stream without classes accepted")
	}
}

func BenchmarkPlanBuckets(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var h Histogram
	for range 100000 {
		h.Add(1 + int(rng.ExpFloat64()*60)%2048)
	}
	for b.Loop() {
		if _, err := PlanBuckets(h, 8); err != nil {
			b.Fatal(err)
		}
	}
}
