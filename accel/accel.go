// Package accel opens the compute backend w2st trains on: GoMLX's pure-Go CPU
// backend, or XLA through a PJRT plugin (CUDA, TPU, or any plugin by absolute
// path). It never downloads anything: GoMLX's plugin auto-installer is disabled
// before any backend is created, and plugins are only loaded from explicit paths.
//
// A backend is chosen by one spec string:
//
//	cpu              GoMLX's pure-Go backend (SimpleGo) with parallelism=-1
//	cuda             XLA with the CUDA PJRT plugin of a JAX install (searched, see FindCUDAPlugin)
//	tpu              XLA with the TPU PJRT plugin of a JAX install (libtpu)
//	/abs/plugin.so   XLA with that PJRT plugin
//
// The spec comes from a flag (--backend, --pjrt-plugin) or the environment
// (W2ST_BACKEND, W2ST_PJRT_PLUGIN); see ResolveSpec.
package accel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/w2st/w2st/accel/fastgrad"
)

// Environment variables read by ResolveSpec.
const (
	EnvBackend     = "W2ST_BACKEND"
	EnvPJRTPlugin  = "W2ST_PJRT_PLUGIN"
	DefaultBackend = "cpu"
)

// Kind is the family of a backend spec.
type Kind string

// The backend kinds.
const (
	KindCPU    Kind = "cpu"
	KindCUDA   Kind = "cuda"
	KindTPU    Kind = "tpu"
	KindPlugin Kind = "plugin" // XLA with an explicit PJRT plugin path
)

// Spec is a parsed backend choice.
type Spec struct {
	Kind Kind
	// Plugin is the absolute path of the PJRT plugin (XLA kinds). For cuda and
	// tpu it may be empty, in which case Open searches for it.
	Plugin string
}

func (s Spec) String() string {
	if s.Kind == KindPlugin {
		return s.Plugin
	}
	return string(s.Kind)
}

// ErrUnknownBackend is returned for a backend name that is none of the known ones.
var ErrUnknownBackend = errors.New("unknown backend")

// ParseSpec parses "cpu", "cuda", "tpu" or an absolute plugin path.
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "cpu", "go", "simplego":
		return Spec{Kind: KindCPU}, nil
	case "cuda", "gpu":
		return Spec{Kind: KindCUDA}, nil
	case "tpu":
		return Spec{Kind: KindTPU}, nil
	}
	if filepath.IsAbs(s) {
		return Spec{Kind: KindPlugin, Plugin: s}, nil
	}
	if strings.ContainsRune(s, os.PathSeparator) || strings.HasSuffix(s, ".so") {
		return Spec{}, fmt.Errorf("%w %q: a PJRT plugin must be given by its absolute path", ErrUnknownBackend, s)
	}
	return Spec{}, fmt.Errorf("%w %q: want cpu, cuda, tpu or an absolute PJRT plugin path", ErrUnknownBackend, s)
}

// ResolveSpec combines the --backend and --pjrt-plugin flag values with the
// environment: a non-empty flag wins over W2ST_BACKEND / W2ST_PJRT_PLUGIN, and
// the default is cpu. A plugin path alone selects KindPlugin, unless the backend
// is cuda or tpu, in which case it names that backend's plugin.
func ResolveSpec(backendFlag, pluginFlag string) (Spec, error) {
	name := backendFlag
	if name == "" {
		name = os.Getenv(EnvBackend)
	}
	plugin := pluginFlag
	if plugin == "" {
		plugin = os.Getenv(EnvPJRTPlugin)
	}
	if name == "" && plugin != "" {
		name = plugin
	}
	spec, err := ParseSpec(name)
	if err != nil {
		return Spec{}, err
	}
	if plugin != "" && spec.Kind != KindCPU {
		if !filepath.IsAbs(plugin) {
			return Spec{}, fmt.Errorf("PJRT plugin %q: the path must be absolute", plugin)
		}
		spec.Plugin = plugin
	}
	return spec, nil
}

// Backend is an opened backend with a description of what was opened.
type Backend struct {
	backends.Backend
	Info Info
}

// Info describes an opened backend (what `w2st devices` prints).
type Info struct {
	Spec        string   `json:"spec"`
	Backend     string   `json:"backend"`  // "simplego" or "xla"
	Platform    string   `json:"platform"` // "cpu", "cuda", "tpu", ...
	NumDevices  int      `json:"num_devices"`
	Devices     []string `json:"devices"`
	Plugin      string   `json:"plugin,omitempty"`
	PJRTVersion string   `json:"pjrt_api_version,omitempty"`
	// Env lists the environment variables that were set or used to reach the plugin.
	Env map[string]string `json:"env,omitempty"`
}

// Open installs the gradient overrides, disables GoMLX's auto-installer and
// opens the backend described by spec.
func Open(spec Spec) (*Backend, error) {
	fastgrad.Install()
	disableAutoInstall()
	switch spec.Kind {
	case KindCPU:
		return openCPU()
	case KindCUDA, KindTPU, KindPlugin:
		return openXLA(spec)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownBackend, spec.Kind)
}

// MustCPU opens the CPU backend; for tests and examples where failure is a bug.
func MustCPU() *Backend {
	b, err := Open(Spec{Kind: KindCPU})
	if err != nil {
		panic(err)
	}
	return b
}

// CPUConfig is the SimpleGo configuration w2st uses: parallelism=-1 (unlimited
// goroutines). The default worker pool deadlocks on 2 cores with nested
// DotGeneral waits (see the GoMLX audit note).
const CPUConfig = "parallelism=-1"

func openCPU() (*Backend, error) {
	b, err := newSimpleGoQuiet(CPUConfig)
	if err != nil {
		return nil, fmt.Errorf("opening the CPU backend: %w", err)
	}
	return &Backend{Backend: b, Info: Info{
		Spec: "cpu", Backend: "simplego", Platform: "cpu", NumDevices: b.NumDevices(),
		Devices: []string{b.DeviceDescription(0)},
	}}, nil
}

// newSimpleGoQuiet creates the SimpleGo backend; SimpleGo prints a line to stdout
// for the parallelism option, which would corrupt machine-readable output, so
// stdout is redirected for the duration of the call.
func newSimpleGoQuiet(config string) (backends.Backend, error) {
	saved := os.Stdout
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stdout = devnull
		defer func() { os.Stdout = saved; _ = devnull.Close() }()
	}
	return simplego.New(config)
}
