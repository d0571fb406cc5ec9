package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/w2st/w2st/pipeline"
	"github.com/w2st/w2st/pipeline/cache"
	"github.com/w2st/w2st/pipeline/metrics"
)

type plotFile struct {
	base  string // file name without extension
	title string
}

// trustMetrics are the metrics plotted against accuracy: every metric but
// accuracy itself.
func trustMetrics(g *Group) []metrics.Def {
	var out []metrics.Def
	for _, d := range g.Metrics {
		if d.Name != metrics.DefAccuracy.Name {
			out = append(out, d)
		}
	}
	return out
}

func plotFiles(g *Group, test string) []plotFile {
	var out []plotFile
	for _, d := range trustMetrics(g) {
		out = append(out, plotFile{base: fmt.Sprintf("%s-%s-accuracy-vs-%s", g.Slug, slug(test), d.Name),
			title: fmt.Sprintf("Accuracy vs %s on %s", d.Label, test)})
	}
	out = append(out, plotFile{base: fmt.Sprintf("%s-%s-pgr", g.Slug, slug(test)), title: fmt.Sprintf("PGR per strategy on %s", test)})
	return out
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
}

func roleGlyph(role string) draw.GlyphDrawer {
	switch role {
	case pipeline.RoleWeak:
		return draw.TriangleGlyph{}
	case pipeline.RoleCeiling:
		return draw.SquareGlyph{}
	}
	return draw.CircleGlyph{}
}

// errXY is points with symmetric-or-not error bars in both directions.
type errXY struct {
	xy       plotter.XYs
	xlo, xhi []float64
	ylo, yhi []float64
}

func (e errXY) Len() int                        { return len(e.xy) }
func (e errXY) XY(i int) (float64, float64)     { return e.xy[i].X, e.xy[i].Y }
func (e errXY) XError(i int) (float64, float64) { return e.xlo[i], e.xhi[i] }
func (e errXY) YError(i int) (float64, float64) { return e.ylo[i], e.yhi[i] }

func save(p *plot.Plot, dir, base string, w, h vg.Length) ([]string, error) {
	var out []string
	for _, ext := range []string{"png", "svg"} {
		wt, err := p.WriterTo(w, h, ext)
		if err != nil {
			return nil, fmt.Errorf("report: plot %s.%s: %w", base, ext, err)
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("report: plot %s.%s: %w", base, ext, err)
		}
		path := filepath.Join(dir, base+"."+ext)
		if err := cache.WriteFileAtomic(path, buf.Bytes()); err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	return out, nil
}

func writePlots(dir string, groups []*Group) ([]string, error) {
	var files []string
	for _, g := range groups {
		for _, t := range g.Tests {
			pf := plotFiles(g, t.Name)
			for i, d := range trustMetrics(g) {
				p, err := scatterPlot(g, t.Name, d)
				if err != nil {
					return nil, err
				}
				fs, err := save(p, dir, pf[i].base, 7*vg.Inch, 5*vg.Inch)
				if err != nil {
					return nil, err
				}
				files = append(files, fs...)
			}
			p, err := pgrPlot(g, t.Name)
			if err != nil {
				return nil, err
			}
			fs, err := save(p, dir, pf[len(pf)-1].base, 8*vg.Inch, 4.5*vg.Inch)
			if err != nil {
				return nil, err
			}
			files = append(files, fs...)
		}
	}
	return files, nil
}

// scatterPlot draws accuracy (y) against a trust metric (x), one colour per
// strategy and one glyph per role, with 95% CI whiskers on both axes.
func scatterPlot(g *Group, test string, d metrics.Def) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Accuracy vs %s — %s (seeds: %s; whiskers: 95%% bootstrap CI)", d.Label, test, joinInts(g.Seeds))
	xl := d.Label
	if d.Unit != "" {
		xl += " (" + d.Unit + ")"
	}
	p.X.Label.Text = xl + " " + arrow(d)
	p.Y.Label.Text = "Accuracy (%) ↑"
	p.Add(plotter.NewGrid())
	acc := metrics.DefAccuracy
	for i, r := range g.Rows {
		xi, yi := r.Values[test][d.Name], r.Values[test][acc.Name]
		if xi == nil || yi == nil {
			continue
		}
		e := errXY{
			xy:  plotter.XYs{{X: xi.Mean * d.Scale, Y: yi.Mean * acc.Scale}},
			xlo: []float64{(xi.Mean - xi.Lo) * d.Scale}, xhi: []float64{(xi.Hi - xi.Mean) * d.Scale},
			ylo: []float64{(yi.Mean - yi.Lo) * acc.Scale}, yhi: []float64{(yi.Hi - yi.Mean) * acc.Scale},
		}
		col := palette[i%len(palette)]
		sc, err := plotter.NewScatter(e)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: roleGlyph(r.Role)}
		xe, err := plotter.NewXErrorBars(e)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		xe.LineStyle.Color = col
		ye, err := plotter.NewYErrorBars(e)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		ye.LineStyle.Color = col
		p.Add(xe, ye, sc)
		p.Legend.Add(r.Name, sc)
	}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(7)
	return p, nil
}

