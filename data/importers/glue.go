package importers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/w2st/w2st/data"
)

// importSST2 reads GLUE SST-2 train.tsv (split train) and/or dev.tsv (split
// dev), or a folder holding them.
func importSST2(in string, _ Options, emit Emit) (Result, error) {
	files, err := filesIn(in, "train.tsv", "dev.tsv")
	if err != nil {
		return Result{}, err
	}
	for _, p := range files {
		split := "train"
		if strings.HasSuffix(p, "dev.tsv") {
			split = "dev"
		} else if strings.HasSuffix(p, "test.tsv") {
			split = "test"
		}
		if err := SST2(p, split, emit); err != nil {
			return Result{}, err
		}
	}
	return Result{Inputs: files}, nil
}

// SST2 imports one GLUE SST-2 TSV file: a header naming "label" and the text
// column ("sentence", or "content" in dev.tsv); rows get ids
// "sst2/<split>/<n>". Fields are split on tabs only (GLUE's TSV has no
// quoting).
func SST2(path, split string, emit Emit) error {
	f, err := openText(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lr := newLineReader(path, f)
	header, ok, err := lr.next()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: empty file", path)
	}
	cols := strings.Split(header, "\t")
	labelCol, textCol := -1, -1
	for i, c := range cols {
		switch c {
		case "label":
			labelCol = i
		case "sentence", "content":
			textCol = i
		}
	}
	if labelCol < 0 || textCol < 0 {
		return fmt.Errorf("%s:1: header %q needs columns label and sentence (or content)", path, header)
	}
	n := 0
	for {
		line, ok, err := lr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if line == "" {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != len(cols) {
			return lr.errorf("%d tab-separated fields, header has %d", len(fs), len(cols))
		}
		label, err := parseLabel(fs[labelCol])
		if err != nil {
			return lr.errorf("%v", err)
		}
		ex := data.Example{ID: "sst2/" + split + "/" + strconv.Itoa(n), Text: fs[textCol], Label: label, Split: split}
		if err := checkUTF8(&ex); err != nil {
			return lr.errorf("%v", err)
		}
		if err := emit(ex); err != nil {
			return lr.errorf("%v", err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: header but no rows", path)
	}
	return nil
}
