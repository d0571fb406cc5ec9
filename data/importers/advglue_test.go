package importers

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/w2st/w2st/data"
)

func TestAdvGLUELayouts(t *testing.T) {
	dir := t.TempDir()
	pp := filepath.Join(dir, "pp")
	if err := os.Mkdir(pp, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, pp, "alpaca.json", `{"sst2": [{"idx": 0, "label": 1, "sentence": "fine"}], "qnli": [{"idx": 7, "label": 0, "question": "q?", "sentence": "s."}]}`)
	write(t, pp, "vicuna.json", `{"sst2": [{"idx": 0, "label": "0", "sentence": "bad"}]}`)
	for _, tc := range []struct {
		name, source, in string
		opts             Options
		want             []data.Example
	}{
		{"plus-plus folder", "advglue-plus-plus", pp, Options{}, []data.Example{
			{ID: "advglue++/alpaca/sst2/0", Text: "fine", Label: 1, Domain: "alpaca", Split: "test"},
			{ID: "advglue++/vicuna/sst2/0", Text: "bad", Label: 0, Domain: "vicuna", Split: "test"},
		}},
		{"pair task", "advglue", filepath.Join(pp, "alpaca.json"), Options{Task: "qnli"}, []data.Example{
			{ID: "advglue/qnli/7", Text: "q?\ns.", Label: 0, Domain: "advglue", Split: "test"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Lookup(tc.source)
			if err != nil {
				t.Fatal(err)
			}
			got, err := collect(t, func(e Emit) error { _, err := src.Run(tc.in, tc.opts, e); return err })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
