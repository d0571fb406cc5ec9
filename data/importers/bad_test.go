package importers

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/w2st/w2st/data"
)

func collect(t *testing.T, f func(Emit) error) ([]data.Example, error) {
	t.Helper()
	var rows []data.Example
	err := f(func(ex data.Example) error { rows = append(rows, ex); return nil })
	return rows, err
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	const adultRow = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K"
	for _, tc := range []struct {
		name, source, file, content string
		opts                        Options
		want                        []string
	}{
		{"adult short row", "adult", "a.data", adultRow + "\n39, State-gov\n", Options{}, []string{"a.data:2:", "2 fields, want 15"}},
		{"adult bad age", "adult", "b.data", strings.Replace(adultRow, "39", "thirty", 1) + "\n", Options{}, []string{"b.data:1:", "field age", "not an integer"}},
		{"adult bad label", "adult", "c.data", strings.Replace(adultRow, "<=50K", "rich", 1) + "\n", Options{}, []string{"c.data:1:", "field income"}},
		{"adult empty", "adult", "d.data", "", Options{}, []string{"d.data: empty file"}},
		{"adult utf-8", "adult", "e.data", strings.Replace(adultRow, "State-gov", "St\xffate", 1) + "\n", Options{}, []string{"e.data:1:", "invalid UTF-8"}},
		{"sst2 header", "sst2", "train.tsv", "label\ttext\n1\tgood\n", Options{}, []string{"train.tsv:1:", "needs columns label and sentence"}},
		{"sst2 label", "sst2", "x.tsv", "sentence\tlabel\ngood\tpositive\n", Options{}, []string{"x.tsv:2:", `label "positive" is not an integer`}},
		{"sst2 fields", "sst2", "y.tsv", "sentence\tlabel\ngood\t1\textra\n", Options{}, []string{"y.tsv:2:", "3 tab-separated fields"}},
		{"sst2 only header", "sst2", "z.tsv", "sentence\tlabel\n", Options{}, []string{"z.tsv: header but no rows"}},
		{"style truncated", "decodingtrust-ood", "style.json", `{"dev": {"base": [{"sentence": "a", "label": "0", "id": 0},`, Options{}, []string{"style.json:1:", "truncated"}},
		{"style label", "decodingtrust-ood", "s2.json", "{\"dev\": {\"base\": [\n{\"sentence\": \"a\", \"label\": \"0\", \"id\": 0},\n{\"sentence\": \"b\", \"label\": \"pos\", \"id\": 1}]}}", Options{}, []string{"s2.json:3:1:", "dev.base[1]", `"label"`}},
		{"style missing text", "decodingtrust-ood", "s3.json", `{"dev": {"base": [{"label": 1}]}}`, Options{}, []string{"s3.json:1:", `missing field "sentence"`}},
		{"style no dev", "decodingtrust-ood", "s4.json", `{"train_demo": {}}`, Options{}, []string{"s4.json", `no "dev"`}},
		{"style utf-8", "decodingtrust-ood", "s5.json", "{\"dev\": {\"base\": [\n{\"sentence\": \"caf\xe9\", \"label\": 1}]}}", Options{}, []string{"s5.json:2:", "invalid UTF-8"}},
		{"advglue task", "advglue", "dev.json", `{"sst2": []}`, Options{Task: "cola"}, []string{"unknown AdvGLUE task"}},
		{"advglue missing task", "advglue", "dev2.json", `{"qqp": []}`, Options{}, []string{"dev2.json", `no task "sst2" (found qqp)`}},
		{"advglue not json", "advglue", "dev3.json", "sst2: []", Options{}, []string{"dev3.json:1:1:", "invalid JSON"}},
		{"enron value type", "enron-canaries", "n.json", "{\"A B\": \"a@b\",\n \"C D\": 7}", Options{}, []string{"n.json:2:", "cannot unmarshal number"}},
		{"enron duplicate", "enron-canaries", "n2.json", `{"A B": "a@b", "A B": "c@d"}`, Options{}, []string{"n2.json:1:", `"A B" appears twice`}},
		{"csv missing column", "csv", "m.csv", "sentence,label\nhi,1\n", Options{}, []string{"m.csv:1:", `no column "text"`}},
		{"csv label", "csv", "l.csv", "text,label\nhi,1\nho,0.5\n", Options{}, []string{"l.csv:3:", `label "0.5" is not an integer`}},
		{"csv quote", "csv", "q.csv", "text,label\n\"unclosed,1\n", Options{}, []string{"q.csv:2:"}},
		{"csv fields", "csv", "f.csv", "text,label\nhi,1,2\n", Options{}, []string{"f.csv:2:", "wrong number of fields"}},
		{"csv empty", "csv", "e.csv", "", Options{}, []string{"e.csv: empty file"}},
		{"csv utf-8", "csv", "u.csv", "text,label\nh\xc3,1\n", Options{}, []string{"u.csv:2:", "invalid UTF-8"}},
		{"csv duplicate id", "csv", "d.csv", "id,text,label\na,x,1\na,y,0\n", Options{IDCol: "id"}, []string{"d.csv:3:", `duplicate id "a"`}},
		{"jsonl syntax", "jsonl", "s.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\" \"label\": 1}\n", Options{}, []string{"s.jsonl:2:", "invalid JSON"}},
		{"jsonl label", "jsonl", "l.jsonl", "{\"text\": \"a\", \"label\": true}\n", Options{}, []string{"l.jsonl:1:", `label "true" is not an integer`}},
		{"jsonl text type", "jsonl", "t.jsonl", "{\"text\": 3, \"label\": 1}\n", Options{}, []string{"t.jsonl:1:", `field "text": want a string`}},
		{"jsonl group missing", "jsonl", "g.jsonl", "{\"text\": \"a\", \"label\": 1}\n", Options{GroupCol: "sex"}, []string{"g.jsonl:1:", `missing field "sex"`}},
		{"jsonl utf-8", "jsonl", "u.jsonl", "{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"\xff\", \"label\": 1}\n", Options{}, []string{"u.jsonl:3:", "invalid UTF-8"}},
		{"jsonl array", "jsonl", "a.jsonl", "[1, 2]\n", Options{}, []string{"a.jsonl:1:", "want a JSON object"}},
		{"jsonl empty", "jsonl", "e.jsonl", "\n\n", Options{}, []string{"e.jsonl: no rows"}},
		{"jsonl null text", "jsonl", "nt.jsonl", "{\"text\": null, \"label\": 1}\n", Options{}, []string{"nt.jsonl:1:", `field "text": want a string, got null`}},
		{"jsonl null label", "jsonl", "nl.jsonl", "{\"text\": \"a\", \"label\": null}\n", Options{}, []string{"nl.jsonl:1:", `field "label": want an integer label, got null`}},
		{"jsonl null group", "jsonl", "ng.jsonl", "{\"text\": \"a\", \"label\": 1, \"sex\": null}\n", Options{GroupCol: "sex"}, []string{"ng.jsonl:1:", `field "sex": want a string, got null`}},
		{"jsonl label range", "jsonl", "lr.jsonl", "{\"text\": \"a\", \"label\": 99999999999}\n", Options{}, []string{"lr.jsonl:1:", "label 99999999999 is out of range"}},
		{"csv label range", "csv", "lr.csv", "text,label\na,3000000000\n", Options{}, []string{"lr.csv:2:", "label 3000000000 is out of range"}},
		{"style null sentence", "decodingtrust-ood", "s6.json", `{"dev": {"base": [{"sentence": null, "label": 1}]}}`, Options{}, []string{"s6.json:1:", `field "sentence": want a string, got null`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := write(t, dir, tc.file, tc.content)
			out := filepath.Join(dir, tc.file+".parquet")
			_, err := Import(tc.source, in, out, tc.opts)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
			for _, p := range []string{out, SummaryPath(out)} {
				if _, err := os.Stat(p); err == nil {
					t.Fatalf("%s written despite the error", p)
				}
			}
		})
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

func TestGenericGood(t *testing.T) {
	dir := t.TempDir()
	want := []data.Example{
		{ID: "r1", Text: "a, \"quoted\"\nline", Label: 1, Group: "F", Domain: "d1", Split: "train"},
		{ID: "r2", Text: "b", Label: 0, Group: "M", Domain: "", Split: "train"},
	}
	csvIn := write(t, dir, "in.csv", "\ufeffid,text,label,sex,style\nr1,\"a, \"\"quoted\"\"\nline\",1,F,d1\r\nr2,b,0,M,\n")
	jsonIn := write(t, dir, "in.jsonl", "{\"id\": \"r1\", \"text\": \"a, \\\"quoted\\\"\\nline\", \"label\": \"1\", \"sex\": \"F\", \"style\": \"d1\"}\n{\"id\": \"r2\", \"text\": \"b\", \"label\": 0, \"sex\": \"M\", \"style\": \"\"}\n")
	opts := Options{IDCol: "id", GroupCol: "sex", DomainCol: "style", Split: "train"}
	for _, tc := range []struct {
		name string
		f    func(Emit) error
	}{
		{"csv", func(e Emit) error { return CSV(csvIn, opts, e) }},
		{"jsonl", func(e Emit) error { return JSONL(jsonIn, opts, e) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect(t, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
	// without an id column ids are <base>/<n>
	got, err := collect(t, func(e Emit) error {
		return CSV(write(t, dir, "x.tsv", "label\ttext\n1\ta\n0\tb\n"), Options{Delimiter: "tab"}, e)
	})
	if err != nil || len(got) != 2 || got[1].ID != "x/1" || got[1].Text != "b" {
		t.Fatalf("tsv: %+v %v", got, err)
	}
	// the summary beside the output
	out := filepath.Join(dir, "g.parquet")
	sum, err := Import("csv", csvIn, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Options.GroupCol != "sex" || sum.Options.Task != "" || sum.Options.TextCol != "" && sum.Options.TextCol != "text" {
		t.Fatalf("summary options %+v", sum.Options)
	}
	if sum.Rows != 2 || sum.Groups["F"] != 1 || sum.Labels["1"] != 1 || sum.Inputs[0].Bytes == 0 || len(sum.Inputs[0].SHA256) != 64 {
		t.Fatalf("summary %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(dir, "g.summary.json")); err != nil {
		t.Fatal(err)
	}
}

// TestByteOrderMark: a leading UTF-8 BOM (and CRLF endings), as Windows
// editors write, is not part of the first header, row or JSON value.
func TestByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	const bom = "\ufeff"
	const adultRow = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K"
	for _, tc := range []struct {
		source, file, content, text string
		label                       int32
	}{
		{"adult", "a.data", bom + adultRow + "\r\n", "", 0},
		{"sst2", "train.tsv", bom + "sentence\tlabel\r\ngood film\t1\r\n", "good film", 1},
		{"jsonl", "b.jsonl", bom + "{\"text\": \"hi\", \"label\": 1}\r\n", "hi", 1},
		{"csv", "c.csv", bom + "text,label\r\nhi,1\r\n", "hi", 1},
		{"decodingtrust-ood", "style.json", bom + `{"dev": {"base": [{"sentence": "fine", "label": "1", "id": 0}]}}`, "fine", 1},
		{"advglue", "dev.json", bom + `{"sst2": [{"idx": 0, "label": 0, "sentence": "bad"}]}`, "bad", 0},
		{"enron-canaries", "name2email.json", bom + `{"Ann Lee": "ann@x.org"}`, "", -1},
	} {
		t.Run(tc.source, func(t *testing.T) {
			in := write(t, dir, tc.file, tc.content)
			src, err := Lookup(tc.source)
			if err != nil {
				t.Fatal(err)
			}
			got, err := collect(t, func(e Emit) error { _, err := src.Run(in, Options{Task: "sst2"}, e); return err })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d rows, want 1", len(got))
			}
			if strings.Contains(got[0].Text, bom) || strings.Contains(got[0].ID, bom) {
				t.Fatalf("BOM kept in %+v", got[0])
			}
			if tc.text != "" && got[0].Text != tc.text {
				t.Fatalf("text %q, want %q", got[0].Text, tc.text)
			}
			if tc.label >= 0 && got[0].Label != tc.label {
				t.Fatalf("label %d, want %d", got[0].Label, tc.label)
			}
		})
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{"text,label\nhi,1\n", "text,label,g\n\"a\nb\",0,x\n", "text,label\n\"bad,1\n", "\ufefftext,label\r\nx,2\r\n", "", "text\n", "text,label\nx,-1\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.csv")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := collect(t, func(e Emit) error {
			return CSV(p, Options{GroupCol: "g"}, func(ex data.Example) error {
				if err := checkUTF8(&ex); err != nil || ex.Label < 0 {
					t.Fatalf("accepted a bad row %+v", ex)
				}
				return e(ex)
			})
		})
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{"{\"text\": \"a\", \"label\": 1}\n", "{\"text\": \"a\", \"label\": \"1\", \"g\": \"x\"}\n\n", "{\"text\": \"a\"", "[]", "null\n", "{\"text\": \"\\ud800\", \"label\": 0}\n", ""} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := collect(t, func(e Emit) error {
			return JSONL(p, Options{GroupCol: "g"}, func(ex data.Example) error {
				if err := checkUTF8(&ex); err != nil || ex.Label < 0 {
					t.Fatalf("accepted a bad row %+v", ex)
				}
				return e(ex)
			})
		})
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}
