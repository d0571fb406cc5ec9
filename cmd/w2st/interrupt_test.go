package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary's main as a subprocess (to signal it).
func TestMain(m *testing.M) {
	if os.Getenv("W2ST_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"w2st"}, strings.Fields(os.Getenv("W2ST_TEST_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

// TestInterruptRemovesTemporaryFiles: SIGINT or SIGTERM during a long write
// exits 130/143 and leaves neither the output nor its
// hidden temporary file; a rerun then succeeds.
func TestInterruptRemovesTemporaryFiles(t *testing.T) {
	for _, tc := range []struct {
		name, args, tmp string // args: %s is the output
		sig             syscall.Signal
		code            int
	}{
		{"synth SIGINT", "data synth census --n 50000000 --out %s/big.parquet", ".big.parquet.tmp-*", syscall.SIGINT, 130},
		{"synth SIGTERM", "data synth census --n 50000000 --out %s/big.parquet", ".big.parquet.tmp-*", syscall.SIGTERM, 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "W2ST_TEST_RUN_MAIN=1", "W2ST_TEST_ARGS="+fmt.Sprintf(tc.args, dir))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// wait for the temporary file, then interrupt
			deadline := time.Now().Add(10 * time.Second)
			for {
				tmps, _ := filepath.Glob(filepath.Join(dir, tc.tmp))
				if len(tmps) > 0 {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatal("no temporary file appeared")
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // past its registration for cleanup
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("exit %v, want %d; stderr %q", err, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "removed 1 unfinished temporary files") {
				t.Errorf("stderr %q", stderr.String())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("left %v", ents)
			}
			if code, _, errs := runCLI(t, "data", "synth", "census", "--n", "50", "--out", filepath.Join(dir, "big.parquet")); code != 0 {
				t.Fatalf("rerun: %s", errs)
			}
		})
	}
}
