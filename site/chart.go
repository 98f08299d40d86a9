// Package site draws the static dashboard's charts as SVG, server-side:
// no script, no fonts or images fetched, every text escaped, and a
// title, a description and a data table beside each chart (issue: batchsli
// site).
package site

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Point is a value with its interval (Low and High; equal to Value when
// there is none) at one position of the chart's x axis. Missing points
// (too few batches to say) break the line.
type Point struct {
	Value, Low, High float64
	Missing          bool
	// N and Batches are the point's evidence (0: not given); Small marks
	// a small sample.
	N       int64
	Batches int
	Small   bool
}

// Series is one line with its band.
type Series struct {
	Name   string
	Points []Point
}

// Chart is a line chart of shares (0 to 1) over labelled positions, each
// series with its interval drawn as a band.
type Chart struct {
	// ID names the chart's title and description elements: unique on a
	// page (letters, digits and hyphens; "chart" when empty).
	ID                 string
	Title, Description string
	XLabels            []string
	Series             []Series
	Width, Height      int
	// XTitle heads the table's first column ("batch window" when empty).
	XTitle string
	// YMax is the top of the y axis (0: 1, that is 100%).
	YMax float64
	// Marks are vertical markers (a detected regression's start).
	Marks []Mark
}

// Mark is a vertical marker at position X of the x axis.
type Mark struct {
	X     int
	Label string
}

// palette is Okabe and Ito's, distinguishable with the common colour
// blindnesses; each series also has its own dash pattern, so the lines
// differ in print and in greys.
// Its yellow (#F0E442) is left out: on white it cannot be seen. Colour and
// dash pattern cycle with different lengths (7 and 8), so no two of the
// first 56 series look alike.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

var dashes = []string{"", "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 4", "12 2"}

// esc makes untrusted text inert in HTML and SVG: control and
// bidirectional characters shown escaped, markup as entities.
func esc(s string) string { return html.EscapeString(text(s)) }

// size is a chart's size, 640 by 240 where not given.
func size(w, h int) (int, int) {
	if w == 0 {
		w = 640
	}
	if h == 0 {
		h = 240
	}
	return w, h
}

// plainID is id when it is plain letters, digits and hyphens, else def.
func plainID(id, def string) string {
	if id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return def
	}
	return id
}

// svgOpen starts a chart's SVG: its size, its accessible name, title and
// description (escaped).
func svgOpen(b *strings.Builder, width, height int, id, title, desc string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" class="chart" id="%s">`+"\n", width, height, esc(title), id)
	fmt.Fprintf(b, "<title>%s</title>\n<desc>%s</desc>\n", esc(title), esc(desc))
}

