// Package safetensors reads and writes the safetensors format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header mapping tensor names to dtype, shape and byte offsets,
// then the raw little-endian tensor bytes.
//
// The reader treats files as untrusted: it bounds the header size, checks that
// the header lies within the file, that every dtype is known, every shape's
// byte size equals its offsets' span, offsets lie within the data, and that the
// tensors neither overlap nor leave holes (the format requires the data to be
// fully indexed). Tensors are read one at a time into caller-provided memory,
// so loading a checkpoint needs no second copy of it.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/w2st/w2st/internal/cleanup"
)

// Limits on untrusted input.
const (
	// MaxHeaderBytes bounds the JSON header (the reference implementation uses 100 MB too).
	MaxHeaderBytes = 100 << 20
	// MaxRank bounds the number of dimensions of a tensor.
	MaxRank = 16
	// MaxNameBytes bounds a tensor name.
	MaxNameBytes = 4096
)

// DType is a safetensors dtype name such as "F32" or "BF16".
type DType string

// The dtypes of the format.
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	Bool   DType = "BOOL"
)

var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2, F8E4M3: 1, F8E5M2: 1,
	I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, Bool: 1,
}

// Size is the byte size of one element, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("invalid safetensors file")

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are the byte offsets of the tensor's data relative to the
	// start of the data section (after the header), End exclusive.
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// NumBytes is End - Begin.
func (t TensorInfo) NumBytes() int64 { return t.End - t.Begin }

// File is an opened safetensors file.
type File struct {
	name      string
	r         io.ReaderAt
	closer    io.Closer
	dataStart int64
	tensors   []TensorInfo // sorted by name
	index     map[string]int
	// Metadata is the header's optional "__metadata__" string map.
	Metadata map[string]string
}

// Open opens and validates a safetensors file. Close it when done.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	sf, err := Parse(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.closer = f
	return sf, nil
}

// Parse validates the safetensors content of r (size bytes); name is used in
// error messages. The returned File reads tensor data from r.
func Parse(r io.ReaderAt, size int64, name string) (*File, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrFormat, name, fmt.Sprintf(format, a...))
	}
	if size < 8 {
		return nil, fail("truncated: %d bytes, shorter than the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors %s: reading the header length: %w", name, err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > MaxHeaderBytes {
		return nil, fail("header length %d exceeds the %d-byte limit", hlen, MaxHeaderBytes)
	}
	if hlen > uint64(size-8) {
		return nil, fail("header length %d runs beyond the end of the file (%d bytes after the length)", hlen, size-8)
	}
	if hlen < 2 {
		return nil, fail("header length %d is too short for a JSON object", hlen)
	}
	header := make([]byte, hlen)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors %s: reading the header: %w", name, err)
	}
	dataStart := int64(8 + hlen)
	dataSize := size - dataStart
	tensors, meta, err := parseHeader(header)
	if err != nil {
		return nil, fail("header: %v", err)
	}
	// Offsets: within the data, sizes match, no overlap, no holes.
	byOffset := make([]int, len(tensors))
	for i := range byOffset {
		byOffset[i] = i
	}
	for _, t := range tensors {
		if t.End > dataSize {
			return nil, fail("tensor %q: data_offsets [%d,%d] beyond the %d bytes of data", t.Name, t.Begin, t.End, dataSize)
		}
	}
	sort.SliceStable(byOffset, func(a, b int) bool {
		ta, tb := tensors[byOffset[a]], tensors[byOffset[b]]
		if ta.Begin != tb.Begin {
			return ta.Begin < tb.Begin
		}
		return ta.End < tb.End
	})
	var pos int64
	prev := ""
	for _, i := range byOffset {
		t := tensors[i]
		if t.Begin < pos {
			return nil, fail("tensor %q: data_offsets [%d,%d] overlap tensor %q (ends at %d)", t.Name, t.Begin, t.End, prev, pos)
		}
		if t.Begin > pos {
			return nil, fail("tensor %q: data_offsets start at %d, leaving a hole after byte %d", t.Name, t.Begin, pos)
		}
		pos, prev = t.End, t.Name
	}
	if pos != dataSize {
		return nil, fail("the tensors cover %d bytes of data but the file holds %d after the header", pos, dataSize)
	}
	sort.Slice(tensors, func(a, b int) bool { return tensors[a].Name < tensors[b].Name })
	index := make(map[string]int, len(tensors))
	for i, t := range tensors {
		index[t.Name] = i
	}
	return &File{name: name, r: r, dataStart: dataStart, tensors: tensors, index: index, Metadata: meta}, nil
}

type rawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseHeader decodes the JSON header, rejecting duplicate keys and unknown fields.
func parseHeader(header []byte) ([]TensorInfo, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	var tensors []TensorInfo
	var meta map[string]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected token %v", tok)
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		if len(key) > MaxNameBytes {
			return nil, nil, fmt.Errorf("tensor name of %d bytes exceeds the %d-byte limit", len(key), MaxNameBytes)
		}
		var e rawEntry
		sub := json.RawMessage{}
		if err := dec.Decode(&sub); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %v", key, err)
		}
		ed := json.NewDecoder(bytes.NewReader(sub))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %v", key, err)
		}
		t, err := checkEntry(key, e)
		if err != nil {
			return nil, nil, err
		}
		tensors = append(tensors, t)
	}
	if _, err := dec.Token(); err != nil { // closing brace
		return nil, nil, err
	}
	rest := bytes.TrimRight(header[dec.InputOffset():], " \t\r\n\x00")
	if len(rest) > 0 {
		return nil, nil, fmt.Errorf("%d unexpected bytes after the JSON object", len(rest))
	}
	return tensors, meta, nil
}

func checkEntry(name string, e rawEntry) (TensorInfo, error) {
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return TensorInfo{}, fmt.Errorf("tensor %q: needs dtype, shape and data_offsets", name)
	}
	dt := DType(*e.DType)
	size := dt.Size()
	if size == 0 {
		return TensorInfo{}, fmt.Errorf("tensor %q: unknown dtype %q", name, *e.DType)
	}
	if len(*e.Shape) > MaxRank {
		return TensorInfo{}, fmt.Errorf("tensor %q: rank %d exceeds the limit of %d", name, len(*e.Shape), MaxRank)
	}
	shape := make([]int, len(*e.Shape))
	n := uint64(1)
	for i, d := range *e.Shape {
		if d < 0 || d > math.MaxInt32*64 {
			return TensorInfo{}, fmt.Errorf("tensor %q: invalid dimension %d", name, d)
		}
		shape[i] = int(d)
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64/8 {
			return TensorInfo{}, fmt.Errorf("tensor %q: shape %v is too large", name, *e.Shape)
		}
		n = lo
	}
	offs := *e.DataOffsets
	if len(offs) != 2 {
		return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets must have 2 entries, has %d", name, len(offs))
	}
	if offs[0] < 0 || offs[1] < offs[0] {
		return TensorInfo{}, fmt.Errorf("tensor %q: invalid data_offsets [%d,%d]", name, offs[0], offs[1])
	}
	want := n * uint64(size)
	if uint64(offs[1]-offs[0]) != want {
		return TensorInfo{}, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes but data_offsets [%d,%d] span %d",
			name, *e.Shape, dt, want, offs[0], offs[1], offs[1]-offs[0])
	}
	return TensorInfo{Name: name, DType: dt, Shape: shape, Begin: offs[0], End: offs[1]}, nil
}

// Name is the path or name the file was opened with.
func (f *File) Name() string { return f.name }

// Tensors lists the tensors sorted by name.
func (f *File) Tensors() []TensorInfo { return f.tensors }

