package synth

import (
	"bufio"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/w2st/w2st/data/adult"
	"github.com/w2st/w2st/internal/shareddata"
)

type rates struct {
	n                           int
	pos, male, white, married   float64
	posMale, posFemale, meanAge float64
}

func (r rates) gap() float64 { return r.posMale - r.posFemale }

func measure(recs []adult.Record) rates {
	var r rates
	var m, f, pm, pf float64
	for _, p := range recs {
		r.n++
		r.meanAge += float64(p.Age)
		if p.Race == "White" {
			r.white++
		}
		if p.MaritalStatus == "Married-civ-spouse" {
			r.married++
		}
		if p.HighIncome {
			r.pos++
		}
		if p.Sex == "Male" {
			m++
			if p.HighIncome {
				pm++
			}
		} else {
			f++
			if p.HighIncome {
				pf++
			}
		}
	}
	n := float64(r.n)
	r.pos, r.male, r.white, r.married, r.meanAge = r.pos/n, m/n, r.white/n, r.married/n, r.meanAge/n
	r.posMale, r.posFemale = pm/m, pf/f
	return r
}

func records(n int, bias float64, seed int64) []adult.Record {
	g := NewCensus(bias, seed)
	out := make([]adult.Record, n)
	for i := range out {
		out[i] = g.Record()
	}
	return out
}

func TestDeterministicAndMarked(t *testing.T) {
	a, b, c := Census(500, 1, 7), Census(500, 1, 7), Census(500, 1, 8)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different rows")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same rows")
	}
	seen := map[string]bool{}
	for _, ex := range a {
		if !ex.Synthetic {
			t.Fatalf("%s not marked synthetic", ex.ID)
		}
		if seen[ex.ID] {
			t.Fatalf("duplicate id %s", ex.ID)
		}
		seen[ex.ID] = true
		if !strings.Contains(ex.Text, ", sex "+ex.Group+",") || !strings.Contains(ex.Text, ", race "+ex.Race+",") {
			t.Fatalf("%s: group %q / race %q not in text %q", ex.ID, ex.Group, ex.Race, ex.Text)
		}
		if !strings.HasPrefix(ex.Text, "A person in 1996 has the following attributes: age ") || !strings.HasSuffix(ex.Text, adult.Question) {
			t.Fatalf("%s: text not in the Adult template: %q", ex.ID, ex.Text)
		}
		if ex.Label != 0 && ex.Label != 1 {
			t.Fatalf("label %d", ex.Label)
		}
	}
	if len(Census(0, 1, 1)) != 0 || len(Census(-3, 1, 1)) != 0 {
		t.Fatal("n <= 0 must give no rows")
	}
}

// TestBiasControlsParityGap: bias 0 means income independent of sex; the
// demographic-parity gap grows with the bias.
func TestBiasControlsParityGap(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 30000
	}
	// standard error of the gap ≈ sqrt(p(1-p)(1/nM + 1/nF)) ≈ 0.0029 at n=100k
	se := math.Sqrt(0.25 * 0.75 * (1/(MaleShare*float64(n)) + 1/((1-MaleShare)*float64(n))))
	prev := -1.0
	for _, b := range []float64{0, 0.5, 1, DefaultBias, 3} {
		r := measure(records(n, b, 11))
		if b == 0 && math.Abs(r.gap()) > 4*se {
			t.Fatalf("bias 0: gap %.4f, want |gap| < %.4f", r.gap(), 4*se)
		}
		if r.gap() <= prev+2*se {
			t.Fatalf("bias %v: gap %.4f does not exceed the previous %.4f", b, r.gap(), prev)
		}
		prev = r.gap()
	}
}

// TestPublishedMarginals compares with UCI adult.names / Kohavi's published
// numbers: P(>50K) = 23.93% (train+test), 66.9% men, 85.4% White.
func TestPublishedMarginals(t *testing.T) {
	r := measure(records(50000, DefaultBias, 3))
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"P(>50K)", r.pos, 0.2393, 0.025},
		{"male share", r.male, 0.669, 0.01},
		{"White share", r.white, 0.854, 0.01},
		{"parity gap at the default bias (Adult: 0.306-0.109)", r.gap(), 0.197, 0.03},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.4f, want %.4f ± %.3f", c.name, c.got, c.want, c.tol)
		}
	}
}

// TestMarginalsMatchRealAdult compares with adult.data itself.
func TestMarginalsMatchRealAdult(t *testing.T) {
	p := shareddata.Require(t, "adult/adult.data")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var real []adult.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ", ")
		if len(fs) != 15 {
			continue
		}
		age, _ := strconv.Atoi(fs[0])
		real = append(real, adult.Record{Age: age, MaritalStatus: fs[5], Race: fs[8], Sex: fs[9], HighIncome: fs[14] == ">50K"})
	}
	if len(real) != 32561 {
		t.Fatalf("read %d rows of adult.data, want 32561", len(real))
	}
	want, got := measure(real), measure(records(50000, DefaultBias, 5))
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"P(>50K)", got.pos, want.pos, 0.03},
		{"male share", got.male, want.male, 0.01},
		{"White share", got.white, want.white, 0.01},
		{"married share", got.married, want.married, 0.02},
		{"mean age", got.meanAge, want.meanAge, 1.0},
		{"P(>50K | Male)", got.posMale, want.posMale, 0.04},
		{"P(>50K | Female)", got.posFemale, want.posFemale, 0.04},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.4f, real Adult %.4f (tolerance %.3f)", c.name, c.got, c.want, c.tol)
		}
	}
}

func BenchmarkCensus(b *testing.B) {
	g := NewCensus(DefaultBias, 1)
	for b.Loop() {
		g.Next()
	}
}
