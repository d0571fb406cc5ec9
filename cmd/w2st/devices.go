package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/w2st/w2st/accel"

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
			check := fs.Bool("check", false, "also compile and execute a small graph (matmul, softmax, gradient) and compare with the host")
			return func(args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				b, err := bf.open()
				if err != nil {
					return err
				}
				defer b.Finalize()
				var st *accel.SelfTestResult
				var stErr error
				if *check {
					r, err := accel.SelfTest(b)
					st, stErr = &r, err
				}
				if *asJSON {
					enc := json.NewEncoder(env.stdout)
					enc.SetIndent("", "  ")
					out := struct {
						accel.Info
						Check      *accel.SelfTestResult `json:"check,omitempty"`
						CheckError string                `json:"check_error,omitempty"`
					}{Info: b.Info, Check: st}
					if stErr != nil {
						out.CheckError = stErr.Error()
					}
					if err := enc.Encode(out); err != nil {
						return err
					}
					return stErr
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
				if st != nil {
					if stErr != nil {
						return stErr
					}
					fmt.Fprintf(env.stdout, "check:     executed ok (max relative error %.2g; compile+run %v, rerun %v)\n",
						st.MaxError, st.CompileAndRun.Round(time.Microsecond), st.SecondRun.Round(time.Microsecond))
				}
				return nil
			}
		},
	}
}
