package cache

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

type cfg struct {
	Model string  `json:"model"`
	LR    float64 `json:"lr"`
}

func baseKey() Key {
	return Key{
		Stage:    "weak",
		Config:   cfg{Model: "tiny", LR: 1e-3},
		Inputs:   map[string]string{"train": "aa"},
		Upstream: map[string]string{"split": "bb"},
		Code:     "v1",
	}
}

func TestKeyHashDependsOnEverything(t *testing.T) {
	h0, err := baseKey().Hash()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := baseKey().Hash(); again != h0 {
		t.Fatalf("hash not deterministic: %s vs %s", h0, again)
	}
	mods := []struct {
		name string
		mod  func(*Key)
	}{
		{"stage", func(k *Key) { k.Stage = "ceiling" }},
		{"config", func(k *Key) { k.Config = cfg{Model: "tiny", LR: 2e-3} }},
		{"input hash", func(k *Key) { k.Inputs = map[string]string{"train": "ab"} }},
		{"input name", func(k *Key) { k.Inputs = map[string]string{"test": "aa"} }},
		{"upstream", func(k *Key) { k.Upstream = map[string]string{"split": "bc"} }},
		{"code version", func(k *Key) { k.Code = "v2" }},
	}
	for _, m := range mods {
		k := baseKey()
		m.mod(&k)
		h, err := k.Hash()
		if err != nil {
			t.Fatal(err)
		}
		if h == h0 {
			t.Errorf("changing the %s did not change the hash", m.name)
		}
	}
	// Map order must not matter.
	k1, k2 := baseKey(), baseKey()
	k1.Inputs = map[string]string{"a": "1", "b": "2"}
	k2.Inputs = map[string]string{"b": "2", "a": "1"}
	if a, b := must(k1.Hash()), must(k2.Hash()); a != b {
		t.Errorf("map order changed the hash")
	}
	bad := baseKey()
	bad.Stage = "../x"
	if _, err := bad.Hash(); err == nil {
		t.Errorf("stage name with a path: want error")
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestHashFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("abc"), FIPS 180-2 test vector.
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashFile = %s, want %s", got, want)
	}
	if _, err := HashFile(p + ".missing"); err == nil {
		t.Error("missing file: want error")
	}
}