// Lookup returns the tensor called name.
func (f *File) Lookup(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// Reader returns a reader of the raw bytes of a tensor.
func (f *File) Reader(t TensorInfo) io.Reader {
	return io.NewSectionReader(f.r, f.dataStart+t.Begin, t.NumBytes())
}

// ReadInto reads the raw bytes of tensor name into dst, which must have exactly its size.
func (f *File) ReadInto(name string, dst []byte) error {
	t, ok := f.Lookup(name)
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", f.name, name)
	}
	if int64(len(dst)) != t.NumBytes() {
		return fmt.Errorf("safetensors %s: tensor %q has %d bytes, buffer has %d", f.name, name, t.NumBytes(), len(dst))
	}
	if _, err := f.r.ReadAt(dst, f.dataStart+t.Begin); err != nil {
		return fmt.Errorf("safetensors %s: reading tensor %q: %w", f.name, name, err)
	}
	return nil
}

// ReadFloat32 reads tensor name (F64, F32, F16 or BF16) converted to float32
// into dst, which must have exactly its number of elements. It converts in
// chunks, so it needs no buffer of the tensor's size.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, ok := f.Lookup(name)
	if !ok {
		return fmt.Errorf("safetensors %s: no tensor %q", f.name, name)
	}
	if int64(len(dst)) != t.NumElements() {
		return fmt.Errorf("safetensors %s: tensor %q has %d elements, buffer has %d", f.name, name, t.NumElements(), len(dst))
	}
	size := t.DType.Size()
	switch t.DType {
	case F32, F64, F16, BF16:
	default:
		return fmt.Errorf("safetensors %s: tensor %q has dtype %s, not a float type convertible to F32", f.name, name, t.DType)
	}
	const chunkElems = 1 << 16
	buf := make([]byte, min(len(dst), chunkElems)*size)
	for done := 0; done < len(dst); {
		n := min(len(dst)-done, chunkElems)
		b := buf[:n*size]
		if _, err := f.r.ReadAt(b, f.dataStart+t.Begin+int64(done*size)); err != nil {
			return fmt.Errorf("safetensors %s: reading tensor %q: %w", f.name, name, err)
		}
		if err := DecodeFloat32(t.DType, b, dst[done:done+n]); err != nil {
			return fmt.Errorf("safetensors %s: tensor %q: %w", f.name, name, err)
		}
		done += n
	}
	return nil
}

// Close closes the underlying file (if Open opened it).
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// DecodeFloat32 converts little-endian values of dtype dt in src to float32
// in dst (len(dst) elements; src must hold exactly that many).
func DecodeFloat32(dt DType, src []byte, dst []float32) error {
	size := dt.Size()
	if size == 0 || len(src) != len(dst)*size {
		return fmt.Errorf("decode %s: %d bytes for %d values", dt, len(src), len(dst))
	}
	switch dt {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case F16:
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	default:
		return fmt.Errorf("dtype %s is not a float type", dt)
	}
	return nil
}

// HalfToFloat32 converts IEEE 754 binary16 bits to float32 (exact).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: frac · 2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Entry is one tensor to write. Exactly one of Data and WriteData is used:
// WriteData, when set, must write exactly the tensor's byte size to w.
type Entry struct {
	Name      string
	DType     DType
	Shape     []int
	Data      []byte
	WriteData func(w io.Writer) error
}

func (e Entry) numBytes() (int64, error) {
	size := e.DType.Size()
	if size == 0 {
		return 0, fmt.Errorf("tensor %q: unknown dtype %q", e.Name, e.DType)
	}
	n := int64(size)
	for _, d := range e.Shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor %q: negative dimension in %v", e.Name, e.Shape)
		}
		n *= int64(d)
	}
	return n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteFile writes the entries (sorted by name) and optional metadata to path
