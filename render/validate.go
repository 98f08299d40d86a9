// Package render formats finished results (the inventory, the report, the
// job summary) as text, markdown or JSON. It computes nothing.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/safetext"
)

// JSON writes v as indented JSON, with control, C1, separator and bidi
// characters in strings written as \u escapes, so the output is safe on a
// terminal too.
func JSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(safetext.EscapeJSON(b.Bytes()))
	return err
}

// InventoryText writes the validate report for a terminal.
func InventoryText(w io.Writer, inv *analyze.Inventory) error {
	var b strings.Builder
	fmt.Fprintf(&b, "data: %s\n", Clean(inv.Data))
	fmt.Fprintf(&b, "batch runs: %d\nfailure records: %d\noutcome records: %d\n\n", inv.BatchRuns, inv.FailureRecords, inv.OutcomeRecords)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILES\tFORMAT\tCOUNT\tRECORDS")
	for _, f := range inv.Formats {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", f.Kind, f.Format, f.Files, f.Records)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLATFORM\tLEVEL\tBATCH RUNS\tFAILURES")
	for _, p := range inv.Platforms {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", Clean(p.Platform), p.Level, p.BatchRuns, p.FailureRecords)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tKIND\tFAILURES")
	for _, c := range inv.Categories {
		name := Clean(c.Category)
		if !c.Known {
			name += " (unknown)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\n", name, c.Kind, c.Count)
	}
	tw.Flush()
	if u := inv.UnknownCategories(); len(u) > 0 {
		fmt.Fprintf(&b, "\nnote: %d unknown categories, kept as written and counted against the recipe: %s\n", len(u), Clean(strings.Join(u, ", ")))
	}
	if u := inv.UnparsedPlatforms(); len(u) > 0 {
		fmt.Fprintf(&b, "\nnote: %d platform IDs fit no known shape and are reported verbatim: %s\n", len(u), Clean(strings.Join(u, ", ")))
	}
	n := len(inv.Problems) + inv.MoreProblems
	if n == 0 {
		b.WriteString("\nno problems\n")
	} else {
		fmt.Fprintf(&b, "\n%d problems:\n", n)
		for _, p := range inv.Problems {
			fmt.Fprintf(&b, "%s\n", Clean(p.String()))
		}
		if inv.MoreProblems > 0 {
			fmt.Fprintf(&b, "... and %d more\n", inv.MoreProblems)
		}
	}
	if n := len(inv.Uncommitted) + inv.MoreUncommitted; n > 0 {
		fmt.Fprintf(&b, "\n%d uncommitted failure records (not counted; `batchsli compact` moves them aside):\n", n)
		for _, p := range inv.Uncommitted {
			fmt.Fprintf(&b, "%s\n", Clean(p.String()))
		}
		if inv.MoreUncommitted > 0 {
			fmt.Fprintf(&b, "... and %d more\n", inv.MoreUncommitted)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Clean makes untrusted text safe for a terminal: invalid UTF-8, control
// characters (escape sequences, carriage returns, newlines, C1 controls) and
// bidirectional controls are shown escaped.
func Clean(s string) string { return safetext.Escape(s) }