// The PGR axis range: PGR explodes when the weak–ceiling gap is tiny, so bars
// are clipped to this range (the table has the exact values).
const pgrMin, pgrMax = -2.0, 3.0

// pgrPlot draws grouped bars: one group per metric, one bar per W2S row
// (strategy), with 95% CI whiskers; an undefined PGR has no bar.
func pgrPlot(g *Group, test string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("PGR on %s (↑; 1 = ceiling recovered; seeds: %s; whiskers: 95%% bootstrap CI)", test, joinInts(g.Seeds))
	p.Y.Label.Text = "PGR"
	p.Add(plotter.NewGrid())
	var w2s []Row
	for _, r := range g.Rows {
		if r.PGR != nil {
			w2s = append(w2s, r)
		}
	}
	names := make([]string, len(g.Metrics))
	for i, d := range g.Metrics {
		names[i] = d.Label + " " + arrow(d)
	}
	barW := vg.Points(float64(60 / max(1, len(w2s))))
	undefined, clipped := 0, 0
	clip := func(v float64) float64 {
		c := math.Max(pgrMin, math.Min(pgrMax, v))
		if c != v {
			clipped++
		}
		return c
	}
	for k, r := range w2s {
		vals := make(plotter.Values, len(g.Metrics))
		e := errXY{}
		for i, d := range g.Metrics {
			ps := r.PGR[test][d.Name]
			if ps.Interval == nil || math.IsNaN(ps.Interval.Mean) {
				undefined++
				continue
			}
			m := clip(ps.Interval.Mean)
			lo := math.Max(pgrMin, math.Min(pgrMax, ps.Interval.Lo))
			hi := math.Max(pgrMin, math.Min(pgrMax, ps.Interval.Hi))
			vals[i] = m
			e.xy = append(e.xy, plotter.XY{X: float64(i), Y: m})
			e.ylo = append(e.ylo, math.Max(0, m-lo))
			e.yhi = append(e.yhi, math.Max(0, hi-m))
			e.xlo = append(e.xlo, 0)
			e.xhi = append(e.xhi, 0)
		}
		bc, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		col := palette[(k+len(g.Rows)-len(w2s))%len(palette)]
		bc.Color = col
		bc.LineStyle.Width = 0
		off := barW * vg.Length(float64(k)-float64(len(w2s)-1)/2)
		bc.Offset = off
		p.Add(bc)
		p.Legend.Add(r.Name, bc)
		if len(e.xy) > 0 {
			ye, err := plotter.NewYErrorBars(e)
			if err != nil {
				return nil, fmt.Errorf("report: %w", err)
			}
			// Shift the whiskers onto their bar: the offset is in canvas units,
			// so draw them through a shifted copy in data units below.
			ye.LineStyle.Width = vg.Points(1)
			p.Add(shifted{ye, off})
		}
	}
	p.NominalX(names...)
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(7)
	p.X.Label.Text = "metric"
	if undefined > 0 {
		p.X.Label.Text += fmt.Sprintf("; %d PGR values undefined (ceiling not better than weak): no bar", undefined)
	}
	if clipped > 0 {
		p.X.Label.Text += fmt.Sprintf("; %d means beyond [%g, %g] drawn at the edge (see the table)", clipped, pgrMin, pgrMax)
	}
	p.Y.Min, p.Y.Max = pgrMin, pgrMax
	return p, nil
}

// shifted draws a plotter moved horizontally by a fixed canvas offset, which
// puts CI whiskers on the centre of their (offset) bar.
type shifted struct {
	*plotter.YErrorBars
	dx vg.Length
}

func (s shifted) Plot(c draw.Canvas, plt *plot.Plot) {
	c.Rectangle.Min.X += s.dx
	c.Rectangle.Max.X += s.dx
	s.YErrorBars.Plot(c, plt)
}
