package cleanup

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRegisterRemoveAll(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, n := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	Register(paths[0])
	done := Register(paths[1])
	done() // b was renamed into place: not removed
	Register(paths[2])
	os.Remove(paths[2]) // already gone: not counted
	if n := RemoveAll(); n != 1 {
		t.Fatalf("removed %d files, want 1", n)
	}
	for i, want := range []bool{false, true, false} {
		if _, err := os.Stat(paths[i]); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", paths[i], err == nil, want)
		}
	}
	if n := RemoveAll(); n != 0 {
		t.Fatalf("second RemoveAll removed %d", n)
	}
}
