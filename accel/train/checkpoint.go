package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Checkpoints are GoMLX checkpoints (a .json of metadata and a .bin of the
// tensors, including the AdamW moments and the global step). GoMLX writes
// them in place, so Save writes into DIR/.staging and then renames the .bin
// and then the .json into DIR: a .json in DIR (what GoMLX lists) always has a
// complete .bin beside it. Names are checkpoint-n<step>-step-<step>, sorted
// by step.

const stagingDir = ".staging"

type checkpointer struct {
	dir  string
	keep int
	h    *checkpoints.Handler
}

// newCheckpointer attaches a saving handler (on the staging dir) to ctx.
func newCheckpointer(ctx *context.Context, dir string, keep int) (*checkpointer, error) {
	st := filepath.Join(dir, stagingDir)
	if err := os.RemoveAll(st); err != nil {
		return nil, fmt.Errorf("checkpoints: clearing %s: %w", st, err)
	}
	if err := os.MkdirAll(st, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	h, err := checkpoints.Build(ctx).Dir(st).Keep(-1).Done()
	if err != nil {
		return nil, fmt.Errorf("checkpoints in %s: %w", dir, err)
	}
	return &checkpointer{dir: dir, keep: keep, h: h}, nil
}

// save writes the checkpoint of step and prunes old ones; it returns the
// checkpoint's base path.
func (c *checkpointer) save(step int) (string, error) {
	if err := c.h.Save(); err != nil {
		return "", fmt.Errorf("saving checkpoint of step %d: %w", step, err)
	}
	st := filepath.Join(c.dir, stagingDir)
	names, err := c.h.ListCheckpoints()
	if err != nil || len(names) != 1 {
		return "", fmt.Errorf("saving checkpoint of step %d: staging dir %s holds %d checkpoints (%v)", step, st, len(names), err)
	}
	src := filepath.Join(st, names[0])
	base := filepath.Join(c.dir, fmt.Sprintf("checkpoint-n%010d-step-%010d", step, step))
	for _, suf := range []string{checkpoints.BinDataSuffix, checkpoints.JsonNameSuffix} {
		if err := syncFile(src + suf); err != nil {
			return "", fmt.Errorf("saving checkpoint of step %d: %w", step, err)
		}
		if err := os.Rename(src+suf, base+suf); err != nil {
			return "", fmt.Errorf("saving checkpoint of step %d: %w", step, err)
		}
	}
	if err := c.prune(); err != nil {
		return "", err
	}
	return base, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// prune removes all but the newest keep checkpoints (keep < 0: none).
func (c *checkpointer) prune() error {
	if c.keep < 0 {
		return nil
	}
	list, err := ListCheckpoints(c.dir)
	if err != nil {
		return err
	}
	for i := 0; i < len(list)-c.keep; i++ {
		for _, suf := range []string{checkpoints.JsonNameSuffix, checkpoints.BinDataSuffix} {
			if err := os.Remove(list[i] + suf); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("pruning checkpoints: %w", err)
			}
		}
	}
	return nil
}

// ListCheckpoints returns the base paths (without .json/.bin) of the
// checkpoints in dir, oldest first; none for a missing dir.
func ListCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, "checkpoint-") || !strings.HasSuffix(n, checkpoints.JsonNameSuffix) {
			continue
		}
		out = append(out, filepath.Join(dir, strings.TrimSuffix(n, checkpoints.JsonNameSuffix)))
	}
	sort.Strings(out)
	return out, nil
}

// LoadCheckpoint loads the newest checkpoint of dir into ctx (all variables
// at once, overwriting existing ones) and returns its global step; found is
// false when dir has none.
func LoadCheckpoint(ctx *context.Context, dir string) (step int64, found bool, err error) {
	list, err := ListCheckpoints(dir)
	if err != nil || len(list) == 0 {
		return 0, false, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("loading checkpoint from %s: %v", dir, r)
		}
	}()
	if _, err := checkpoints.Build(ctx).Dir(dir).Immediate().Keep(-1).Done(); err != nil {
		return 0, false, fmt.Errorf("loading checkpoint %s: %w", list[len(list)-1], err)
	}
	for v := range ctx.IterVariables() {
		if isStateVar(v) {
			v.SetTrainable(false)
		}
	}
	return optimizers.GetGlobalStep(ctx.InAbsPath("/")), true, nil
}
