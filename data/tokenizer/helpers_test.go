package tokenizer

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/w2st/w2st/internal/shareddata"
)

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
	p := filepath.Join(shareddata.Dir(t), rel)
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
