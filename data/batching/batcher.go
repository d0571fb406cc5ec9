package batching

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"

	"github.com/w2st/w2st/data"
)

// Options configures a Batcher.
type Options struct {
	BatchSize  int   // rows per batch (required)
	Buckets    []int // explicit bucket bounds; when nil they are planned from the histogram
	MaxBuckets int   // buckets to plan (default 4)
	// MaxLen truncates longer rows to MaxLen tokens (0: no limit). By default
	// the first MaxLen tokens are kept; TruncateLeft keeps the last ones
	// (useful when the question ends the prompt, as in the Adult template).
	MaxLen       int
	TruncateLeft bool
	PadID        int32    // token id of padding
	Classes      int      // classes in SoftLabels; 0 infers max(label)+1 (at least 2)
	Groups       []string // group names (index = Batch.Groups value); nil: the rows' sorted distinct groups
	Seed         int64    // order seed (with Shuffle)
	Shuffle      bool     // shuffle rows within buckets and the order of batches, per epoch
}

// Batcher yields the fixed-shape batches of an in-memory set of rows. Each
// epoch yields every row exactly once; the order is deterministic per seed
// and epoch.
type Batcher struct {
	rows    []data.Example
	lengths []int // truncated length per row
	opts    Options
	plan    Plan
	groups  map[string]int32
	names   []string
	buckets [][]int // row indices per bucket
	order   []chunk
	pos     int
	epoch   int
}

// chunk is one batch: up to BatchSize rows of one bucket.
type chunk struct {
	bucket int
	rows   []int
}

func (o *Options) defaults() error {
	if o.BatchSize < 1 {
		return fmt.Errorf("batching: batch size must be >= 1, got %d", o.BatchSize)
	}
	if o.MaxBuckets == 0 {
		o.MaxBuckets = 4
	}
	if o.MaxLen < 0 {
		return fmt.Errorf("batching: negative MaxLen %d", o.MaxLen)
	}
	return nil
}

// NewBatcher plans buckets for rows and prepares epoch 0. Rows must be
// tokenized (Length >= 1 and len(InputIDs) == Length).
func NewBatcher(rows []data.Example, opts Options) (*Batcher, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("batching: no rows")
	}
	b := &Batcher{rows: rows, opts: opts, lengths: make([]int, len(rows))}
	var h Histogram
	maxLabel := int32(1)
	classesFromSoft := 0
	groupSet := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		if err := checkTokens(r); err != nil {
			return nil, err
		}
		n := int(r.Length)
		if opts.MaxLen > 0 && n > opts.MaxLen {
			n = opts.MaxLen
		}
		b.lengths[i] = n
		h.Add(n)
		if r.Label < 0 {
			return nil, fmt.Errorf("batching: row %q: negative label %d", r.ID, r.Label)
		}
		maxLabel = max(maxLabel, r.Label)
		if len(r.SoftLabel) > 0 {
			if classesFromSoft == 0 {
				classesFromSoft = len(r.SoftLabel)
			} else if len(r.SoftLabel) != classesFromSoft {
				return nil, fmt.Errorf("batching: row %q: %d soft labels, earlier rows have %d", r.ID, len(r.SoftLabel), classesFromSoft)
			}
		}
		groupSet[r.Group] = true
	}
	if b.opts.Classes == 0 {
		b.opts.Classes = max(int(maxLabel)+1, classesFromSoft)
	}
	if b.opts.Groups == nil {
		for g := range groupSet {
			b.opts.Groups = append(b.opts.Groups, g)
		}
		sort.Strings(b.opts.Groups)
	}
	if err := b.setGroups(); err != nil {
		return nil, err
	}
	for i := range rows {
		if err := b.checkRow(&rows[i]); err != nil {
			return nil, err
		}
	}
	var err error
	if opts.Buckets != nil {
		b.plan, err = FixedPlan(h, opts.Buckets)
	} else {
		b.plan, err = PlanBuckets(h, opts.MaxBuckets)
	}
	if err != nil {
		return nil, err
	}
	b.buckets = make([][]int, len(b.plan.Bounds))
	for i, n := range b.lengths {
		k := b.plan.Bucket(n)
		b.buckets[k] = append(b.buckets[k], i)
	}
	b.arrange()
	return b, nil
}

