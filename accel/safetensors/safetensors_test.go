package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/internal/cleanup"
)

// build assembles a file from a raw header string and data bytes.
func build(header string, data []byte) []byte {
	var b bytes.Buffer
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], uint64(len(header)))
	b.Write(l[:])
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func parseBytes(b []byte) (*File, error) {
	return Parse(bytes.NewReader(b), int64(len(b)), "test.safetensors")
}

func TestParseValid(t *testing.T) {
	data := make([]byte, 4*6+2)
	for i := 0; i < 6; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(i)+0.5))
	}
	binary.LittleEndian.PutUint16(data[24:], 0x3f80) // bf16 1.0
	h := `{"b":{"dtype":"BF16","shape":[],"data_offsets":[24,26]},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"__metadata__":{"format":"pt"}}  `
	f, err := parseBytes(build(h, data))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.Tensors()); got != 2 || f.Tensors()[0].Name != "a" {
		t.Fatalf("tensors %+v", f.Tensors())
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	a, _ := f.Lookup("a")
	if a.NumElements() != 6 || a.NumBytes() != 24 || a.DType != F32 {
		t.Errorf("a = %+v", a)
	}
	out := make([]float32, 6)
	if err := f.ReadFloat32("a", out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != float32(i)+0.5 {
			t.Errorf("a[%d] = %v", i, v)
		}
	}
	one := make([]float32, 1)
	if err := f.ReadFloat32("b", one); err != nil || one[0] != 1 {
		t.Errorf("b = %v, %v", one, err)
	}
	if err := f.ReadFloat32("a", make([]float32, 5)); err == nil {
		t.Error("ReadFloat32 with a short buffer: no error")
	}
	if err := f.ReadInto("nope", nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor error %v", err)
	}
}

