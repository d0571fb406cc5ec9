package main

import (
	"github.com/spf13/pflag"
	"github.com/w2st/w2st/accel"
)

// backendFlags are the --backend / --pjrt-plugin flags shared by every command
// that computes.
type backendFlags struct {
	backend, plugin string
}

func addBackendFlags(fs *pflag.FlagSet) *backendFlags {
	b := &backendFlags{}
	fs.StringVar(&b.backend, "backend", "", "compute backend: cpu, cuda, tpu or an absolute PJRT plugin path (env "+accel.EnvBackend+"; default cpu)")
	fs.StringVar(&b.plugin, "pjrt-plugin", "", "absolute path of the PJRT plugin for cuda/tpu (env "+accel.EnvPJRTPlugin+"; default: searched in JAX installs)")
	return b
}

// spec resolves the flags and environment into a backend spec; a bad name is a usage error.
func (b *backendFlags) spec() (accel.Spec, error) {
	s, err := accel.ResolveSpec(b.backend, b.plugin)
	if err != nil {
		return accel.Spec{}, &usageError{msg: err.Error()}
	}
	return s, nil
}

// open resolves and opens the backend.
func (b *backendFlags) open() (*accel.Backend, error) {
	s, err := b.spec()
	if err != nil {
		return nil, err
	}
	return accel.Open(s)
}