func checkTokens(r *data.Example) error {
	if r.Length < 1 {
		if len(r.InputIDs) == 0 {
			return fmt.Errorf("batching: row %q has no tokens (untokenized file? run `w2st data tokenize`)", r.ID)
		}
		return fmt.Errorf("batching: row %q: length %d", r.ID, r.Length)
	}
	if int(r.Length) != len(r.InputIDs) {
		return fmt.Errorf("batching: row %q: length %d but %d input_ids", r.ID, r.Length, len(r.InputIDs))
	}
	return nil
}

func (b *Batcher) setGroups() error {
	b.groups = map[string]int32{}
	for i, g := range b.opts.Groups {
		if _, dup := b.groups[g]; dup {
			return fmt.Errorf("batching: group %q listed twice", g)
		}
		b.groups[g] = int32(i)
	}
	b.names = b.opts.Groups
	if b.opts.Classes < 1 {
		return fmt.Errorf("batching: classes must be >= 1, got %d", b.opts.Classes)
	}
	return nil
}

func (b *Batcher) checkRow(r *data.Example) error {
	if r.Label < 0 || int(r.Label) >= b.opts.Classes {
		return fmt.Errorf("batching: row %q: label %d outside [0, %d)", r.ID, r.Label, b.opts.Classes)
	}
	if len(r.SoftLabel) != 0 && len(r.SoftLabel) != b.opts.Classes {
		return fmt.Errorf("batching: row %q: %d soft labels for %d classes", r.ID, len(r.SoftLabel), b.opts.Classes)
	}
	if _, ok := b.groups[r.Group]; !ok {
		return fmt.Errorf("batching: row %q: group %q not in the group list %q", r.ID, r.Group, b.opts.Groups)
	}
	return nil
}

// arrange builds the epoch's batch order.
func (b *Batcher) arrange() {
	var rng *rand.Rand
	if b.opts.Shuffle {
		rng = rand.New(rand.NewPCG(uint64(b.opts.Seed), uint64(b.epoch)))
	}
	b.order = b.order[:0]
	for k, idx := range b.buckets {
		idx = append([]int(nil), idx...)
		if rng != nil {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		}
		for s := 0; s < len(idx); s += b.opts.BatchSize {
			b.order = append(b.order, chunk{bucket: k, rows: idx[s:min(s+b.opts.BatchSize, len(idx))]})
		}
	}
	if rng != nil {
		rng.Shuffle(len(b.order), func(i, j int) { b.order[i], b.order[j] = b.order[j], b.order[i] })
	}
	b.pos = 0
}

// Plan is the bucket plan.
func (b *Batcher) Plan() Plan { return b.plan }

// Groups lists the group names; Batch.Groups holds indices into it.
func (b *Batcher) Groups() []string { return append([]string(nil), b.names...) }

// Classes is the number of classes.
func (b *Batcher) Classes() int { return b.opts.Classes }

// NumBatches is the number of batches per epoch.
func (b *Batcher) NumBatches() int { return len(b.order) }

// Epoch is the current epoch (0 first).
func (b *Batcher) Epoch() int { return b.epoch }

// Next returns the epoch's next batch, or io.EOF after its last one.
func (b *Batcher) Next() (*data.Batch, error) {
	if b.pos >= len(b.order) {
		return nil, io.EOF
	}
	c := b.order[b.pos]
	b.pos++
	rows := make([]*data.Example, len(c.rows))
	for i, r := range c.rows {
		rows[i] = &b.rows[r]
	}
	return assemble(rows, b.plan.Bounds[c.bucket], &b.opts, b.groups), nil
}

// Reset starts the next epoch (a new order when Shuffle is set).
func (b *Batcher) Reset() { b.SetEpoch(b.epoch + 1) }

// SetEpoch rewinds to the start of epoch e (its order depends only on the
// seed and e).
func (b *Batcher) SetEpoch(e int) {
	b.epoch = e
	b.arrange()
}

// All returns every batch of the current epoch and rewinds it.
func (b *Batcher) All() []*data.Batch {
	b.pos = 0
	out := make([]*data.Batch, 0, len(b.order))
	for {
		bt, err := b.Next()
		if err != nil {
			break
		}
		out = append(out, bt)
	}
	b.pos = 0
	return out
}

