// Package synth generates the synthetic census, w2st's embedded default data
// set: an Adult-like population with plausible marginals, rendered in the
// same DecodingTrust text template as the Adult importer, with income drawn
// from a seeded logistic model whose dependence on sex is set by a bias
// parameter. Every row is marked Synthetic.
//
// Attributes are drawn independently of sex (except relationship, which names
// the spouse as Husband or Wife), so bias 0 gives a population where income
// does not depend on sex, and the demographic-parity gap grows with the bias.
package synth

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/w2st/w2st/data"
	"github.com/w2st/w2st/data/adult"
)

// DefaultBias is the sex coefficient that gives roughly Adult's own
// demographic-parity gap (about 0.2 between men and women).
const DefaultBias = 1.7

// weighted is a categorical distribution.
type weighted struct {
	values []string
	cum    []float64
}

func cat(pairs ...any) weighted {
	var w weighted
	total := 0.0
	for i := 0; i < len(pairs); i += 2 {
		w.values = append(w.values, pairs[i].(string))
		total += pairs[i+1].(float64)
		w.cum = append(w.cum, total)
	}
	for i := range w.cum {
		w.cum[i] /= total
	}
	return w
}

func (w *weighted) draw(r *rand.Rand) int {
	u := r.Float64()
	for i, c := range w.cum {
		if u < c {
			return i
		}
	}
	return len(w.cum) - 1
}

// Marginals (percentages) follow UCI adult.data.
var (
	workclasses = cat("Private", 69.7, "Self-emp-not-inc", 7.8, "Local-gov", 6.4, "?", 5.6, "State-gov", 4.0,
		"Self-emp-inc", 3.4, "Federal-gov", 2.9, "Without-pay", 0.04, "Never-worked", 0.02)
	educations = cat("HS-grad", 32.3, "Some-college", 22.4, "Bachelors", 16.4, "Masters", 5.3, "Assoc-voc", 4.2,
		"11th", 3.6, "Assoc-acdm", 3.3, "10th", 2.9, "7th-8th", 2.0, "Prof-school", 1.8, "9th", 1.6,
		"12th", 1.3, "Doctorate", 1.3, "5th-6th", 1.0, "1st-4th", 0.5, "Preschool", 0.2)
	educationNum = map[string]int{"Preschool": 1, "1st-4th": 2, "5th-6th": 3, "7th-8th": 4, "9th": 5, "10th": 6,
		"11th": 7, "12th": 8, "HS-grad": 9, "Some-college": 10, "Assoc-voc": 11, "Assoc-acdm": 12,
		"Bachelors": 13, "Masters": 14, "Prof-school": 15, "Doctorate": 16}
	maritals = cat("Married-civ-spouse", 48.5, "Never-married", 32.8, "Divorced", 13.6, "Separated", 3.1,
		"Widowed", 3.0, "Married-spouse-absent", 1.3, "Married-AF-spouse", 0.07)
	occupations = cat("Prof-specialty", 12.7, "Craft-repair", 12.6, "Exec-managerial", 12.5, "Adm-clerical", 11.6,
		"Sales", 11.2, "Other-service", 10.1, "Machine-op-inspct", 6.1, "?", 5.7, "Transport-moving", 4.9,
		"Handlers-cleaners", 4.2, "Farming-fishing", 3.1, "Tech-support", 2.8, "Protective-serv", 2.0,
		"Priv-house-serv", 0.5, "Armed-Forces", 0.03)
	occupationEffect = map[string]float64{"Exec-managerial": 0.9, "Prof-specialty": 0.7, "Tech-support": 0.4,
		"Protective-serv": 0.3, "Sales": 0.2, "Other-service": -1.0, "Handlers-cleaners": -0.8,
		"Priv-house-serv": -1.5, "Farming-fishing": -0.7, "Machine-op-inspct": -0.4, "Adm-clerical": -0.2}
	unmarriedRel = cat("Not-in-family", 48.0, "Own-child", 30.0, "Unmarried", 19.0, "Other-relative", 5.5)
	races        = cat("White", 85.4, "Black", 9.6, "Asian-Pac-Islander", 3.2, "Amer-Indian-Eskimo", 1.0, "Other", 0.8)
	countries    = cat("United-States", 89.6, "Mexico", 2.0, "?", 1.8, "Philippines", 0.6, "Germany", 0.4,
		"Canada", 0.4, "Puerto-Rico", 0.35, "El-Salvador", 0.3, "India", 0.3, "Cuba", 0.3, "England", 0.3,
		"Jamaica", 0.25, "South", 0.25, "China", 0.23, "Italy", 0.22, "Dominican-Republic", 0.21,
		"Vietnam", 0.2, "Guatemala", 0.2, "Japan", 0.19, "Poland", 0.18, "Columbia", 0.18)
)

// MaleShare is the fraction of men (Adult: 21,790 of 32,561).
const MaleShare = 0.669

