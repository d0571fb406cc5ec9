package importers

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/w2st/w2st/data"
)

// columns are the resolved generic column names.
type columns struct {
	text, label, group, domain, id, split string
}

func (o Options) columns() columns {
	c := columns{text: o.TextCol, label: o.LabelCol, group: o.GroupCol, domain: o.DomainCol, id: o.IDCol, split: o.SplitCol}
	if c.text == "" {
		c.text = "text"
	}
	if c.label == "" {
		c.label = "label"
	}
	return c
}

// genericID is the id of row n of a generic file without an id column.
func genericID(path string, n int) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return base + "/" + strconv.Itoa(n)
}

func importCSV(in string, opts Options, emit Emit) (Result, error) {
	return Result{Inputs: []string{in}}, CSV(in, opts, emit)
}

func importJSONL(in string, opts Options, emit Emit) (Result, error) {
	return Result{Inputs: []string{in}}, JSONL(in, opts, emit)
}

// limitLines fails a read when a line exceeds MaxLineBytes, bounding the
// memory a CSV record can take.
type limitLines struct {
	r   io.Reader
	run int
}

var errLongLine = errors.New("line too long")

func (l *limitLines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.run = 0
			continue
		}
		l.run++
		if l.run > MaxLineBytes {
			return i, errLongLine
		}
	}
	return n, err
}

// CSV imports a delimited file with a header row (Options: TextCol,
// LabelCol, GroupCol, DomainCol, IDCol, SplitCol, Split, Delimiter). Labels
// must be non-negative integers.
func CSV(path string, opts Options, emit Emit) error {
	f, err := openText(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(&limitLines{r: f})
	r.ReuseRecord = true
	switch d := opts.Delimiter; {
	case d == "" || d == ",":
	case d == `\t` || d == "tab" || d == "\t":
		r.Comma = '\t'
	case utf8.RuneCountInString(d) == 1:
		r.Comma, _ = utf8.DecodeRuneInString(d)
	default:
		return fmt.Errorf("delimiter %q must be one character", d)
	}
	fail := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %v", path, pe.StartLine, pe.Err)
		}
		if errors.Is(err, errLongLine) {
			return fmt.Errorf("%s: a line is longer than %d bytes", path, MaxLineBytes)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	header, err := r.Read()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file", path)
	}
	if err != nil {
		return fail(err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	cols := opts.columns()
	index := map[string]int{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return fmt.Errorf("%s:1: header: invalid UTF-8", path)
		}
		index[h] = i
	}
	pos := func(name string) (int, error) {
		if name == "" {
			return -1, nil
		}
		i, ok := index[name]
		if !ok {
			return -1, fmt.Errorf("%s:1: no column %q in header %q", path, name, strings.Join(header, string(r.Comma)))
		}
		return i, nil
	}
	var idx [6]int
	for i, name := range []string{cols.text, cols.label, cols.group, cols.domain, cols.id, cols.split} {
		if idx[i], err = pos(name); err != nil {
			return err
		}
	}
	get := func(rec []string, i int) string {
		if i < 0 {
			return ""
		}
		return rec[i]
	}
	n := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		line, _ := r.FieldPos(0)
		label, err := parseLabel(rec[idx[1]])
		if err != nil {
			return fmt.Errorf("%s:%d: column %s: %v", path, line, cols.label, err)
		}
		ex := data.Example{Text: rec[idx[0]], Label: label, Group: get(rec, idx[2]), Domain: get(rec, idx[3]),
			ID: get(rec, idx[4]), Split: get(rec, idx[5])}
		if err := finishGeneric(&ex, path, n, opts); err != nil {
			return fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if err := emit(ex); err != nil {
			return fmt.Errorf("%s:%d: %v", path, line, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: header but no rows", path)
	}
	return nil
}

func finishGeneric(ex *data.Example, path string, n int, opts Options) error {
	if opts.IDCol == "" {
		ex.ID = genericID(path, n)
	} else if ex.ID == "" {
		return fmt.Errorf("column %s: empty id", opts.IDCol)
	}
	if opts.SplitCol == "" {
		ex.Split = opts.Split
	}
	return checkUTF8(ex)
}

// JSONL imports one JSON object per line (the Options columns name its
// fields). Labels are JSON integers or strings holding integers; group,
// domain, id and split must be strings (ids may be integers).
func JSONL(path string, opts Options, emit Emit) error {
	f, err := openText(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lr := newLineReader(path, f)
	cols := opts.columns()
	n := 0
	for {
		line, ok, err := lr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if i := invalidUTF8([]byte(line)); i >= 0 {
			return fmt.Errorf("%s:%d:%d: invalid UTF-8", path, lr.line, i+1)
		}
		var rec record
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&rec); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return fmt.Errorf("%s:%d:%d: invalid JSON: %v", path, lr.line, se.Offset, err)
			}
			return lr.errorf("want a JSON object: %v", err)
		}
		if dec.More() {
			return lr.errorf("more than one JSON value on the line")
		}
		if rec == nil {
			return lr.errorf("want a JSON object, got null")
		}
		var ex data.Example
		if ex.Text, err = rec.str(cols.text); err != nil {
			return lr.errorf("%v", err)
		}
		if ex.Label, err = rec.label(cols.label); err != nil {
			return lr.errorf("%v", err)
		}
		for _, opt := range []struct {
			col string
			dst *string
		}{{cols.group, &ex.Group}, {cols.domain, &ex.Domain}, {cols.split, &ex.Split}} {
			if opt.col == "" {
				continue
			}
			if *opt.dst, err = rec.str(opt.col); err != nil {
				return lr.errorf("%v", err)
			}
		}
		if cols.id != "" {
			if ex.ID, err = rec.idString(cols.id, ""); err != nil {
				return lr.errorf("%v", err)
			}
			if _, ok := rec[cols.id]; !ok {
				return lr.errorf("missing field %q", cols.id)
			}
		}
		if err := finishGeneric(&ex, path, n, opts); err != nil {
			return lr.errorf("%v", err)
		}
		if err := emit(ex); err != nil {
			return lr.errorf("%v", err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no rows", path)
	}
	return nil
}