// TestParseErrors covers each way a file can be malformed; the error must
// name the file and the problem.
func TestParseErrors(t *testing.T) {
	f32 := make([]byte, 16)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"truncated length", []byte{1, 2, 3}, "truncated"},
		{"header beyond file", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32)[:40], "beyond the end of the file"},
		{"header over limit", append([]byte{0, 0, 0, 0x10, 0, 0, 0, 0}, make([]byte, 64)...), "exceeds the"},
		{"header too short", build(`{`, nil), "too short"},
		{"not json", build(`[1,2]`, nil), "not a JSON object"},
		{"bad json", build(`{"a":`, nil), "header"},
		{"trailing garbage", build(`{}x`, nil), "unexpected bytes"},
		{"unknown dtype", build(`{"a":{"dtype":"F12","shape":[4],"data_offsets":[0,16]}}`, f32), `unknown dtype "F12"`},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, f32), "needs 12 bytes"},
		{"offset out of range", build(`{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}`, f32), "beyond the 16 bytes"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32[:12]), "overlap"},
		{"hole", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32[:12]), "hole"},
		{"uncovered tail", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32), "cover 8 bytes"},
		{"reversed offsets", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, f32), "invalid data_offsets"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}}`, f32), "invalid dimension"},
		{"huge shape", build(`{"a":{"dtype":"F32","shape":[4294967295,4294967295,4294967295],"data_offsets":[0,16]}}`, f32), "too large"},
		{"duplicate key", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32), "duplicate"},
		{"missing field", build(`{"a":{"dtype":"F32","shape":[4]}}`, f32), "needs dtype"},
		{"unknown field", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"x":1}}`, f32), "unknown field"},
		{"three offsets", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16,16]}}`, f32), "2 entries"},
		{"bad metadata", build(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"rank over limit", build(`{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}}`, []byte{0}), "rank 17"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBytes(c.file)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "test.safetensors") {
				t.Errorf("error %q does not mention %q and the file name", err, c.want)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	vals := []float32{1, -2.5, float32(math.Inf(1)), 3e-39}
	raw := make([]byte, 16)
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	entries := []Entry{
		{Name: "z.weight", DType: F32, Shape: []int{2, 2}, Data: raw},
		{Name: "a.scalar", DType: I64, Shape: nil, Data: make([]byte, 8)},
		{Name: "m.half", DType: F16, Shape: []int{3}, WriteData: func(w io.Writer) error {
			_, err := w.Write([]byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00})
			return err
		}},
	}
	if err := WriteFile(path, entries, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if hl := binary.LittleEndian.Uint64(b); (8+hl)%8 != 0 {
		t.Errorf("header length %d leaves the data unaligned", hl)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := []string{}
	for _, ti := range f.Tensors() {
		names = append(names, ti.Name)
	}
	if strings.Join(names, ",") != "a.scalar,m.half,z.weight" {
		t.Errorf("names %v", names)
	}
	got := make([]byte, 16)
	if err := f.ReadInto("z.weight", got); err != nil || !bytes.Equal(got, raw) {
		t.Errorf("z.weight bytes %v, %v", got, err)
	}
	h := make([]float32, 3)
	if err := f.ReadFloat32("m.half", h); err != nil {
		t.Fatal(err)
	}
	if h[0] != 1 || h[1] != -2 || h[2] != float32(math.Ldexp(1, -24)) {
		t.Errorf("m.half = %v", h)
	}
	if err := f.ReadFloat32("a.scalar", make([]float32, 1)); err == nil {
		t.Error("ReadFloat32 of an I64 tensor: no error")
	}
	// Bad entries leave no file behind.
	bad := filepath.Join(dir, "bad.safetensors")
	for _, es := range [][]Entry{
		{{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}},
		{{Name: "x", DType: "F7", Shape: []int{1}, Data: make([]byte, 1)}},
		{{Name: "x", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}, {Name: "x", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}},
		{{Name: "x", DType: F32, Shape: []int{2}, WriteData: func(w io.Writer) error { _, err := w.Write(make([]byte, 4)); return err }}},
		{{Name: "x", DType: F32, Shape: []int{1}, WriteData: func(io.Writer) error { return errors.New("boom") }}},
	} {
		if err := WriteFile(bad, es, nil); err == nil {
			t.Errorf("WriteFile(%+v): no error", es)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*bad*"))
	if len(left) != 0 {
		t.Errorf("failed writes left %v", left)
	}
}

// TestHalfToFloat32 checks binary16 decoding against hand-computed values.
func TestHalfToFloat32(t *testing.T) {
	cases := []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x7bff, 65504},
		{0x0001, math.Ldexp(1, -24)}, {0x03ff, math.Ldexp(1023, -24)}, {0x0400, math.Ldexp(1, -14)},
		{0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)},
	}
	for _, c := range cases {
		if got := HalfToFloat32(c.bits); float64(got) != c.want {
			t.Errorf("HalfToFloat32(%#04x) = %v, want %v", c.bits, got, c.want)
		}
	}
	if !math.IsNaN(float64(HalfToFloat32(0x7e00))) {
		t.Error("0x7e00 is not NaN")
	}
	if got := HalfToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("-0 = %v", got)
	}
}

// TestReadPythonWritten reads a file written by the independent Python writer
// of scripts/reference (the parity fixture of accel/neox).
func TestReadPythonWritten(t *testing.T) {
	path := filepath.Join("..", "neox", "testdata", "parity", "sequential", "expected.safetensors")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, ok := f.Lookup("lengths")
	if !ok || ti.DType != I32 || len(ti.Shape) != 1 || ti.Shape[0] != 3 {
		t.Fatalf("lengths = %+v", ti)
	}
	raw := make([]byte, 12)
	if err := f.ReadInto("lengths", raw); err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint32{9, 5, 2} {
		if got := binary.LittleEndian.Uint32(raw[4*i:]); got != want {
			t.Errorf("lengths[%d] = %d, want %d", i, got, want)
		}
	}
	if f.Metadata["seed"] != "1001" {
		t.Errorf("metadata %v", f.Metadata)
	}
}

func TestReadIndex(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "model.safetensors.index.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	idx, err := ReadIndex(write(`{"metadata":{"total_size":8},"weight_map":{"a":"m-2.safetensors","b":"m-1.safetensors","c":"m-1.safetensors"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := idx.Shards(); len(s) != 2 || s[0] != "m-1.safetensors" {
		t.Errorf("shards %v", s)
	}
	for _, bad := range []string{`{}`, `{"weight_map":{"a":"../x.safetensors"}}`, `{"weight_map":{"a":"x.bin"}}`, `{"weight_map":`} {
		if _, err := ReadIndex(write(bad)); err == nil {
			t.Errorf("ReadIndex(%s): no error", bad)
		}
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts is
// self-consistent: offsets within the data, sizes matching, readable tensors.
func FuzzParse(f *testing.F) {
	f32 := make([]byte, 16)
	f.Add(build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32))
	f.Add(build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]},"__metadata__":{"k":"v"}}`, f32))
	f.Add(build(`{}`, nil))
	f.Add(build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, f32))
	if b, err := os.ReadFile(filepath.Join("..", "neox", "testdata", "parity", "noscore", "model.safetensors")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := parseBytes(b)
		if err != nil {
			return
		}
		data := int64(len(b)) - sf.dataStart
		var total int64
		for _, ti := range sf.Tensors() {
			if ti.Begin < 0 || ti.End > data || ti.NumBytes() != ti.NumElements()*int64(ti.DType.Size()) {
				t.Fatalf("accepted inconsistent tensor %+v (data %d)", ti, data)
			}
			total += ti.NumBytes()
			buf := make([]byte, ti.NumBytes())
			if err := sf.ReadInto(ti.Name, buf); err != nil {
				t.Fatalf("accepted tensor %q unreadable: %v", ti.Name, err)
			}
		}
		if total != data {
			t.Fatalf("tensors cover %d of %d bytes", total, data)
		}
	})
}

// FuzzReadIndex: ReadIndex never panics and only accepts plain shard names.
func FuzzReadIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"m-1.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../m.safetensors"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "model.safetensors.index.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		idx, err := ReadIndex(p)
		if err != nil {
			return
		}
		for _, s := range idx.Shards() {
			if s != filepath.Base(s) || !strings.HasSuffix(s, ".safetensors") {
				t.Fatalf("accepted shard %q", s)
			}
		}
	})
}

// TestWriteTempRemovedOnInterrupt: while WriteTemp writes, its temporary file
// is registered for the interrupt cleanup (so a SIGINT during a long export
// leaves nothing behind); once it returns, it is not.
func TestWriteTempRemovedOnInterrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	var during int
	var leftDuring []string
	tmp, err := WriteTemp(path, []Entry{{Name: "w", DType: F32, Shape: []int{2}, WriteData: func(w io.Writer) error {
		during = cleanup.RemoveAll() // what an interrupt now would do
		leftDuring, _ = filepath.Glob(filepath.Join(dir, ".model.safetensors.tmp-*"))
		_, err := w.Write(make([]byte, 8))
		return err
	}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if during != 1 || len(leftDuring) != 0 {
		t.Fatalf("an interrupt during the write removed %d files, left %v; want 1 removed, none left", during, leftDuring)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file %s survived the cleanup: %v", tmp, err)
	}
	// a completed write is no longer registered
	tmp, err = WriteTemp(path, []Entry{{Name: "w", DType: F32, Shape: []int{2}, Data: make([]byte, 8)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := cleanup.RemoveAll(); n != 0 {
		t.Fatalf("cleanup removed %d files after WriteTemp returned", n)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
}
