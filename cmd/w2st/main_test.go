package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/w2st/w2st/accel"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func TestCLIExitCodes(t *testing.T) {
	t.Setenv("VIRTUAL_ENV", t.TempDir()) // no JAX install visible through the venv
	t.Setenv(accel.EnvBackend, "")
	t.Setenv(accel.EnvPJRTPlugin, "")
	missing := filepath.Join(t.TempDir(), "nope.so")
	type cliCase struct {
		name                 string
		args                 []string
		code                 int
		stdoutHas, stderrHas []string
	}
	cases := []cliCase{
		{name: "no args", args: nil, code: 2, stderrHas: []string{"Usage: w2st <command>", "devices"}},
		{name: "help", args: []string{"help"}, code: 0, stdoutHas: []string{"Commands:", "devices"}},
		{name: "--help", args: []string{"--help"}, code: 0, stdoutHas: []string{"Commands:"}},
		{name: "help devices", args: []string{"help", "devices"}, code: 0, stdoutHas: []string{"Usage: w2st devices", "--backend", "--pjrt-plugin", "--json"}},
		{name: "help unknown", args: []string{"help", "frobnicate"}, code: 2, stderrHas: []string{"unknown command \"frobnicate\""}},
		{name: "version", args: []string{"--version"}, code: 0, stdoutHas: []string{"w2st "}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderrHas: []string{"unknown command \"frobnicate\"", "Commands:"}},
		{name: "unknown flag", args: []string{"devices", "--frob"}, code: 2, stderrHas: []string{"unknown flag: --frob", "Usage: w2st devices"}},
		{name: "extra args", args: []string{"devices", "extra"}, code: 2, stderrHas: []string{"unexpected arguments"}},
		{name: "unknown backend", args: []string{"devices", "--backend", "rocm"}, code: 2, stderrHas: []string{"unknown backend \"rocm\"", "Usage: w2st devices"}},
		{name: "cpu", args: []string{"devices"}, code: 0, stdoutHas: []string{"platform:  cpu", "devices:   1"}},
		{name: "cpu check", args: []string{"devices", "--check"}, code: 0, stdoutHas: []string{"check:     executed ok"}},
		{name: "missing plugin file", args: []string{"devices", "--pjrt-plugin", missing}, code: 1, stderrHas: []string{missing, "no such file"}},
		{name: "relative plugin", args: []string{"devices", "--backend", "cuda", "--pjrt-plugin", "x.so"}, code: 2, stderrHas: []string{"must be absolute"}},
	}
	if accel.XLAAvailable {
		if _, err := accel.FindPlugin(accel.KindCUDA); err != nil {
			cases = append(cases, cliCase{name: "cuda without plugin", args: []string{"devices", "--backend", "cuda"}, code: 1,
				stderrHas: []string{"cuda PJRT plugin not found", "searched", "--pjrt-plugin"}})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			for _, s := range c.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range c.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if c.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("runtime error should be one line, got:\n%s", stderr)
			}
		})
	}
}

func TestDevicesJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, "devices", "--json", "--backend", "cpu")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var info accel.Info
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if info.Platform != "cpu" || info.NumDevices != 1 || info.Backend != "simplego" {
		t.Fatalf("info %+v", info)
	}
}