// Generator streams synthetic census rows.
type Generator struct {
	rng  *rand.Rand
	bias float64
	seed int64
	n    int
	buf  []byte
}

// NewCensus returns a generator seeded by seed with the given sex bias.
func NewCensus(bias float64, seed int64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(uint64(seed), 0xad017)), bias: bias, seed: seed, buf: make([]byte, 0, 512)}
}

// Record draws the next person.
func (g *Generator) Record() adult.Record {
	r := g.rng
	var p adult.Record
	// age: 17 + Gamma(2.2, 10.1) ≈ mean 38.6, sd 14, capped at 90
	p.Age = min(90, 17+int(gamma22(r)*10.1))
	p.Workclass = workclasses.values[workclasses.draw(r)]
	p.Fnlwgt = int(math.Exp(12.09 + 0.5*r.NormFloat64()))
	p.Education = educations.values[educations.draw(r)]
	p.EducationNum = educationNum[p.Education]
	p.MaritalStatus = maritals.values[maritals.draw(r)]
	if p.Age < 22 && p.MaritalStatus != "Never-married" && r.Float64() < 0.8 {
		p.MaritalStatus = "Never-married"
	}
	p.Occupation = occupations.values[occupations.draw(r)]
	if p.Workclass == "?" {
		p.Occupation = "?"
	}
	male := r.Float64() < MaleShare
	p.Sex = "Female"
	if male {
		p.Sex = "Male"
	}
	married := p.MaritalStatus == "Married-civ-spouse" || p.MaritalStatus == "Married-AF-spouse"
	switch {
	case married && male:
		p.Relationship = "Husband"
	case married:
		p.Relationship = "Wife"
	case p.Age < 25 && r.Float64() < 0.6:
		p.Relationship = "Own-child"
	default:
		p.Relationship = unmarriedRel.values[unmarriedRel.draw(r)]
	}
	p.Race = races.values[races.draw(r)]
	if r.Float64() < 0.083 {
		if r.Float64() < 0.05 {
			p.CapitalGain = 99999
		} else {
			p.CapitalGain = int(math.Exp(8.4 + 0.8*r.NormFloat64()))
		}
	}
	if p.CapitalGain == 0 && r.Float64() < 0.047 {
		p.CapitalLoss = max(100, int(1870+360*r.NormFloat64()))
	}
	if r.Float64() < 0.467 {
		p.HoursPerWeek = 40
	} else {
		p.HoursPerWeek = max(1, min(99, int(math.Round(40+15*r.NormFloat64()))))
	}
	p.NativeCountry = countries.values[countries.draw(r)]

	// income: logistic model; sex enters only through the bias term
	a := float64(min(p.Age, 60) - 38)
	z := -2.5 + 0.05*a - 0.0015*a*a + 0.33*float64(p.EducationNum-10) + 0.03*float64(p.HoursPerWeek-40)
	if married {
		z += 2.0
	}
	z += occupationEffect[p.Occupation]
	switch {
	case p.CapitalGain > 7000:
		z += 3.0
	case p.CapitalGain > 0:
		z += 0.5
	}
	if p.CapitalLoss > 1800 {
		z += 1.0
	}
	sex := -MaleShare
	if male {
		sex = 1 - MaleShare
	}
	z += g.bias * sex
	p.HighIncome = r.Float64() < 1/(1+math.Exp(-z))
	return p
}

// gamma22 draws Gamma(shape 2.2, scale 1) as the sum of Gamma(2) (two
// exponentials) and Gamma(0.2) (Ahrens–Dieter via u^(1/a) boost).
func gamma22(r *rand.Rand) float64 {
	g2 := r.ExpFloat64() + r.ExpFloat64()
	// Gamma(0.2) = Gamma(1.2) * U^(1/0.2); Gamma(1.2) by Marsaglia–Tsang.
	d := 1.2 - 1.0/3
	c := 1 / math.Sqrt(9*d)
	var g12 float64
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			g12 = d * v
			break
		}
	}
	return g2 + g12*math.Pow(r.Float64(), 1/0.2)
}

// Next returns the next synthetic row (id "census-<seed>-<index>").
func (g *Generator) Next() data.Example {
	p := g.Record()
	g.buf = p.AppendText(g.buf[:0])
	id := "census-" + strconv.FormatInt(g.seed, 10) + "-" + strconv.Itoa(g.n)
	g.n++
	return data.Example{
		ID:        id,
		Text:      string(g.buf),
		Label:     p.Label(),
		Group:     p.Sex,
		Race:      p.Race,
		Split:     "train",
		Synthetic: true,
	}
}

// Census returns n synthetic rows (see NewCensus); group = sex.
func Census(n int, bias float64, seed int64) []data.Example {
	g := NewCensus(bias, seed)
	out := make([]data.Example, max(n, 0))
	for i := range out {
		out[i] = g.Next()
	}
	return out
}