// atomically: it writes a temporary file in the same folder, syncs it and
// renames it over path, so a failure leaves no partial file.
func WriteFile(path string, entries []Entry, metadata map[string]string) error {
	tmp, err := WriteTemp(path, entries, metadata)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// WriteTemp writes the file WriteFile would write to a synced temporary file
// beside path and returns its name; the caller renames it over path (or
// removes it). On error nothing is left behind.
func WriteTemp(path string, entries []Entry, metadata map[string]string) (tmpName string, err error) {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	sizes := make([]int64, len(sorted))
	var off int64
	for i, e := range sorted {
		if e.Name == "" || e.Name == "__metadata__" {
			return "", fmt.Errorf("safetensors %s: invalid tensor name %q", path, e.Name)
		}
		if i > 0 && sorted[i-1].Name == e.Name {
			return "", fmt.Errorf("safetensors %s: duplicate tensor %q", path, e.Name)
		}
		n, err := e.numBytes()
		if err != nil {
			return "", fmt.Errorf("safetensors %s: %w", path, err)
		}
		if e.WriteData == nil && int64(len(e.Data)) != n {
			return "", fmt.Errorf("safetensors %s: tensor %q: shape %v of %s needs %d bytes, data has %d", path, e.Name, e.Shape, e.DType, n, len(e.Data))
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		header[e.Name] = map[string]any{"dtype": e.DType, "shape": shape, "data_offsets": []int64{off, off + n}}
		sizes[i] = n
		off += n
	}
	hjson, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	if pad := (8 - len(hjson)%8) % 8; pad > 0 {
		hjson = append(hjson, bytes.Repeat([]byte{' '}, pad)...)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("safetensors: %w", err)
	}
	// Removed if the process is interrupted while writing (the long part);
	// the caller renames it right after.
	defer cleanup.Register(tmp.Name())()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hjson)))
	if _, err = bw.Write(lenBuf[:]); err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	if _, err = bw.Write(hjson); err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	for i, e := range sorted {
		cw := &countingWriter{w: bw}
		if e.WriteData != nil {
			err = e.WriteData(cw)
		} else {
			_, err = cw.Write(e.Data)
		}
		if err != nil {
			return "", fmt.Errorf("safetensors %s: writing tensor %q: %w", path, e.Name, err)
		}
		if cw.n != sizes[i] {
			err = fmt.Errorf("safetensors %s: tensor %q: wrote %d bytes, want %d", path, e.Name, cw.n, sizes[i])
			return "", err
		}
	}
	if err = bw.Flush(); err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("safetensors %s: %w", path, err)
	}
	return tmp.Name(), nil
}

// IsSafetensorsName reports whether a file name looks like a safetensors file.
func IsSafetensorsName(name string) bool { return strings.HasSuffix(name, ".safetensors") }

// MaxIndexBytes bounds a model.safetensors.index.json.
const MaxIndexBytes = 64 << 20

// Index is a sharded checkpoint's model.safetensors.index.json.
type Index struct {
	// WeightMap maps tensor names to shard file names (relative to the index's folder).
	WeightMap map[string]string `json:"weight_map"`
	Metadata  map[string]any    `json:"metadata"`
}

// ReadIndex reads and checks a model.safetensors.index.json: every shard name
// must be a plain file name ending in .safetensors.
func ReadIndex(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors index: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("safetensors index %s: %w", path, err)
	}
	if len(raw) > MaxIndexBytes {
		return nil, fmt.Errorf("%w %s: index larger than the %d-byte limit", ErrFormat, path, MaxIndexBytes)
	}
	var idx Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrFormat, path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%w %s: empty or missing weight_map", ErrFormat, path)
	}
	for name, shard := range idx.WeightMap {
		if shard != filepath.Base(shard) || !IsSafetensorsName(shard) || strings.HasPrefix(shard, ".") {
			return nil, fmt.Errorf("%w %s: tensor %q maps to %q, not a .safetensors file in the same folder", ErrFormat, path, name, shard)
		}
	}
	return &idx, nil
}

// Shards lists the index's distinct shard file names, sorted.
func (idx *Index) Shards() []string {
	set := map[string]bool{}
	for _, s := range idx.WeightMap {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
