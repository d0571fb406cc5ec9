package accel

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in      string
		want    Spec
		wantErr bool
	}{
		{"", Spec{Kind: KindCPU}, false},
		{"cpu", Spec{Kind: KindCPU}, false},
		{"CPU", Spec{Kind: KindCPU}, false},
		{"cuda", Spec{Kind: KindCUDA}, false},
		{"gpu", Spec{Kind: KindCUDA}, false},
		{"tpu", Spec{Kind: KindTPU}, false},
		{"/opt/x/xla_cuda_plugin.so", Spec{Kind: KindPlugin, Plugin: "/opt/x/xla_cuda_plugin.so"}, false},
		{"rocm", Spec{}, true},
		{"relative/plugin.so", Spec{}, true},
		{"plugin.so", Spec{}, true},
	}
	for _, c := range cases {
		got, err := ParseSpec(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("ParseSpec(%q) error = %v, wantErr %v", c.in, err, c.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, ErrUnknownBackend) {
			t.Errorf("ParseSpec(%q) error %v is not ErrUnknownBackend", c.in, err)
		}
		if got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestResolveSpec(t *testing.T) {
	cases := []struct {
		name         string
		flagB, flagP string
		envB, envP   string
		want         Spec
		wantErr      bool
	}{
		{name: "default", want: Spec{Kind: KindCPU}},
		{name: "env backend", envB: "cuda", want: Spec{Kind: KindCUDA}},
		{name: "flag beats env", flagB: "cpu", envB: "cuda", want: Spec{Kind: KindCPU}},
		{name: "plugin flag alone", flagP: "/p/x.so", want: Spec{Kind: KindPlugin, Plugin: "/p/x.so"}},
		{name: "cuda with plugin env", flagB: "cuda", envP: "/p/c.so", want: Spec{Kind: KindCUDA, Plugin: "/p/c.so"}},
		{name: "cpu ignores plugin", flagB: "cpu", envP: "/p/c.so", want: Spec{Kind: KindCPU}},
		{name: "relative plugin", flagB: "cuda", flagP: "c.so", wantErr: true},
		{name: "unknown", flagB: "metal", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvBackend, c.envB)
			t.Setenv(EnvPJRTPlugin, c.envP)
			got, err := ResolveSpec(c.flagB, c.flagP)
			if (err != nil) != c.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, c.wantErr)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// fakeJAX lays out a site-packages folder like a JAX CUDA install.
func fakeJAX(t *testing.T, cudas ...string) string {
	t.Helper()
	sp := filepath.Join(t.TempDir(), "lib", "python3.12", "site-packages")
	for _, c := range cudas {
		dir := filepath.Join(sp, "jax_plugins", c)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "xla_cuda_plugin.so"), []byte("\x7fELF fake"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"nvidia/cu13/lib", "nvidia/cu13/bin", "nvidia/cudnn/lib"} {
		if err := os.MkdirAll(filepath.Join(sp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return sp
}

func TestFindPlugin(t *testing.T) {
	sp := fakeJAX(t, "xla_cuda12", "xla_cuda13")
	empty := filepath.Join(t.TempDir(), "empty-site-packages")
	got, err := findPluginIn(KindCUDA, []string{empty, sp})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(sp, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"); got != want {
		t.Fatalf("got %s, want the newest CUDA plugin %s", got, want)
	}
	_, err = findPluginIn(KindCUDA, []string{empty})
	var nf *PluginNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want PluginNotFoundError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{empty, "xla_cuda_plugin.so", "--pjrt-plugin", EnvPJRTPlugin} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestSitePackagesFromVirtualEnv(t *testing.T) {
	sp := fakeJAX(t, "xla_cuda13")
	venv := filepath.Dir(filepath.Dir(filepath.Dir(sp)))
	t.Setenv("VIRTUAL_ENV", venv)
	c := SitePackagesCandidates()
	if len(c) == 0 || c[0] != sp {
		t.Fatalf("first candidate = %v, want %s", c, sp)
	}
}

func TestCUDAEnv(t *testing.T) {
	sp := fakeJAX(t, "xla_cuda13")
	libs, data := CUDAEnv(filepath.Join(sp, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))
	if want := filepath.Join(sp, "nvidia", "cu13"); data != want {
		t.Errorf("data dir %s, want %s", data, want)
	}
	if len(libs) != 2 || !strings.HasSuffix(libs[0], "cu13/lib") || !strings.HasSuffix(libs[1], "cudnn/lib") {
		t.Errorf("lib dirs %v", libs)
	}
}

func TestCheckPluginFile(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	elf := filepath.Join(dir, "ok.so")
	if err := os.WriteFile(elf, []byte("\x7fELF...."), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, wantSub string
	}{
		{"rel.so", "absolute"},
		{filepath.Join(dir, "missing.so"), "no such file"},
		{dir, "directory"},
		{text, "not a shared library"},
		{elf, ""},
	}
	for _, c := range cases {
		err := CheckPluginFile(c.path)
		if c.wantSub == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.path, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantSub) {
			t.Errorf("%s: error %v, want it to contain %q", c.path, err, c.wantSub)
		}
	}
}

func TestOpenCUDAWithoutPluginFailsFast(t *testing.T) {
	t.Setenv("VIRTUAL_ENV", t.TempDir())
	if _, err := FindPlugin(KindCUDA); err == nil {
		t.Skip("a CUDA plugin is installed on this machine")
	}
	_, err := Open(Spec{Kind: KindCUDA})
	if err == nil {
		t.Fatal("Open(cuda) succeeded without a plugin")
	}
	if XLAAvailable {
		var nf *PluginNotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("want PluginNotFoundError, got %v", err)
		}
	} else if !strings.Contains(err.Error(), "noxla") {
		t.Fatalf("noxla build: error %v does not explain the build", err)
	}
}

func TestOpenNonPJRTLibrary(t *testing.T) {
	libs, _ := filepath.Glob("/lib/x86_64-linux-gnu/libm.so.6")
	if len(libs) == 0 {
		libs, _ = filepath.Glob("/usr/lib/*/libm.so.6")
	}
	if len(libs) == 0 {
		t.Skip("no libm.so.6 to use as a non-PJRT shared library")
	}
	_, err := Open(Spec{Kind: KindPlugin, Plugin: libs[0]})
	if err == nil {
		t.Fatalf("Open(%s) succeeded; want an error for a library without GetPjrtApi", libs[0])
	}
	if XLAAvailable && !strings.Contains(err.Error(), libs[0]) {
		t.Fatalf("error %v does not name the plugin path", err)
	}
}

func TestOpenCPU(t *testing.T) {
	b, err := Open(Spec{Kind: KindCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if b.Info.Platform != "cpu" || b.Info.NumDevices != 1 || b.Info.Backend != "simplego" {
		t.Fatalf("info %+v", b.Info)
	}
}

func TestSelfTestCPU(t *testing.T) {
	b := MustCPU()
	defer b.Finalize()
	res, err := SelfTest(b)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxError > 1e-3 {
		t.Fatalf("max error %g", res.MaxError)
	}
}

// TestGPUEnvScript runs scripts/gpu/env.sh on a fake JAX layout and checks the
// exports agree with what Open computes itself (CUDAEnv).
func TestGPUEnvScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	sp := fakeJAX(t, "xla_cuda13")
	out, err := exec.Command("bash", "../scripts/gpu/env.sh", sp).CombinedOutput()
	if err != nil {
		t.Fatalf("env.sh: %v\n%s", err, out)
	}
	plugin := filepath.Join(sp, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	libs, data := CUDAEnv(plugin)
	for _, want := range []string{
		"export W2ST_PJRT_PLUGIN='" + plugin + "'",
		"export LD_LIBRARY_PATH='" + strings.Join(libs, ":") + "'",
		"export XLA_FLAGS='--xla_gpu_cuda_data_dir=" + data + "'",
		"export GOPJRT_CUDA_CHECKS=0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("env.sh output lacks %q:\n%s", want, out)
		}
	}
	if out, err := exec.Command("bash", "../scripts/gpu/env.sh", t.TempDir()).CombinedOutput(); err == nil {
		t.Errorf("env.sh on an empty folder succeeded:\n%s", out)
	}
}