// assemble lays rows out in a batch of opts.BatchSize rows padded to seqLen.
// Rows must have been checked.
func assemble(rows []*data.Example, seqLen int, opts *Options, groups map[string]int32) *data.Batch {
	size, classes := opts.BatchSize, opts.Classes
	bt := &data.Batch{
		Size: size, SeqLen: seqLen, Real: len(rows), Classes: classes,
		Tokens:     make([]int32, size*seqLen),
		Lengths:    make([]int32, size),
		Labels:     make([]int32, size),
		SoftLabels: make([]float32, size*classes),
		Groups:     make([]int32, size),
		Mask:       make([]float32, size),
		IDs:        make([]string, len(rows)),
	}
	for i := range bt.Tokens {
		bt.Tokens[i] = opts.PadID
	}
	for i := range size {
		bt.Lengths[i] = 1
		bt.SoftLabels[i*classes] = 1 // padding rows: one-hot of label 0
	}
	for i, r := range rows {
		ids := r.InputIDs
		if len(ids) > seqLen {
			if opts.TruncateLeft {
				ids = ids[len(ids)-seqLen:]
			} else {
				ids = ids[:seqLen]
			}
		}
		copy(bt.Tokens[i*seqLen:], ids)
		bt.Lengths[i] = int32(len(ids))
		bt.Labels[i] = r.Label
		soft := bt.SoftLabels[i*classes : (i+1)*classes]
		soft[0] = 0
		if len(r.SoftLabel) == classes {
			copy(soft, r.SoftLabel)
		} else {
			soft[r.Label] = 1
		}
		bt.Groups[i] = groups[r.Group]
		bt.Mask[i] = 1
		bt.IDs[i] = r.ID
	}
	return bt
}

// Source is a stream of rows, such as a *parquetio.Reader.
type Source interface {
	Next() (data.Example, error)
}

// Stream batches rows from a Source with a fixed plan, holding one partial
// batch per bucket: a batch is emitted when its bucket fills, and the partial
// batches (masked ragged tails) at the end, in bucket order. The order is
// deterministic given the source's order. Memory is BatchSize rows per bucket.
type Stream struct {
	src     Source
	opts    Options
	plan    Plan
	groups  map[string]int32
	pending [][]*data.Example
	tail    int // next bucket to flush after EOF
	done    bool
	rows    int64
}

// NewStream batches src with the bounds of plan. Options.Classes and
// Options.Groups must be set (a stream cannot infer them).
func NewStream(src Source, plan Plan, opts Options) (*Stream, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.Classes < 1 {
		return nil, errors.New("batching: a stream needs Options.Classes")
	}
	if opts.Groups == nil {
		return nil, errors.New("batching: a stream needs Options.Groups")
	}
	if len(plan.Bounds) == 0 {
		return nil, errors.New("batching: empty plan")
	}
	s := &Stream{src: src, opts: opts, plan: plan, pending: make([][]*data.Example, len(plan.Bounds))}
	b := Batcher{opts: opts}
	if err := b.setGroups(); err != nil {
		return nil, err
	}
	s.groups = b.groups
	return s, nil
}

// Next returns the next batch, or io.EOF when the source and all partial
// batches are exhausted.
func (s *Stream) Next() (*data.Batch, error) {
	chk := Batcher{opts: s.opts, groups: s.groups}
	for !s.done {
		ex, err := s.src.Next()
		if err == io.EOF {
			s.done = true
			break
		}
		if err != nil {
			return nil, err
		}
		if err := checkTokens(&ex); err != nil {
			return nil, err
		}
		if err := chk.checkRow(&ex); err != nil {
			return nil, err
		}
		n := int(ex.Length)
		if s.opts.MaxLen > 0 && n > s.opts.MaxLen {
			n = s.opts.MaxLen
		}
		k := s.plan.Bucket(n)
		if k < 0 {
			return nil, fmt.Errorf("batching: row %q: length %d exceeds the largest bucket %d", ex.ID, n, s.plan.Bounds[len(s.plan.Bounds)-1])
		}
		s.rows++
		s.pending[k] = append(s.pending[k], &ex)
		if len(s.pending[k]) == s.opts.BatchSize {
			rows := s.pending[k]
			s.pending[k] = nil
			return assemble(rows, s.plan.Bounds[k], &s.opts, s.groups), nil
		}
	}
	for ; s.tail < len(s.pending); s.tail++ {
		if rows := s.pending[s.tail]; len(rows) > 0 {
			s.pending[s.tail] = nil
			return assemble(rows, s.plan.Bounds[s.tail], &s.opts, s.groups), nil
		}
	}
	return nil, io.EOF
}

// Rows is the number of rows consumed so far.
func (s *Stream) Rows() int64 { return s.rows }
