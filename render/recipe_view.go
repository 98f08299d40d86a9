package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/batchsli/batchsli/analyze"
)

// RecipeText writes one recipe's history as text.
func RecipeText(w io.Writer, v *analyze.RecipeView) error {
	var b strings.Builder
	table := func(rows [][]string) {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}
	first, last := v.Batches[0].Timestamp, v.Batches[len(v.Batches)-1].Timestamp
	fmt.Fprintf(&b, "recipe %s: %d batches, %s .. %s\n", Clean(v.Recipe), len(v.Batches), first.UTC().Format("2006-01-02"), last.UTC().Format("2006-01-02"))

	b.WriteString("\nPer platform:\n")
	rows := [][]string{{"PLATFORM", "PASSES", "FAILURES", "SKIPPED", "LAST", "LAST BATCH", "FLAKY"}}
	for _, p := range v.Platforms {
		flaky := "no"
		if p.Flaky {
			flaky = "yes"
		}
		last, lastB := p.Last, p.LastBatchID
		if last == "" {
			last, lastB = "-", "-"
		}
		rows = append(rows, []string{Clean(p.Platform), fmt.Sprint(p.Passes), fmt.Sprint(p.Failures), fmt.Sprint(p.Skipped), Clean(last), Clean(lastB), flaky})
	}
	table(rows)

	b.WriteString("\nBatches:\n")
	rows = [][]string{{"BATCH", "TIME", "VERSION", "PASSED", "RETRIED", "SKIPPED", "FAILED ON"}}
	for _, rb := range v.Batches {
		ver := rb.Version
		if ver == "" {
			ver = "-"
		}
		passed, retried, skipped := fmt.Sprint(len(rb.Passed)), fmt.Sprint(len(rb.Retried)), fmt.Sprint(len(rb.Skipped))
		if !rb.Outcomes {
			passed, retried, skipped = "?", "?", "?"
		}
		var on []string
		for _, f := range rb.Failures {
			on = append(on, Clean(f.Platform))
		}
		failed := strings.Join(on, " ")
		if failed == "" {
			failed = "-"
		}
		rows = append(rows, []string{Clean(rb.BatchID), rb.Timestamp.UTC().Format("2006-01-02 15:04"), Clean(ver), passed, retried, skipped, failed})
	}
	table(rows)

	b.WriteString("\nFailures:\n")
	rows = [][]string{{"BATCH", "PLATFORM", "CATEGORY", "BLOCKED BY", "EXCERPT"}}
	n := 0
	for _, rb := range v.Batches {
		for _, f := range rb.Failures {
			bl := strings.Join(f.BlockedBy, ", ")
			if bl == "" {
				bl = "-"
			}
			rows = append(rows, []string{Clean(rb.BatchID), Clean(f.Platform), Clean(f.Category), Clean(bl), Clean(f.Excerpt)})
			n++
		}
	}
	if n == 0 {
		b.WriteString("none\n")
	} else {
		table(rows)
	}

	b.WriteString("\nTransitions:\n")
	if len(v.Transitions) == 0 {
		b.WriteString("none\n")
	} else {
		rows = [][]string{{"BATCH", "RECIPE", "PLATFORM", "CHANGE", "BEFORE", "NOW"}}
		for _, t := range v.Transitions {
			rows = append(rows, transitionCells(t, Clean))
		}
		table(rows)
	}
	for _, n := range v.Notes {
		b.WriteString("\nnote: " + Clean(n) + "\n")
	}
	if v.Problems > 0 {
		fmt.Fprintf(&b, "\nThe data directory has %d problem records; run `batchsli validate`.\n", v.Problems)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
