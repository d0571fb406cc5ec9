package main

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/pflag"
)

func devicesCommand() *command {
	return &command{
		name:    "devices",
		summary: "open a backend and describe its devices",
		long: `Prints the backend, platform, number and kind of devices, and for XLA the plugin path,
its PJRT API version and the environment used to load it. For cuda, the plugin of a JAX
install is searched in the active virtualenv, conda and common prefixes unless
--pjrt-plugin or W2ST_PJRT_PLUGIN names it. Nothing is ever downloaded.`,
		setup: func(fs *pflag.FlagSet, env *cliEnv) func([]string) error {
			bf := addBackendFlags(fs)
			asJSON := fs.Bool("json", false, "print JSON")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				b, err := bf.open()
				if err != nil {
					return err
				}
				defer b.Finalize()
				if *asJSON {
					enc := json.NewEncoder(env.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(b.Info)
				}
				in := b.Info
				fmt.Fprintf(env.stdout, "backend:   %s (%s)\nplatform:  %s\ndevices:   %d\n", in.Backend, in.Spec, in.Platform, in.NumDevices)
				for i, d := range in.Devices {
					fmt.Fprintf(env.stdout, "  [%d] %s\n", i, d)
				}
				if in.Plugin != "" {
					fmt.Fprintf(env.stdout, "plugin:    %s\npjrt api:  %s\n", in.Plugin, in.PJRTVersion)
				}
				keys := make([]string, 0, len(in.Env))
				for k := range in.Env {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(env.stdout, "env:       %s=%s\n", k, in.Env[k])
				}
				return nil
			}
		},
	}
}
