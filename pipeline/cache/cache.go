// Package cache is the content-addressed store of pipeline stages. A stage's
// output lives in a directory named by the hash of everything that determines
// it (its configuration, the hashes of its input files, the keys of its
// upstream stages and the code version), so a rerun skips finished stages and
// two experiments that share a stage compute it once.
//
// A stage directory is complete when it exists: it is written under a
// temporary name in the same parent and renamed into place after its
// result.json is written, so an interrupted run never leaves a half-written
// stage behind.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// FormatVersion is the on-disk layout version of the cache.
const FormatVersion = 1

// ManifestName is the file at the cache root that records who wrote it.
const ManifestName = "w2st-cache.json"

// ResultName is the per-stage result file.
const ResultName = "result.json"

// Key is everything that determines a stage's output.
type Key struct {
	Stage    string            `json:"stage"`    // stage kind, e.g. "weak"
	Config   any               `json:"config"`   // the stage's settings (JSON-encodable)
	Inputs   map[string]string `json:"inputs"`   // input name -> sha256 of the file
	Upstream map[string]string `json:"upstream"` // upstream stage name -> its key hash
	Code     string            `json:"code"`     // code version
}

// Hash returns the hex sha256 of the key's canonical JSON encoding
// (encoding/json sorts map keys, and struct fields have a fixed order).
func (k Key) Hash() (string, error) {
	if !validStage.MatchString(k.Stage) {
		return "", fmt.Errorf("stage name %q: want [a-z0-9-]+", k.Stage)
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("encoding the %s stage key: %w", k.Stage, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

var validStage = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// HashFile returns the hex sha256 of a file's contents.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Manifest is the content of the cache root's w2st-cache.json.
type Manifest struct {
	Format int    `json:"format"`
	Code   string `json:"code"` // the w2st version that created the cache
}

// VersionError reports a cache directory written by another w2st version.
type VersionError struct {
	Dir       string
	Found     Manifest
	Want      Manifest
	Corrupted error // set when the manifest could not be read
}

func (e *VersionError) Error() string {
	if e.Corrupted != nil {
		return fmt.Sprintf("cache directory %s: unreadable %s (%v); use another --out directory or delete it", e.Dir, ManifestName, e.Corrupted)
	}
	return fmt.Sprintf("cache directory %s was written by w2st %q (cache format %d), this is w2st %q (format %d); its stages cannot be reused: use another --out directory or delete it",
		e.Dir, e.Found.Code, e.Found.Format, e.Want.Code, e.Want.Format)
}

// Store is an opened cache root.
type Store struct {
	dir  string
	code string
}

// Open opens (creating if needed) the cache at dir for the given code version.
// A cache written by another code version or format is a *VersionError.
func Open(dir, code string) (*Store, error) {
	if code == "" {
		return nil, errors.New("cache: empty code version")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	want := Manifest{Format: FormatVersion, Code: code}
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var found Manifest
		if err := json.Unmarshal(b, &found); err != nil {
			return nil, &VersionError{Dir: dir, Corrupted: err}
		}
		if found != want {
			return nil, &VersionError{Dir: dir, Found: found, Want: want}
		}
	case errors.Is(err, os.ErrNotExist):
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("reading cache directory: %w", err)
		}
		for _, e := range entries {
			if e.Name() == "stages" {
				return nil, fmt.Errorf("cache directory %s has stages but no %s: it was not written by this w2st; use another --out directory", dir, ManifestName)
			}
		}
		mb, _ := json.MarshalIndent(want, "", "  ")
		if err := WriteFileAtomic(path, append(mb, '\n')); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "stages"), 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	return &Store{dir: dir, code: code}, nil
}

// Dir is the cache root.
func (s *Store) Dir() string { return s.dir }

// Code is the code version the store was opened for.
func (s *Store) Code() string { return s.code }

// StageDir is where the stage with this kind and key hash lives.
func (s *Store) StageDir(stage, hash string) string {
	return filepath.Join(s.dir, "stages", stage+"-"+shortHash(hash))
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// Stage is a finished stage in the store.
type Stage struct {
	Dir    string
	Hash   string
	Cached bool // true when the stage was found finished, false when it was computed now
}

// Func computes a stage into the empty directory dir and returns its result,
// which is written to dir/result.json.
type Func func(dir string) (result any, err error)

// Run returns the finished stage for key, computing it with fn when it is
// missing or when force is set. The computation happens in a temporary
// directory beside the final one, which is renamed into place only after fn
// and result.json succeeded; on failure it is removed.
func (s *Store) Run(key Key, force bool, fn Func) (Stage, error) {
	if key.Code == "" {
		key.Code = s.code
	}
	if key.Code != s.code {
		return Stage{}, fmt.Errorf("stage %s: key code version %q differs from the cache's %q", key.Stage, key.Code, s.code)
	}
	hash, err := key.Hash()
	if err != nil {
		return Stage{}, err
	}
	final := s.StageDir(key.Stage, hash)
	removeStaleTemps(final)
	if !force {
		if ok, err := s.finished(final, hash); err != nil {
			return Stage{}, err
		} else if ok {
			return Stage{Dir: final, Hash: hash, Cached: true}, nil
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), fmt.Sprintf(".tmp-%s-%d-", filepath.Base(final), os.Getpid()))
	if err != nil {
		return Stage{}, fmt.Errorf("stage %s: %w", key.Stage, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	keyJSON, err := json.MarshalIndent(key, "", "  ")
	if err != nil {
		return Stage{}, fmt.Errorf("stage %s: encoding key: %w", key.Stage, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "key.json"), append(keyJSON, '\n'), 0o644); err != nil {
		return Stage{}, fmt.Errorf("stage %s: %w", key.Stage, err)
	}
	res, err := fn(tmp)
	if err != nil {
		return Stage{}, fmt.Errorf("stage %s: %w", key.Stage, err)
	}
	rb, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return Stage{}, fmt.Errorf("stage %s: encoding result: %w", key.Stage, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ResultName), append(rb, '\n'), 0o644); err != nil {
		return Stage{}, fmt.Errorf("stage %s: %w", key.Stage, err)
	}
	if force {
		if _, err := os.Stat(final); err == nil {
			old := final + ".old"
			_ = os.RemoveAll(old)
			if err := os.Rename(final, old); err != nil {
				return Stage{}, fmt.Errorf("stage %s: replacing the old result: %w", key.Stage, err)
			}
			defer os.RemoveAll(old)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return Stage{}, fmt.Errorf("stage %s: %w", key.Stage, err)
	}
	ok = true
	return Stage{Dir: final, Hash: hash, Cached: false}, nil
}

// finished reports whether dir holds a complete stage with this key hash.
func (s *Store) finished(dir, hash string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, ResultName)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, derr := os.Stat(dir); derr == nil {
				return false, fmt.Errorf("stage directory %s has no %s: remove it or rerun with --force", dir, ResultName)
			}
			return false, nil
		}
		return false, err
	}
	var k Key
	b, err := os.ReadFile(filepath.Join(dir, "key.json"))
	if err != nil {
		return false, fmt.Errorf("stage directory %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return false, fmt.Errorf("stage directory %s: key.json: %w", dir, err)
	}
	// Re-hash the stored key: the short directory name must not hide a collision.
	var raw struct {
		Config json.RawMessage `json:"config"`
	}
	_ = json.Unmarshal(b, &raw)
	k.Config = raw.Config
	got, err := k.Hash()
	if err != nil {
		return false, fmt.Errorf("stage directory %s: %w", dir, err)
	}
	if got != hash {
		return false, fmt.Errorf("stage directory %s holds another stage (key hash %s, want %s)", dir, shortHash(got), shortHash(hash))
	}
	return true, nil
}

// ReadResult decodes a stage's result.json into v.
func ReadResult(dir string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, ResultName))
	if err != nil {
		return fmt.Errorf("reading stage result: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, ResultName), err)
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers never see a partial file.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// IsTemp reports whether a directory entry name is a temporary stage directory.
func IsTemp(name string) bool { return strings.HasPrefix(name, ".tmp-") }

// removeStaleTemps removes the temporary directories of the stage final left
// by runs that were killed (their name carries the pid of a process that no
// longer exists); those of live processes, and names without a pid, are kept.
func removeStaleTemps(final string) {
	prefix := ".tmp-" + filepath.Base(final) + "-"
	entries, err := os.ReadDir(filepath.Dir(final))
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(filepath.Dir(final), e.Name()))
	}
}
