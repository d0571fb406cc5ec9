package tokenizer

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// dataDir returns the shared data folder: $W2ST_DATA_DIR, or ../shared/data
// beside the module root. It skips the test when the folder is missing, and
// fails it when CI is set.
func dataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("W2ST_DATA_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "data")
				break
			}
			if filepath.Dir(d) == d {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizers")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared data folder %s is missing (set W2ST_DATA_DIR): %v", dir, err)
		}
		t.Skipf("shared data folder %s is missing (set W2ST_DATA_DIR to run this test): %v", dir, err)
	}
	return dir
}

var (
	loadOnce sync.Map // path -> *loaded
)

type loaded struct {
	once sync.Once
	tok  *Tokenizer
	err  error
}

// load returns a tokenizer from the shared data folder, loaded once per test binary.
func load(t testing.TB, rel string) *Tokenizer {
	t.Helper()
	p := filepath.Join(dataDir(t), rel)
	v, _ := loadOnce.LoadOrStore(p, &loaded{})
	l := v.(*loaded)
	l.once.Do(func() { l.tok, l.err = Load(p) })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.tok
}

func gpt2(t testing.TB) *Tokenizer { return load(t, "tokenizers/gpt2") }
func neox(t testing.TB) *Tokenizer { return load(t, "tokenizers/gpt-neox-20b-tokenizer.json") }
