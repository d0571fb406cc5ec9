// Package shareddata locates the shared real data (../shared/data beside the
// checkout, or $W2ST_DATA_DIR) for tests.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns the data directory, or "" when it does not exist.
func Find() string {
	if d := os.Getenv("W2ST_DATA_DIR"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data")
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				return d
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Require returns the path of rel inside the data directory. It skips the
// test when the file is missing, or fails it when $CI is set.
func Require(t testing.TB, rel string) string {
	t.Helper()
	d := Find()
	p := filepath.Join(d, rel)
	if d != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "real data file " + rel + " not found: set W2ST_DATA_DIR or put the shared data at ../shared/data beside the checkout (see the README)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so this is a failure)")
	}
	t.Skip(msg)
	return ""
}

// Dir returns the data directory for a test, skipping the test when it is
// missing, or failing it when $CI is set.
func Dir(t testing.TB) string {
	t.Helper()
	d := Find()
	if d == "" {
		msg := "shared data folder not found: set W2ST_DATA_DIR or put the shared data at ../shared/data beside the checkout (see the README)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure)")
		}
		t.Skip(msg)
	}
	return d
}
