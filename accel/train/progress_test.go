package train

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlainProgressLines(t *testing.T) {
	var buf bytes.Buffer
	batches := tinyBatches(3, 5, 4, 4, 5)
	if _, err := Train(testBackend, newCtx(), tinyModel, &SliceSource{Batches: batches},
		Config{LR: 0.01, Epochs: 2, Progress: &buf, ProgressEvery: 3}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// Steps 3, 6, 9 and the last (10).
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "step 3/10  loss ") || !strings.HasPrefix(lines[3], "step 10/10 ") {
		t.Fatalf("progress output:\n%s", buf.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "tok/s") || !strings.Contains(l, "eta ") {
			t.Fatalf("line %q lacks tok/s or eta", l)
		}
	}
}
