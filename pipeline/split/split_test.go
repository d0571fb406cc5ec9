package split

import (
	"errors"
	"fmt"
	"testing"

	"github.com/w2st/w2st/data"
)

func pool(n int) []data.Example {
	rows := make([]data.Example, n)
	for i := range rows {
		rows[i] = data.Example{ID: fmt.Sprintf("ex-%03d", i), Text: fmt.Sprintf("t%d", i), Label: int32(i % 2)}
	}
	return rows
}

func TestSplit(t *testing.T) {
	for _, n := range []int{2, 3, 10, 101} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rows := pool(n)
			h, err := Split(rows, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Weak) != n/2 || len(h.Strong) != n-n/2 {
				t.Fatalf("sizes %d/%d for n=%d", len(h.Weak), len(h.Strong), n)
			}
			all := IDs(append(append([]data.Example{}, h.Weak...), h.Strong...))
			if len(all) != n {
				t.Errorf("union has %d ids, want %d", len(all), n)
			}
			if err := CheckDisjoint(h.Weak, h.Strong); err != nil {
				t.Error(err)
			}
			// Row order in the file does not matter.
			rev := make([]data.Example, n)
			for i := range rows {
				rev[n-1-i] = rows[i]
			}
			h2, _ := Split(rev, 1)
			for i := range h.Weak {
				if h.Weak[i].ID != h2.Weak[i].ID {
					t.Fatalf("reversed input changed the split at %d", i)
				}
			}
		})
	}
	a, _ := Split(pool(100), 0)
	b, _ := Split(pool(100), 1)
	same := 0
	for i := range a.Weak {
		if a.Weak[i].ID == b.Weak[i].ID {
			same++
		}
	}
	if same == len(a.Weak) {
		t.Error("seeds 0 and 1 gave the same split")
	}
}

func TestSplitBadInput(t *testing.T) {
	cases := map[string][]data.Example{
		"too few":  pool(1),
		"empty id": {{ID: "a"}, {ID: ""}},
		"dup id":   {{ID: "a"}, {ID: "b"}, {ID: "a"}},
	}
	for name, rows := range cases {
		if _, err := Split(rows, 0); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func TestCheckDisjointFiresOnSharedID(t *testing.T) {
	w := pool(4)
	s := []data.Example{{ID: "zz"}, w[2]}
	var le *LeakError
	if err := CheckDisjoint(w, s); !errors.As(err, &le) {
		t.Fatalf("shared id: err = %v", err)
	}
}

func TestArgmax(t *testing.T) {
	cases := []struct {
		p    []float32
		want int
	}{{nil, -1}, {[]float32{0.3, 0.7}, 1}, {[]float32{0.5, 0.5}, 0}, {[]float32{0.1, 0.6, 0.3}, 1}}
	for _, c := range cases {
		if got := Argmax(c.p); got != c.want {
			t.Errorf("Argmax(%v) = %d, want %d", c.p, got, c.want)
		}
	}
}

func TestStudentSetAndLeakCheck(t *testing.T) {
	h, err := Split(pool(20), 3)
	if err != nil {
		t.Fatal(err)
	}
	probs := map[string][]float32{}
	for i, r := range h.Strong {
		// The weak model disagrees with ground truth on every third row.
		p1 := float32(0.8)
		if (int(r.Label) == 1) == (i%3 == 0) {
			p1 = 0.2
		}
		probs[r.ID] = []float32{1 - p1, p1}
	}
	student, err := StudentSet(h.Strong, probs)
	if err != nil {
		t.Fatal(err)
	}
	wIDs, sIDs := IDs(h.Weak), IDs(h.Strong)
	if err := CheckStudent(student, wIDs, sIDs, probs); err != nil {
		t.Fatalf("honest student set: %v", err)
	}
	disagree := 0
	for i, r := range student {
		if r.Label != int32(Argmax(probs[r.ID])) {
			t.Fatalf("row %d label %d", i, r.Label)
		}
		if r.Label != h.Strong[i].Label {
			disagree++
		}
	}
	if disagree == 0 {
		t.Fatal("test data: the weak labels should disagree with ground truth somewhere")
	}

	leaks := map[string]func([]data.Example) []data.Example{
		"ground-truth label column kept": func(s []data.Example) []data.Example {
			for i := range s {
				s[i].Label = h.Strong[i].Label
			}
			return s
		},
		"one-hot ground truth as soft label": func(s []data.Example) []data.Example {
			for i := range s {
				if s[i].Label != h.Strong[i].Label {
					oh := []float32{0, 0}
					oh[h.Strong[i].Label] = 1
					s[i].SoftLabel = oh
					break
				}
			}
			return s
		},
		"a D_weak row": func(s []data.Example) []data.Example {
			s[0] = h.Weak[0]
			s[0].SoftLabel = []float32{0.5, 0.5}
			return s
		},
		"a missing row": func(s []data.Example) []data.Example { return s[1:] },
	}
	for name, mutate := range leaks {
		t.Run(name, func(t *testing.T) {
			crafted := mutate(append([]data.Example(nil), student...))
			var le *LeakError
			if err := CheckStudent(crafted, wIDs, sIDs, probs); !errors.As(err, &le) {
				t.Errorf("crafted leak not caught: err = %v", err)
			}
		})
	}
	delete(probs, h.Strong[0].ID)
	if _, err := StudentSet(h.Strong, probs); err == nil {
		t.Error("missing weak prediction: want error")
	}
}
