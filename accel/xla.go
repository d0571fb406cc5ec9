//go:build !noxla

package accel

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
static const char* w2st_dlopen_global(const char* path) {
	void* h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) { return dlerror(); }
	return NULL;
}
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends/xla"
)

// XLAAvailable reports whether this binary was built with the XLA backend (cgo).
const XLAAvailable = true

func disableAutoInstall() {
	xla.EnableAutoInstall(false)
	if os.Getenv(xla.NoAutoInstallEnv) == "" {
		_ = os.Setenv(xla.NoAutoInstallEnv, "1")
	}
}

// cudaPreload lists, in load order, the libraries JAX preloads before it
// loads its CUDA plugin (as glob patterns inside site-packages/nvidia/*/lib).
var cudaPreload = []string{
	"libcudart.so*", "libcublasLt.so*", "libcublas.so*", "libnvrtc.so*", "libcupti.so*",
	"libcusparse.so*", "libcusolver.so*", "libcufft.so*", "libnvJitLink.so*", "libnccl.so*",
	"libnvshmem_host.so*", "libcudnn.so*",
}

func openXLA(spec Spec) (*Backend, error) {
	info := Info{Spec: spec.String(), Backend: "xla", Env: map[string]string{}}
	plugin := spec.Plugin
	if plugin == "" {
		var err error
		if plugin, err = FindPlugin(spec.Kind); err != nil {
			return nil, err
		}
	}
	if err := CheckPluginFile(plugin); err != nil {
		return nil, err
	}
	info.Plugin = plugin
	isCUDA := spec.Kind == KindCUDA || strings.Contains(strings.ToLower(filepath.Base(filepath.Dir(plugin))+filepath.Base(plugin)), "cuda")
	if isCUDA {
		if gpus, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(gpus) == 0 {
			return nil, fmt.Errorf("no NVIDIA GPU visible: /dev/nvidia0… absent (CUDA plugin found at %s)", plugin)
		}
		if err := prepareCUDA(plugin, &info); err != nil {
			return nil, err
		}
	}
	b, err := xla.NewWithOptions(plugin, nil)
	if err != nil {
		return nil, fmt.Errorf("loading PJRT plugin %s: %w", plugin, err)
	}
	info.NumDevices = b.NumDevices()
	for i := 0; i < b.NumDevices(); i++ {
		info.Devices = append(info.Devices, b.DeviceDescription(backendsDevice(i)))
	}
	if p, err := pjrt.GetPlugin(plugin); err == nil {
		major, minor := p.Version()
		info.PJRTVersion = fmt.Sprintf("%d.%d", major, minor)
	}
	switch {
	case isCUDA:
		info.Platform = "cuda"
	case spec.Kind == KindTPU:
		info.Platform = "tpu"
	default:
		info.Platform = strings.TrimSuffix(filepath.Base(plugin), ".so")
	}
	return &Backend{Backend: b, Info: info}, nil
}

// prepareCUDA sets the environment the JAX CUDA plugin needs and preloads its
// nvidia libraries, so that no LD_LIBRARY_PATH is needed before start-up.
// go-xla's own CUDA check (which writes a hard-coded path into XLA_FLAGS) is
// switched off with GOPJRT_CUDA_CHECKS=0.
func prepareCUDA(plugin string, info *Info) error {
	libDirs, dataDir := CUDAEnv(plugin)
	if os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
		_ = os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	}
	info.Env["GOPJRT_CUDA_CHECKS"] = os.Getenv("GOPJRT_CUDA_CHECKS")
	if flags := os.Getenv("XLA_FLAGS"); !strings.Contains(flags, "--xla_gpu_cuda_data_dir") && dataDir != "" {
		_ = os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" --xla_gpu_cuda_data_dir="+dataDir))
	}
	info.Env["XLA_FLAGS"] = os.Getenv("XLA_FLAGS")
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		info.Env["LD_LIBRARY_PATH"] = v
	}
	var loaded []string
	for _, pat := range cudaPreload {
		for _, dir := range libDirs {
			matches, _ := filepath.Glob(filepath.Join(dir, pat))
			if len(matches) == 0 {
				continue
			}
			sort.Strings(matches)
			lib := matches[0] // shortest name: the soname link, e.g. libcublas.so.13
			if msg := dlopenGlobal(lib); msg != "" {
				return fmt.Errorf("CUDA library not loadable: %s: %s", lib, msg)
			}
			loaded = append(loaded, filepath.Base(lib))
			break
		}
	}
	if len(loaded) > 0 {
		info.Env["preloaded"] = strings.Join(loaded, " ")
	}
	return nil
}

func dlopenGlobal(path string) string {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if msg := C.w2st_dlopen_global(cpath); msg != nil {
		return C.GoString(msg)
	}
	return ""
}
