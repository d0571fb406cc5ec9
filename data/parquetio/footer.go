package parquetio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFooterBytes bounds the Parquet footer (file metadata) a reader accepts.
const MaxFooterBytes = 64 << 20

// checkFooter validates the structure of a Parquet footer before parquet-go
// decodes it. parquet-go allocates lists at the size the file claims, so a
// corrupt or hostile footer could request many gigabytes; here every
// container's size must be backed by actual bytes (each element takes at
// least one byte), which bounds allocations by the real footer size.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes is too short for a Parquet file", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading footer: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return errors.New("missing PAR1 magic at the end (truncated or not Parquet)")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > MaxFooterBytes {
		return fmt.Errorf("footer of %d bytes exceeds the %d-byte limit", n, MaxFooterBytes)
	}
	if n+12 > size {
		return fmt.Errorf("footer length %d exceeds the file size %d (truncated?)", n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-8-n); err != nil {
		return fmt.Errorf("reading footer: %w", err)
	}
	c := compactChecker{b: buf}
	if err := c.structure(0); err != nil {
		return fmt.Errorf("corrupt footer at byte %d: %w", c.pos, err)
	}
	return nil
}

// compactChecker walks Thrift compact-protocol bytes without decoding them.
type compactChecker struct {
	b   []byte
	pos int
}

const maxThriftDepth = 64

var errShort = errors.New("unexpected end of data")

func (c *compactChecker) byte1() (byte, error) {
	if c.pos >= len(c.b) {
		return 0, errShort
	}
	v := c.b[c.pos]
	c.pos++
	return v, nil
}

func (c *compactChecker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(c.b[c.pos:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	c.pos += n
	return v, nil
}

func (c *compactChecker) skip(n uint64) error {
	if n > uint64(len(c.b)-c.pos) {
		return fmt.Errorf("length %d runs past the end", n)
	}
	c.pos += int(n)
	return nil
}

func (c *compactChecker) structure(depth int) error {
	if depth > maxThriftDepth {
		return errors.New("nesting too deep")
	}
	for {
		h, err := c.byte1()
		if err != nil {
			return err
		}
		typ := h & 0x0f
		if typ == 0 {
			return nil
		}
		if h>>4 == 0 { // long form: explicit field id
			if _, err := c.uvarint(); err != nil {
				return err
			}
		}
		if err := c.value(typ, depth, false); err != nil {
			return err
		}
	}
}

func (c *compactChecker) value(typ byte, depth int, inList bool) error {
	switch typ {
	case 1, 2: // bool: in a field header the value is the type; in a list one byte
		if inList {
			_, err := c.byte1()
			return err
		}
		return nil
	case 3:
		_, err := c.byte1()
		return err
	case 4, 5, 6:
		_, err := c.uvarint()
		return err
	case 7:
		return c.skip(8)
	case 8:
		n, err := c.uvarint()
		if err != nil {
			return err
		}
		return c.skip(n)
	case 9, 10:
		h, err := c.byte1()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = c.uvarint(); err != nil {
				return err
			}
		}
		if n > uint64(len(c.b)-c.pos) {
			return fmt.Errorf("list of %d elements in %d remaining bytes", n, len(c.b)-c.pos)
		}
		et := h & 0x0f
		for i := uint64(0); i < n; i++ {
			if err := c.value(et, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 11:
		n, err := c.uvarint()
		if err != nil || n == 0 {
			return err
		}
		if 2*n > uint64(len(c.b)-c.pos) {
			return fmt.Errorf("map of %d entries in %d remaining bytes", n, len(c.b)-c.pos)
		}
		kv, err := c.byte1()
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := c.value(kv>>4, depth+1, true); err != nil {
				return err
			}
			if err := c.value(kv&0x0f, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 12:
		return c.structure(depth + 1)
	default:
		return fmt.Errorf("unknown thrift type %d", typ)
	}
}
