package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/batchsli/batchsli/analyze"
)

// mdTable writes a GitHub-flavoured table. Cells must already be escaped.
func mdTable(b *strings.Builder, header []string, align string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i > 0 && align == "right" {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// MDPlatforms writes the platform pass-rate table of a report.
func MDPlatforms(b *strings.Builder, r *analyze.Report) {
	var rows [][]string
	for _, p := range r.Platforms {
		rows = append(rows, platformCells(p, MD, " (partial)", '·'))
	}
	mdTable(b, platformHeader, "right", rows)
	fmt.Fprintf(b, "Pass rates count recipe results: infrastructure failures and incident batches are left out (runner health below). Intervals treat batches as clusters (intra-batch correlation %.2f pooled); trends compare within ecosystems.\n\n", r.Inference.ICC)
	if anyGated(r) {
		b.WriteString("### Progressive validation\n\n")
		rows = nil
		for _, p := range r.Platforms {
			if len(p.GatedBy) > 0 {
				rows = append(rows, gateCells(p, MD))
			}
		}
		mdTable(b, gateHeader, "", rows)
	}
	b.WriteString("### Runner health\n\n")
	rows = nil
	for _, p := range r.Platforms {
		rows = append(rows, healthCells(p, MD))
	}
	mdTable(b, healthHeader, "", rows)
}

// MDCategories writes the failure categories per platform.
func MDCategories(b *strings.Builder, r *analyze.Report) {
	if len(r.Categories) == 0 {
		b.WriteString("No failure records in the window.\n\n")
		return
	}
	var rows [][]string
	for _, c := range r.Categories {
		name := MD(c.Category)
		if !c.Known {
			name += " (unknown)"
		}
		rows = append(rows, []string{MD(c.Platform), name, c.Kind, fmt.Sprint(c.Count), pct(c.Share)})
	}
	mdTable(b, []string{"Platform", "Category", "Kind", "Count", "Share of platform's failures"}, "", rows)
}

// MDInsights writes the insights and verdicts as a list.
func MDInsights(b *strings.Builder, r *analyze.Report) {
	if len(r.Insights) == 0 {
		b.WriteString("No insight: nothing in the data clears the bar of evidence.\n\n")
	}
	for _, in := range r.Insights {
		fmt.Fprintf(b, "- **%s**: %s\n", kindTitle[in.Kind], MD(in.Evidence))
	}
	if len(r.Insights) > 0 {
		b.WriteString("\n")
	}
}

// ReportMarkdown writes the report as GitHub-flavoured markdown.
func ReportMarkdown(w io.Writer, r *analyze.Report) error {
	out, _ := reportMarkdown(r)
	_, err := io.WriteString(w, out)
	return err
}

// reportMarkdown renders the report; budget is where its budget line is.
func reportMarkdown(r *analyze.Report) (out string, budget [2]int) {
	var b strings.Builder
	fmt.Fprintf(&b, "# batchsli report\n\n")
	fmt.Fprintf(&b, "Data: %s. Window: %s, **%d batches** (%s to %s); platforms by %s; trend: %s.",
		MD(r.Data), MD(r.Window.Description), r.Batches, day(r.Window.First), day(r.Window.Last), r.By, MD(r.Window.TrendDescription))
	if r.EmptyRuns > 0 {
		fmt.Fprintf(&b, " %d more runs tested nothing and are not batches.", r.EmptyRuns)
	}
	b.WriteString("\n\n## Platform pass rates\n\n")
	if len(r.Platforms) == 0 {
		b.WriteString("No batch in the window tested anything.\n\n")
	} else {
		MDPlatforms(&b, r)
	}
	if lines := detectorLines(r); len(lines) > 0 {
		b.WriteString("### Regression detector (CUSUM within ecosystems)\n\n")
		for _, l := range lines {
			b.WriteString("- " + MD(l) + "\n")
		}
		b.WriteString("\n")
	}
	MDRecipes(&b, r)
	b.WriteString("## Failure categories\n\n")
	MDCategories(&b, r)
	if len(r.Blockers) > 0 {
		b.WriteString("### Top blockers\n\n")
		var rows [][]string
		for _, bl := range r.Blockers {
			rows = append(rows, []string{MD(bl.Platform), MDCode(bl.Dependency), fmt.Sprint(bl.Recipes), fmt.Sprint(bl.Failures)})
		}
		mdTable(&b, []string{"Platform", "Blocked by", "Recipes", "Failures"}, "", rows)
	}
	b.WriteString("## Ecosystem x platform\n\nPass rate (n) per cell.\n\n")
	ecos, plats, cell := matrixAxes(r)
	var rows [][]string
	for _, e := range ecos {
		row := []string{MD(e)}
		for _, p := range plats {
			if c, ok := cell[[2]string{e, p}]; ok {
				row = append(row, fmt.Sprintf("%s (%d)", ratePtr(c.PassRate), c.N))
			} else {
				row = append(row, "–")
			}
		}
		rows = append(rows, row)
	}
	header := []string{"Ecosystem"}
	for _, p := range plats {
		header = append(header, MD(p))
	}
	if len(plats) > 0 {
		mdTable(&b, header, "", rows)
	} else {
		b.WriteString("No batch in the window.\n\n")
	}
	b.WriteString("## Durations per batch\n\n")
	if len(r.Durations) == 0 {
		b.WriteString("No durations recorded in the window.\n\n")
	} else {
		rows = nil
		for _, d := range r.Durations {
			rows = append(rows, []string{MD(d.Platform), fmt.Sprint(d.Batches), secs(d.MedianSeconds), secs(d.P90Seconds), secs(d.PerRecipeMedian), secs(d.PerRecipeP90)})
		}
		mdTable(&b, []string{"Platform", "Batches", "Median", "p90", "Per recipe median", "Per recipe p90"}, "", rows)
	}
	b.WriteString("## macOS budget\n\n")
	budget[0] = b.Len()
	b.WriteString(mdBudget(r.Budget))
	budget[1] = b.Len()
	b.WriteString("\n\n")
	b.WriteString("## Insights\n\n")
	MDInsights(&b, r)
	fmt.Fprintf(&b, "- Weakest platform: %s\n- Regressions: %s\n- Skip advice: %s\n- Capability gaps: %s\n\n",
		MD(r.Verdicts.WeakestPlatform), MD(r.Verdicts.Regressions), MD(r.Verdicts.SkipAdvice), MD(r.Verdicts.CapabilityGaps))
	b.WriteString("## Notes\n\n")
	for i, n := range r.Notes {
		fmt.Fprintf(&b, "%d. %s\n", i+1, MD(n))
	}
	if len(r.Problems) > 0 {
		b.WriteString("\n## Problems\n\n")
		for _, p := range r.Problems {
			b.WriteString("- " + MDCode(p.String()) + "\n")
		}
		if r.MoreProblems > 0 {
			fmt.Fprintf(&b, "- and %d more\n", r.MoreProblems)
		}
	}
	return b.String(), budget
}

// MDRecipes writes the report's recipe histories: flakes and transitions
// per platform, the latest changes, flaky recipes and paired comparisons.
func MDRecipes(b *strings.Builder, r *analyze.Report) {
	rs := recipeSections(r, MD)
	if rs.note == "" && len(rs.tables) == 0 {
		return
	}
	b.WriteString("## Recipe histories\n\n")
	if rs.note != "" {
		b.WriteString(MD(rs.note) + "\n\n")
	}
	for _, t := range rs.tables {
		b.WriteString("### " + t.title + "\n\n")
		if len(t.rows) == 0 && t.empty != "" {
			b.WriteString(MD(t.empty) + ".\n\n")
		} else {
			h := make([]string, len(t.header))
			for i, c := range t.header {
				h[i] = strings.ToLower(c[:1]) + strings.ToLower(c[1:])
				h[i] = strings.ToUpper(h[i][:1]) + h[i][1:]
			}
			mdTable(b, h, "", t.rows)
		}
		if t.more > 0 {
			fmt.Fprintf(b, "And %d more (the JSON report lists them all).\n\n", t.more)
		}
		if t.after != "" {
			b.WriteString(MD(t.after) + "\n\n")
		}
	}
}