// SVG writes the chart. Its text is escaped; ids are derived from
// nothing the data holds.
func (c Chart) SVG(w io.Writer) error {
	width, height := size(c.Width, c.Height)
	const left, right, top, bottom = 44, 24, 12, 28
	id := plainID(c.ID, "chart")
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	n := len(c.XLabels)
	x := func(i int) float64 {
		if n <= 1 {
			return float64(left) + pw/2
		}
		return float64(left) + pw*float64(i)/float64(n-1)
	}
	ymax := c.YMax
	if !(ymax > 0) {
		ymax = 1
	}
	y := func(v float64) float64 { return float64(top) + ph*(1-math.Max(0, math.Min(1, v/ymax))) }
	var b strings.Builder
	svgOpen(&b, width, height, id, c.Title, c.Description)
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		v := f * ymax
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ccc" stroke-width="1"/>`+"\n", left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#333">%s</text>`+"\n", left-4, y(v)+3, axisPct(v))
	}
	for _, m := range c.Marks {
		if m.X < 0 || m.X >= n {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#000" stroke-width="1" stroke-dasharray="3 3"><title>%s</title></line>`+"\n", x(m.X), x(m.X), top, height-bottom, esc(m.Label))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#000">&#9650;</text>`+"\n", x(m.X), height-bottom-2)
	}
	if n > 0 {
		step := max(1, n/6)
		for i := 0; i < n; i += step {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>`+"\n", x(i), height-8, esc(c.XLabels[i]))
		}
	}
	for si, s := range c.Series {
		col, dash := palette[si%len(palette)], dashes[si%len(dashes)]
		fmt.Fprintf(&b, "<g><title>%s</title>\n", esc(s.Name))
		// Bands and lines, one run of present points at a time.
		for _, run := range runs(s.Points) {
			var band, line []string
			for _, i := range run {
				band = append(band, fmt.Sprintf("%.1f,%.1f", x(i), y(s.Points[i].High)))
				line = append(line, fmt.Sprintf("%.1f,%.1f", x(i), y(s.Points[i].Value)))
			}
			for j := len(run) - 1; j >= 0; j-- {
				band = append(band, fmt.Sprintf("%.1f,%.1f", x(run[j]), y(s.Points[run[j]].Low)))
			}
			if len(run) > 1 {
				fmt.Fprintf(&b, `<polygon points="%s" fill="%s" fill-opacity="0.15" stroke="none"/>`+"\n", strings.Join(band, " "), col)
			}
			if len(run) == 1 {
				// A point alone: its interval as a bar.
				p := s.Points[run[0]]
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", x(run[0]), x(run[0]), y(p.Low), y(p.High), col)
				fmt.Fprintf(&b, `<circle cx="%s" r="3" fill="%s"/>`+"\n", strings.Replace(line[0], ",", `" cy="`, 1), col)
				continue
			}
			d := ""
			if dash != "" {
				d = ` stroke-dasharray="` + dash + `"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(line, " "), col, d)
			// A small sample's point: a hollow circle.
			for _, i := range run {
				if s.Points[i].Small {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="#fff" stroke="%s" stroke-width="1.5"/>`+"\n", x(i), y(s.Points[i].Value), col)
				}
			}
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// runs splits the present points into consecutive runs of indices.
func runs(ps []Point) [][]int {
	var out [][]int
	var cur []int
	for i, p := range ps {
		if p.Missing || math.IsNaN(p.Value) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// Table writes the chart's data as an HTML table, its text equivalent:
// each position's value and interval per series, "too few batches" where
// a point is missing.
func (c Chart) Table(w io.Writer) error {
	var b strings.Builder
	xt := c.XTitle
	if xt == "" {
		xt = "batch window"
	}
	fmt.Fprintf(&b, "<table>\n<caption>%s</caption>\n<thead><tr><th scope=\"col\">%s</th>", esc(c.Title), esc(xt))
	for _, s := range c.Series {
		fmt.Fprintf(&b, "<th scope=\"col\">%s</th>", esc(s.Name))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for i, l := range c.XLabels {
		fmt.Fprintf(&b, "<tr><th scope=\"row\">%s</th>", esc(l))
		for _, s := range c.Series {
			if i >= len(s.Points) || s.Points[i].Missing {
				b.WriteString("<td>too few batches</td>")
				continue
			}
			p := s.Points[i]
			fmt.Fprintf(&b, "<td>%.1f%% (%.1f-%.1f%%)", 100*p.Value, 100*p.Low, 100*p.High)
			if p.Batches > 0 {
				fmt.Fprintf(&b, ", n %d, %d batches", p.N, p.Batches)
			}
			if p.Small {
				b.WriteString(", small sample")
			}
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// axisPct writes an axis value as a percentage, with a decimal below 10%.
func axisPct(v float64) string {
	if v > 0 && v < 0.1 {
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	return fmt.Sprintf("%.0f%%", 100*v)
}

// Bars is a bar chart of amounts (minutes) against a limit, with an
// interval on any bar (a projection).
type Bars struct {
	ID, Title, Description string
	// Unit names the amounts ("minutes").
	Unit          string
	Bars          []Bar
	Limit         float64
	Width, Height int
}

// Bar is one bar: Value, and when Projected a forecast's median with its
// interval (Low to High) drawn above it.
type Bar struct {
	Label             string
	Value             float64
	Known             bool
	Projected         bool
	Median, Low, High float64
}

// SVG writes the bar chart.
func (c Bars) SVG(w io.Writer) error {
	width, height := size(c.Width, c.Height)
	const left, right, top, bottom = 52, 24, 12, 28
	id := plainID(c.ID, "bars")
	ymax := c.Limit
	for _, b := range c.Bars {
		ymax = math.Max(ymax, math.Max(b.Value, b.High))
	}
	if !(ymax > 0) || math.IsInf(ymax, 0) {
		ymax = 1
	}
	ymax *= 1.05
	ticks := []float64{0, 0.25 * ymax, 0.5 * ymax, 0.75 * ymax, ymax}
	if c.Limit > 0 {
		ticks = nil
		for v := 0.0; v <= ymax; v += c.Limit / 4 {
			ticks = append(ticks, v)
		}
	}
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	n := max(1, len(c.Bars))
	slot := pw / float64(n)
	y := func(v float64) float64 { return float64(top) + ph*(1-math.Max(0, math.Min(1, v/ymax))) }
	var b strings.Builder
	svgOpen(&b, width, height, id, c.Title, c.Description)
	for _, v := range ticks {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ccc" stroke-width="1"/>`+"\n", left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#333">%.0f</text>`+"\n", left-4, y(v)+3, v)
	}
	step := max(1, n/8)
	for i, bar := range c.Bars {
		x0 := float64(left) + slot*float64(i)
		if !bar.Known {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#333">unknown</text>`+"\n", x0+slot/2, y(0)-4)
		}
		if bar.Known {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %.0f %s</title></rect>`+"\n",
				x0+slot*0.15, y(bar.Value), slot*0.7, y(0)-y(bar.Value), palette[0], esc(bar.Label), bar.Value, esc(c.Unit))
		}
		if bar.Projected {
			cx := x0 + slot/2
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", cx, cx, y(bar.Low), y(bar.High), palette[1])
			for _, v := range []float64{bar.Low, bar.High} {
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", cx-slot*0.2, cx+slot*0.2, y(v), y(v), palette[1])
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="6" height="6" fill="%s" transform="rotate(45 %.1f %.1f)"/>`+"\n", cx-3, y(bar.Median)-3, palette[1], cx, y(bar.Median))
		}
		if i%step == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>`+"\n", x0+slot/2, height-8, esc(bar.Label))
		}
	}
	if c.Limit > 0 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#000" stroke-width="1.5" stroke-dasharray="6 3"/>`+"\n", left, width-right, y(c.Limit), y(c.Limit))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#000">budget %.0f</text>`+"\n", width-right, y(c.Limit)-3, c.Limit)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Legend writes the series' names, each beside a sample of its line (its
// colour and dash pattern), as an HTML list.
func (c Chart) Legend(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for si, s := range c.Series {
		d := ""
		if dash := dashes[si%len(dashes)]; dash != "" {
			d = ` stroke-dasharray="` + dash + `"`
		}
		fmt.Fprintf(&b, `<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" y2="5" stroke="%s" stroke-width="2"%s/></svg> %s</li>`, palette[si%len(palette)], d, esc(s.Name))
	}
	b.WriteString("</ul>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
