package site

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/internal/golden"
)

// fixed is a small fixed history: two platforms over five windows, one
// with a window too small to say anything.
func fixed() Chart {
	return Chart{
		Title:       "Recipe pass rate by platform",
		Description: "Pass rates per window of 10 batches, with 95% intervals.",
		XLabels:     []string{"1-10", "11-20", "21-30", "31-40", "41-50"},
		Series: []Series{
			{Name: "linux-glibc-x86_64", Points: []Point{{Value: 0.9, Low: 0.85, High: 0.94}, {Value: 0.92, Low: 0.88, High: 0.95}, {Value: 0.88, Low: 0.82, High: 0.92}, {Value: 0.91, Low: 0.87, High: 0.94}, {Value: 0.93, Low: 0.9, High: 0.96}}},
			{Name: "linux-musl-arm64", Points: []Point{{Value: 0.5, Low: 0.4, High: 0.6, N: 40, Batches: 3, Small: true}, {Value: 0, Low: 0, High: 0, Missing: true}, {Value: 0.55, Low: 0.45, High: 0.65}, {Value: 0.6, Low: 0.5, High: 0.7}, {Value: 0.62, Low: 0.52, High: 0.71}}},
		},
	}
}

// TestChartGolden: the SVG and its table on the fixed history.
func TestChartGolden(t *testing.T) {
	var svg, table bytes.Buffer
	c := fixed()
	if err := c.SVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := c.Table(&table); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/chart.svg", svg.Bytes())
	golden.Check(t, "testdata/chart-table.html", table.Bytes())
	wellFormed(t, svg.String())
	// The missing window breaks the musl line into two runs: a point, then a line.
	if strings.Count(svg.String(), "<polyline") != 2 || strings.Count(svg.String(), "<circle") != 1 {
		t.Errorf("lines and points: %d polylines, %d circles", strings.Count(svg.String(), "<polyline"), strings.Count(svg.String(), "<circle"))
	}
}

// TestChartEscapes: hostile names and labels stay text.
func TestChartEscapes(t *testing.T) {
	c := fixed()
	hostile := `</svg><script>alert(1)</script><img src=x onerror=alert(2)>"' ` + "\u202e"
	c.Title, c.Description = hostile, hostile
	c.XLabels[0] = hostile
	c.Series[0].Name = hostile
	var svg, table bytes.Buffer
	c.SVG(&svg)
	c.Table(&table)
	for _, out := range []string{svg.String(), table.String()} {
		for _, bad := range []string{"<script", "<img", "</svg><", `"'`} {
			if strings.Contains(out, bad) {
				t.Errorf("%q survives in %.80q", bad, out)
			}
		}
	}
	wellFormed(t, svg.String())
}

func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
}

// TestChartIDs: a chart's element id is its ID, and an ID that is not
// plain letters, digits and hyphens is not used.
func TestChartIDs(t *testing.T) {
	for id, want := range map[string]string{"arm64-trend": `id="arm64-trend"`, `x" onload="alert(1)`: `id="chart"`, "": `id="chart"`} {
		c := fixed()
		c.ID = id
		var svg bytes.Buffer
		c.SVG(&svg)
		if !strings.Contains(svg.String(), want) || strings.Contains(svg.String(), "onload") {
			t.Errorf("ID %q: want %s in %.200s", id, want, svg.String())
		}
	}
}

// TestBarsAndLegendGolden: the budget chart (weeks against the budget, the
// last with a forecast interval) and a line chart's legend.
func TestBarsAndLegendGolden(t *testing.T) {
	c := Bars{ID: "budget", Title: "macOS minutes per week", Description: "Bars and a forecast.", Unit: "minutes", Limit: 1000,
		Bars: []Bar{{Label: "Mar 2", Value: 940, Known: true}, {Label: "Mar 9", Value: 1020, Known: true}, {Label: "Mar 16"},
			{Label: "Mar 23", Value: 400, Known: true, Projected: true, Median: 980, Low: 850, High: 1130}}}
	var svg, legend bytes.Buffer
	if err := c.SVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := fixed().Legend(&legend); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/bars.svg", svg.Bytes())
	golden.Check(t, "testdata/legend.html", legend.Bytes())
	wellFormed(t, svg.String())
	// Three known weeks are bars; the unknown one is none; the forecast is
	// a bar with its two caps and a diamond.
	if n := strings.Count(svg.String(), "<rect"); n != 4 {
		t.Errorf("%d rects, want 3 bars and a diamond", n)
	}
}
