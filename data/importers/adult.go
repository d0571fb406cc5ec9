package importers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/adult"
)

// importAdult reads adult.data (split train) and/or adult.test (split test),
// or a folder holding them. The test file's banner line ("|1x3 Cross
// validator") is skipped and its labels' trailing "." removed; rows with "?"
// are kept and rendered "unknown" (see package adult).
func importAdult(in string, _ Options, emit Emit) (Result, error) {
	files, err := filesIn(in, "adult.data", "adult.test")
	if err != nil {
		return Result{}, err
	}
	res := Result{Inputs: files, Extra: map[string]int64{"rows_with_missing": 0}}
	for _, p := range files {
		split := "train"
		if strings.HasSuffix(p, ".test") {
			split = "test"
		}
		n, err := Adult(p, split, emit)
		res.Extra["rows_with_missing"] += n
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// Adult imports one UCI Adult file as rows with ids "adult/<split>/<n>"
// (n counts records from 0), group = sex and race kept; it returns the
// number of rows holding a "?".
func Adult(path, split string, emit Emit) (missing int64, err error) {
	f, err := openText(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lr := newLineReader(path, f)
	n := 0
	for {
		line, ok, err := lr.next()
		if err != nil {
			return missing, err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" || (n == 0 && strings.HasPrefix(line, "|")) {
			continue
		}
		rec, err := parseAdult(line)
		if err != nil {
			return missing, lr.errorf("%v", err)
		}
		if rec.HasMissing() {
			missing++
		}
		ex := data.Example{
			ID:    "adult/" + split + "/" + strconv.Itoa(n),
			Text:  rec.Text(),
			Label: rec.Label(),
			Group: rec.Sex,
			Race:  rec.Race,
			Split: split,
		}
		if err := checkUTF8(&ex); err != nil {
			return missing, lr.errorf("%v", err)
		}
		if err := emit(ex); err != nil {
			return missing, lr.errorf("%v", err)
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no Adult records", path)
	}
	return missing, nil
}

func parseAdult(line string) (adult.Record, error) {
	fs := strings.Split(line, ",")
	if len(fs) != len(adult.Columns) {
		return adult.Record{}, fmt.Errorf("%d fields, want %d (%s)", len(fs), len(adult.Columns), strings.Join(adult.Columns, ", "))
	}
	for i := range fs {
		fs[i] = strings.TrimSpace(fs[i])
	}
	var r adult.Record
	ints := []struct {
		col int
		dst *int
	}{{0, &r.Age}, {2, &r.Fnlwgt}, {4, &r.EducationNum}, {10, &r.CapitalGain}, {11, &r.CapitalLoss}, {12, &r.HoursPerWeek}}
	for _, c := range ints {
		v, err := strconv.Atoi(fs[c.col])
		if err != nil {
			return r, fmt.Errorf("field %s: %q is not an integer", adult.Columns[c.col], fs[c.col])
		}
		*c.dst = v
	}
	r.Workclass, r.Education, r.MaritalStatus, r.Occupation = fs[1], fs[3], fs[5], fs[6]
	r.Relationship, r.Race, r.Sex, r.NativeCountry = fs[7], fs[8], fs[9], fs[13]
	for _, c := range []int{1, 3, 5, 6, 7, 8, 9, 13} {
		if fs[c] == "" {
			return r, fmt.Errorf("field %s is empty", adult.Columns[c])
		}
	}
	switch strings.TrimSuffix(fs[14], ".") {
	case ">50K":
		r.HighIncome = true
	case "<=50K":
	default:
		return r, fmt.Errorf("field income: %q is neither >50K nor <=50K", fs[14])
	}
	return r, nil
}
