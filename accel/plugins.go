package accel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pluginPatterns are the glob patterns, relative to a Python site-packages
// folder, where JAX installs keep their PJRT plugins.
var pluginPatterns = map[Kind][]string{
	KindCUDA: {"jax_plugins/xla_cuda*/xla_cuda_plugin.so"},
	KindTPU:  {"libtpu/libtpu.so", "jax_plugins/xla_tpu*/*.so"},
}

// SitePackagesCandidates lists the site-packages folders searched for a JAX
// plugin, most specific first: the active virtualenv ($VIRTUAL_ENV), conda
// ($CONDA_PREFIX), then common prefixes (/opt/*/.venv, /opt/conda, /usr/local,
// /usr, ~/.local). Only folders that exist are returned.
func SitePackagesCandidates() []string {
	var roots []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := os.Getenv(env); v != "" {
			roots = append(roots, v)
		}
	}
	optVenvs, _ := filepath.Glob("/opt/*/.venv")
	sort.Strings(optVenvs)
	roots = append(roots, optVenvs...)
	roots = append(roots, "/opt/conda", "/usr/local", "/usr")
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".local"))
	}
	var out []string
	seen := map[string]bool{}
	for _, root := range roots {
		for _, pat := range []string{"lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"} {
			matches, _ := filepath.Glob(filepath.Join(root, pat))
			sort.Sort(sort.Reverse(sort.StringSlice(matches))) // newest Python first
			for _, m := range matches {
				if !seen[m] && isDir(m) {
					seen[m] = true
					out = append(out, m)
				}
			}
		}
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// PluginNotFoundError says which folders were searched for a plugin.
type PluginNotFoundError struct {
	Kind     Kind
	Searched []string
}

func (e *PluginNotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s PJRT plugin not found", e.Kind)
	if len(e.Searched) == 0 {
		b.WriteString(" (no Python site-packages folder found to search)")
	} else {
		fmt.Fprintf(&b, "; searched %s under: %s", strings.Join(pluginPatterns[e.Kind], ", "), strings.Join(e.Searched, ", "))
	}
	fmt.Fprintf(&b, "; install JAX with its %s plugin, activate its virtualenv, or pass --pjrt-plugin /abs/path/to/plugin.so (or set %s)",
		e.Kind, EnvPJRTPlugin)
	return b.String()
}

// FindPlugin searches the JAX installs of SitePackagesCandidates for the
// plugin of kind (cuda or tpu) and returns its absolute path.
func FindPlugin(kind Kind) (string, error) {
	return findPluginIn(kind, SitePackagesCandidates())
}

func findPluginIn(kind Kind, sitePackages []string) (string, error) {
	for _, sp := range sitePackages {
		for _, pat := range pluginPatterns[kind] {
			matches, _ := filepath.Glob(filepath.Join(sp, pat))
			sort.Sort(sort.Reverse(sort.StringSlice(matches))) // xla_cuda13 before xla_cuda12
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
					return m, nil
				}
			}
		}
	}
	return "", &PluginNotFoundError{Kind: kind, Searched: sitePackages}
}

// CheckPluginFile verifies that path is an absolute path to a readable ELF
// shared object, so a typo or a wrong file gives a clear error before dlopen.
func CheckPluginFile(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("PJRT plugin %q: the path must be absolute", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("PJRT plugin: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("PJRT plugin: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("PJRT plugin %s: is a directory, want a .so file", path)
	}
	magic := make([]byte, 4)
	if _, err := f.Read(magic); err != nil || string(magic) != "\x7fELF" {
		return fmt.Errorf("PJRT plugin %s: not a shared library (no ELF header)", path)
	}
	return nil
}

// CUDAEnv computes the environment a JAX CUDA plugin needs: the nvidia library
// folders beside it (site-packages/nvidia/*/lib) and the CUDA data directory
// for XLA (ptxas, libdevice). pluginPath is .../site-packages/jax_plugins/xla_cudaNN/xla_cuda_plugin.so.
func CUDAEnv(pluginPath string) (libDirs []string, cudaDataDir string) {
	sp := filepath.Dir(filepath.Dir(filepath.Dir(pluginPath)))
	nv := filepath.Join(sp, "nvidia")
	dirs, _ := filepath.Glob(filepath.Join(nv, "*", "lib"))
	sort.Strings(dirs)
	for _, cand := range []string{"cu13", "cu12", "cuda_nvcc"} {
		if isDir(filepath.Join(nv, cand, "bin")) || isDir(filepath.Join(nv, cand, "nvvm")) {
			cudaDataDir = filepath.Join(nv, cand)
			break
		}
	}
	if cudaDataDir == "" && isDir("/usr/local/cuda") {
		cudaDataDir = "/usr/local/cuda"
	}
	return dirs, cudaDataDir
}