func TestRunHitMissForce(t *testing.T) {
	s, err := Open(t.TempDir(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	fn := func(dir string) (any, error) {
		calls++
		if err := os.WriteFile(filepath.Join(dir, "model.bin"), []byte{byte(calls)}, 0o644); err != nil {
			return nil, err
		}
		return map[string]int{"calls": calls}, nil
	}
	st, err := s.Run(baseKey(), false, fn)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cached || calls != 1 {
		t.Fatalf("first run: cached=%v calls=%d", st.Cached, calls)
	}
	st2, err := s.Run(baseKey(), false, fn)
	if err != nil {
		t.Fatal(err)
	}
	if !st2.Cached || calls != 1 || st2.Dir != st.Dir {
		t.Fatalf("second run: cached=%v calls=%d dir %s vs %s", st2.Cached, calls, st2.Dir, st.Dir)
	}
	other := baseKey()
	other.Config = cfg{Model: "small"}
	st3, err := s.Run(other, false, fn)
	if err != nil {
		t.Fatal(err)
	}
	if st3.Cached || calls != 2 || st3.Dir == st.Dir {
		t.Fatalf("changed config: cached=%v calls=%d", st3.Cached, calls)
	}
	st4, err := s.Run(baseKey(), true, fn)
	if err != nil {
		t.Fatal(err)
	}
	if st4.Cached || calls != 3 || st4.Dir != st.Dir {
		t.Fatalf("force: cached=%v calls=%d", st4.Cached, calls)
	}
	var res map[string]int
	if err := ReadResult(st4.Dir, &res); err != nil {
		t.Fatal(err)
	}
	if res["calls"] != 3 {
		t.Errorf("forced result not replaced: %v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(st4.Dir, "model.bin")); len(b) != 1 || b[0] != 3 {
		t.Errorf("forced artifact not replaced: %v", b)
	}
	if _, err := os.Stat(st4.Dir + ".old"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old stage dir left behind")
	}
}

func TestRunFailureLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, "v1")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err = s.Run(baseKey(), false, func(dir string) (any, error) {
		_ = os.WriteFile(filepath.Join(dir, "half"), []byte("x"), 0o644)
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "stages"))
	if len(entries) != 0 {
		t.Errorf("failed stage left %d entries: %v", len(entries), entries[0].Name())
	}
	// A leftover temporary directory (a killed run) is not a finished stage.
	h, _ := baseKey().Hash()
	leftover := filepath.Join(root, "stages", ".tmp-weak-"+h[:16]+"-123")
	if err := os.MkdirAll(leftover, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := s.Run(baseKey(), false, func(string) (any, error) { return 1, nil })
	if err != nil || st.Cached {
		t.Fatalf("after a killed run: cached=%v err=%v", st.Cached, err)
	}
	// A stage directory without result.json (tampered with) is an error, not a hit.
	if err := os.Remove(filepath.Join(st.Dir, ResultName)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(baseKey(), false, func(string) (any, error) { return 1, nil }); err == nil {
		t.Error("stage dir without result.json: want error")
	}
}

func TestOpenVersionMismatch(t *testing.T) {
	root := t.TempDir()
	if _, err := Open(root, "w2st v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root, "w2st v1"); err != nil {
		t.Fatalf("reopen same version: %v", err)
	}
	_, err := Open(root, "w2st v2")
	var ve *VersionError
	if !errors.As(err, &ve) {
		t.Fatalf("other version: err = %v, want *VersionError", err)
	}
	if ve.Found.Code != "w2st v1" || ve.Want.Code != "w2st v2" {
		t.Errorf("VersionError %+v", ve)
	}
	// A corrupted manifest.
	bad := t.TempDir()
	_ = os.WriteFile(filepath.Join(bad, ManifestName), []byte("{"), 0o644)
	if _, err := Open(bad, "v1"); !errors.As(err, &ve) || ve.Corrupted == nil {
		t.Errorf("corrupted manifest: err = %v", err)
	}
	// Stages without a manifest: not ours.
	foreign := t.TempDir()
	_ = os.MkdirAll(filepath.Join(foreign, "stages"), 0o755)
	if _, err := Open(foreign, "v1"); err == nil {
		t.Error("stages without manifest: want error")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	if err := WriteFileAtomic(p, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("22")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	entries, _ := os.ReadDir(dir)
	if string(b) != "22" || len(entries) != 1 {
		t.Errorf("content %q, %d entries", b, len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Error("missing dir: want error")
	}
}

// TestRunRemovesTempsOfKilledRuns: a killed run leaves its temporary stage
// directory behind (no deferred cleanup runs on SIGINT/SIGKILL); the next run
// of that stage removes it when its process is gone, and keeps the temporary
// directories of live processes, of other stages and of unknown owners.
func TestRunRemovesTempsOfKilledRuns(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("no `true` to get a dead pid: %v", err)
	}
	s, err := Open(t.TempDir(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := baseKey().Hash()
	if err != nil {
		t.Fatal(err)
	}
	final := s.StageDir("weak", hash)
	parent, base := filepath.Dir(final), filepath.Base(final)
	cases := []struct {
		name string
		kept bool
	}{
		{fmt.Sprintf(".tmp-%s-%d-123", base, dead.Process.Pid), false},
		{fmt.Sprintf(".tmp-%s-%d-456", base, os.Getppid()), true}, // a live process
		{fmt.Sprintf(".tmp-%s-789", base), true},                  // no pid (older name)
		{fmt.Sprintf(".tmp-ceiling-0123456789abcdef-%d-1", dead.Process.Pid), true},
	}
	for _, c := range cases {
		if err := os.MkdirAll(filepath.Join(parent, c.name, "model"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Run(baseKey(), false, func(string) (any, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		_, err := os.Stat(filepath.Join(parent, c.name))
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s: kept = %v, want %v", c.name, kept, c.kept)
		}
	}
	if _, err := os.Stat(filepath.Join(final, ResultName)); err != nil {
		t.Errorf("the stage itself: %v", err)
	}
	// A killed --force rerun of a finished stage: the cached hit cleans up too.
	late := filepath.Join(parent, fmt.Sprintf(".tmp-%s-%d-999", base, dead.Process.Pid))
	if err := os.MkdirAll(late, 0o755); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Run(baseKey(), false, func(string) (any, error) { return 2, nil }); err != nil || !st.Cached {
		t.Fatalf("cached rerun: %+v %v", st, err)
	}
	if _, err := os.Stat(late); err == nil {
		t.Errorf("%s kept after a cached run", late)
	}
}
