// Package data holds the example schema shared by every stage of w2st, the
// Parquet streaming reader and writer, importers for the paper's datasets, the
// synthetic census default, and length bucketing into fixed-shape batches.
// It does not import GoMLX: batches are plain Go slices that accel/train turns
// into tensors.
package data

// Example is one row of a w2st dataset (the Parquet schema). The tokenized form
// adds InputIDs and Length; SoftLabel is set by the weak-label stage.
type Example struct {
	ID        string    `parquet:"id"`                       // unique and stable within a dataset
	Text      string    `parquet:"text"`                     // the model's input text
	Label     int32     `parquet:"label"`                    // ground-truth class
	SoftLabel []float32 `parquet:"soft_label,optional,list"` // class probabilities (weak labels)
	Group     string    `parquet:"group,optional"`           // sensitive attribute (fairness)
	Domain    string    `parquet:"domain,optional"`          // e.g. the OOD style
	Split     string    `parquet:"split,optional"`           // train/test/dev…
	InputIDs  []int32   `parquet:"input_ids,optional,list"`  // token ids (tokenized files)
	Length    int32     `parquet:"length,optional"`          // len(InputIDs) (tokenized files)
	Synthetic bool      `parquet:"synthetic,optional"`       // generated rows (w2st data synth)
	Race      string    `parquet:"race,optional"`            // Adult's race column, kept beside Group (= sex)
}

// Batch is a fixed-shape batch of tokenized examples, laid out row-major.
// Rows beyond Real are padding rows (a masked ragged tail): their Mask is 0,
// their Length 1 and their tokens the pad id, so graphs never see a zero length.
type Batch struct {
	Size    int // rows (the fixed batch size)
	SeqLen  int // the bucket's padded length
	Real    int // rows that hold real examples (Real <= Size)
	Classes int // number of classes in SoftLabels

	Tokens     []int32   // [Size*SeqLen], right-padded with the pad id
	Lengths    []int32   // [Size], real token count per row (>= 1)
	Labels     []int32   // [Size], ground-truth labels (0 for padding rows)
	SoftLabels []float32 // [Size*Classes], target distribution (one-hot of Labels when the data has none)
	Groups     []int32   // [Size], index of the row's group in the dataset's group list (0 for padding)
	Mask       []float32 // [Size], 1 for real rows, 0 for padding rows
	IDs        []string  // [Real], example ids in row order
}
