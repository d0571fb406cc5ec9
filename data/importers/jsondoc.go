package importers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonDoc walks a whole JSON document token by token, so errors can name the
// file, line and column of the offending value.
type jsonDoc struct {
	path string
	b    []byte
	dec  *json.Decoder
}

func openJSON(path string) (*jsonDoc, error) {
	b, err := readSmall(path, MaxJSONBytes)
	if err != nil {
		return nil, err
	}
	// A UTF-8 byte order mark is not JSON; blank it so offsets stay those of the file.
	if bytes.HasPrefix(b, []byte("\ufeff")) {
		copy(b, "   ")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	d := &jsonDoc{path: path, b: b, dec: dec}
	// encoding/json silently replaces invalid UTF-8, so check the bytes.
	if i := invalidUTF8(b); i >= 0 {
		return nil, d.errAt(int64(i), "invalid UTF-8")
	}
	return d, nil
}

// invalidUTF8 returns the offset of the first invalid UTF-8 byte, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// where formats a byte offset as path:line:col, skipping separators.
func (d *jsonDoc) where(off int64) string {
	for off < int64(len(d.b)) && strings.IndexByte(" \t\r\n,:", d.b[off]) >= 0 {
		off++
	}
	off = min(off, int64(len(d.b)))
	line := 1 + bytes.Count(d.b[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(d.b[:off], '\n'))
	return fmt.Sprintf("%s:%d:%d", d.path, line, col)
}

func (d *jsonDoc) errAt(off int64, format string, a ...any) error {
	return fmt.Errorf("%s: %s", d.where(off), fmt.Sprintf(format, a...))
}

// wrap turns a decoder error into one with a position; base is where the
// value being decoded starts (type errors count from there).
func (d *jsonDoc) wrap(err error, base int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return d.errAt(se.Offset-1, "invalid JSON: %v", err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return d.errAt(base+te.Offset-1, "%v", err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.errAt(int64(len(d.b)), "truncated JSON (unexpected end of file)")
	}
	return d.errAt(d.dec.InputOffset(), "%v", err)
}

func (d *jsonDoc) delim(want json.Delim) error {
	off := d.dec.InputOffset()
	tok, err := d.dec.Token()
	if err != nil {
		return d.wrap(err, 0)
	}
	if got, ok := tok.(json.Delim); !ok || got != want {
		return d.errAt(off, "expected %q, found %v", string(want), tok)
	}
	return nil
}

// object iterates over an object's keys; fn must consume the value.
func (d *jsonDoc) object(fn func(key string, off int64) error) error {
	if err := d.delim('{'); err != nil {
		return err
	}
	for d.dec.More() {
		off := d.dec.InputOffset()
		tok, err := d.dec.Token()
		if err != nil {
			return d.wrap(err, 0)
		}
		key, _ := tok.(string)
		if err := fn(key, d.dec.InputOffset()); err != nil {
			return err
		}
		_ = off
	}
	return d.delim('}')
}

// array iterates over an array; fn must consume each element.
func (d *jsonDoc) array(fn func(i int, off int64) error) error {
	if err := d.delim('['); err != nil {
		return err
	}
	for i := 0; d.dec.More(); i++ {
		if err := fn(i, d.dec.InputOffset()); err != nil {
			return err
		}
	}
	return d.delim(']')
}

// value decodes the next value into v.
func (d *jsonDoc) value(v any) error {
	base := d.dec.InputOffset()
	for base < int64(len(d.b)) && strings.IndexByte(" \t\r\n,:", d.b[base]) >= 0 {
		base++
	}
	if err := d.dec.Decode(v); err != nil {
		return d.wrap(err, base)
	}
	return nil
}

func (d *jsonDoc) skip() error {
	var raw json.RawMessage
	return d.value(&raw)
}

// end checks nothing follows the document.
func (d *jsonDoc) end() error {
	if _, err := d.dec.Token(); err == nil {
		return d.errAt(d.dec.InputOffset(), "data after the end of the JSON document")
	}
	return nil
}

// record is one JSON object with typed accessors.
type record map[string]json.RawMessage

func (r record) str(key string) (string, error) {
	raw, ok := r[key]
	if !ok {
		return "", fmt.Errorf("missing field %q", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || string(raw) == "null" {
		return "", fmt.Errorf("field %q: want a string, got %s", key, abbrev(raw))
	}
	return s, nil
}

// label reads an integer label given as a JSON integer or a string holding one.
func (r record) label(key string) (int32, error) {
	raw, ok := r[key]
	if !ok {
		return 0, fmt.Errorf("missing field %q", key)
	}
	if string(raw) == "null" {
		return 0, fmt.Errorf("field %q: want an integer label, got null", key)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	v, err := parseLabel(s)
	if err != nil {
		return 0, fmt.Errorf("field %q: %v", key, err)
	}
	return v, nil
}

// idString renders an id field (number or string), or def when absent.
func (r record) idString(key, def string) (string, error) {
	raw, ok := r[key]
	if !ok {
		return def, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return n.String(), nil
		}
	}
	return "", fmt.Errorf("field %q: want a string or integer id, got %s", key, abbrev(raw))
}

func abbrev(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
