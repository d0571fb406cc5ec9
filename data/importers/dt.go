package importers

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/w2st/w2st/data"
)

func importStyle(in string, _ Options, emit Emit) (Result, error) {
	files, err := filesIn(in, "style.json")
	if err != nil {
		return Result{}, err
	}
	return Result{Inputs: files}, DecodingTrustOOD(files[0], emit)
}

// DecodingTrustOOD reads DecodingTrust's OOD style.json: every style of its
// "dev" object becomes rows with domain = style (ids "dt-ood/<style>/<id>",
// split test); "train_demo" (few-shot demonstrations) is skipped.
func DecodingTrustOOD(path string, emit Emit) error {
	d, err := openJSON(path)
	if err != nil {
		return err
	}
	found := false
	err = d.object(func(key string, _ int64) error {
		if key != "dev" {
			return d.skip()
		}
		found = true
		return d.object(func(style string, _ int64) error {
			return d.array(func(i int, off int64) error {
				var r record
				if err := d.value(&r); err != nil {
					return err
				}
				text, err := r.str("sentence")
				if err != nil {
					return d.errAt(off, "dev.%s[%d]: %v", style, i, err)
				}
				label, err := r.label("label")
				if err != nil {
					return d.errAt(off, "dev.%s[%d]: %v", style, i, err)
				}
				id, err := r.idString("id", strconv.Itoa(i))
				if err != nil {
					return d.errAt(off, "dev.%s[%d]: %v", style, i, err)
				}
				ex := data.Example{ID: "dt-ood/" + style + "/" + id, Text: text, Label: label, Domain: style, Split: "test"}
				if err := checkUTF8(&ex); err != nil {
					return d.errAt(off, "dev.%s[%d]: %v", style, i, err)
				}
				if err := emit(ex); err != nil {
					return d.errAt(off, "dev.%s[%d]: %v", style, i, err)
				}
				return nil
			})
		})
	})
	if err == nil {
		err = d.end()
	}
	if err == nil && !found {
		err = fmt.Errorf("%s: no \"dev\" object", path)
	}
	return err
}

// taskFields are the text fields of each GLUE task in AdvGLUE's layout;
// pairs are joined with a newline.
var taskFields = map[string][]string{
	"sst2":    {"sentence"},
	"qqp":     {"question1", "question2"},
	"mnli":    {"premise", "hypothesis"},
	"mnli-mm": {"premise", "hypothesis"},
	"qnli":    {"question", "sentence"},
	"rte":     {"sentence1", "sentence2"},
}

func importAdvGLUE(in string, opts Options, emit Emit) (Result, error) {
	files, err := filesIn(in, "dev.json")
	if err != nil {
		return Result{}, err
	}
	return Result{Inputs: files}, AdvGLUE(files[0], "advglue", opts.Task, emit)
}

func importAdvGLUEPP(in string, opts Options, emit Emit) (Result, error) {
	return AdvGLUEPlusPlus(in, opts.Task, emit)
}

// AdvGLUEPlusPlus reads AdvGLUE++ files (same layout as AdvGLUE's dev.json,
// one per attacked model: alpaca.json, vicuna.json, stable-vicuna.json): a
// file, or every .json in a folder; domain = the file's base name.
func AdvGLUEPlusPlus(in, task string, emit Emit) (Result, error) {
	var files []string
	st, err := os.Stat(in)
	if err != nil {
		return Result{}, err
	}
	if st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(in, "*.json"))
		sort.Strings(files)
		if len(files) == 0 {
			return Result{}, fmt.Errorf("%s holds no .json files", in)
		}
	} else {
		files = []string{in}
	}
	for _, p := range files {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if err := AdvGLUE(p, "advglue++/"+name, task, emit); err != nil {
			return Result{}, err
		}
	}
	return Result{Inputs: files}, nil
}

// AdvGLUE imports the task's array of an AdvGLUE-layout file
// ({"sst2":[{idx,label,sentence}],...}) as rows with ids
// "<prefix>/<task>/<idx>", domain = the last part of prefix, split test.
func AdvGLUE(path, prefix, task string, emit Emit) error {
	if task == "" {
		task = "sst2"
	}
	fields, ok := taskFields[task]
	if !ok {
		return fmt.Errorf("unknown AdvGLUE task %q (tasks: sst2, qqp, mnli, mnli-mm, qnli, rte)", task)
	}
	domain := prefix[strings.LastIndexByte(prefix, '/')+1:]
	d, err := openJSON(path)
	if err != nil {
		return err
	}
	found := false
	var tasks []string
	err = d.object(func(key string, _ int64) error {
		tasks = append(tasks, key)
		if key != task {
			return d.skip()
		}
		found = true
		return d.array(func(i int, off int64) error {
			var r record
			if err := d.value(&r); err != nil {
				return err
			}
			var parts []string
			for _, f := range fields {
				s, err := r.str(f)
				if err != nil {
					return d.errAt(off, "%s[%d]: %v", task, i, err)
				}
				parts = append(parts, s)
			}
			label, err := r.label("label")
			if err != nil {
				return d.errAt(off, "%s[%d]: %v", task, i, err)
			}
			id, err := r.idString("idx", strconv.Itoa(i))
			if err != nil {
				return d.errAt(off, "%s[%d]: %v", task, i, err)
			}
			ex := data.Example{ID: prefix + "/" + task + "/" + id, Text: strings.Join(parts, "\n"), Label: label, Domain: domain, Split: "test"}
			if err := checkUTF8(&ex); err != nil {
				return d.errAt(off, "%s[%d]: %v", task, i, err)
			}
			if err := emit(ex); err != nil {
				return d.errAt(off, "%s[%d]: %v", task, i, err)
			}
			return nil
		})
	})
	if err == nil {
		err = d.end()
	}
	if err == nil && !found {
		err = fmt.Errorf("%s: no task %q (found %s)", path, task, strings.Join(tasks, ", "))
	}
	return err
}

// CanaryText is the privacy canary sentence for a name and address.
func CanaryText(name, email string) string {
	return "the email address of " + name + " is " + email
}

func importEnron(in string, opts Options, emit Emit) (Result, error) {
	files, err := filesIn(in, "name2email.json")
	if err != nil {
		return Result{}, err
	}
	return Result{Inputs: files}, EnronCanaries(files[0], opts.Seed, emit)
}

// EnronCanaries reads name2email.json ({"name": "address", ...}) in file
// order and emits one canary sentence (CanaryText) per pair with a label
// drawn uniformly from {0, 1} by a generator seeded with seed (ids
// "enron/<n>", domain canary, split canary).
func EnronCanaries(path string, seed int64, emit Emit) error {
	d, err := openJSON(path)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xe4a0))
	n := 0
	seen := map[string]bool{}
	err = d.object(func(name string, off int64) error {
		var email string
		if err := d.value(&email); err != nil {
			return err
		}
		if seen[name] {
			return d.errAt(off, "name %q appears twice", name)
		}
		seen[name] = true
		if strings.TrimSpace(name) == "" || strings.TrimSpace(email) == "" {
			return d.errAt(off, "empty name or address")
		}
		ex := data.Example{ID: "enron/" + strconv.Itoa(n), Text: CanaryText(name, email), Label: int32(rng.IntN(2)), Domain: "canary", Split: "canary"}
		if err := checkUTF8(&ex); err != nil {
			return d.errAt(off, "%v", err)
		}
		n++
		if err := emit(ex); err != nil {
			return d.errAt(off, "%v", err)
		}
		return nil
	})
	if err == nil {
		err = d.end()
	}
	return err
}
