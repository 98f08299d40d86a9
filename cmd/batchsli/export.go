package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/atomicfile"
	"github.com/batchsli/batchsli/internal/memlimit"
	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/sample"
	"github.com/batchsli/batchsli/warehouse"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "export", "export [--data DIR | --demo] [--format FORMAT] [flags]", stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "export the sample history built into batchsli")
	format := fs.String("format", "openmetrics", "openmetrics (every batch, with timestamps, for promtool tsdb create-blocks-from openmetrics), prometheus (the latest values, for a textfile collector), or parquet or csv (tables for warehouses and spreadsheets, under --out DIR)")
	by := fs.String("by", "env", "the platforms' level: family, env, job or os (default: the configuration's, else env)")
	week := addWeekFlags(fs, false)
	out := fs.String("out", "-", "write to `FILE` (written whole, then renamed into place) or - for standard output; with parquet or csv, the directory to export into (only batches not exported there yet)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("export", pos); err != nil {
		return err
	}
	switch *format {
	case "openmetrics", "prometheus":
	case "parquet", "csv":
		if *out == "-" {
			return usageError("export: --format %s writes tables into a directory: give it with --out DIR", *format)
		}
		for _, f := range []string{"by", "week-budget", "week-start", "config"} {
			if flagGiven(fs, f) {
				return usageError("export: --format %s keeps the records as they are (platforms at every level): --%s does not apply", *format, f)
			}
		}
		if !*demo {
			d, _ := filepath.Abs(*data)
			o, _ := filepath.Abs(*out)
			if rel, err := filepath.Rel(d, o); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
				return usageError("export: --out %s is inside the data directory %s: export elsewhere", *out, *data)
			}
		}
		fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
		if err != nil {
			return err
		}
		defer release()
		if os.Getenv("GOGC") == "" {
			// The export's live heap is its rows, held until written: a
			// 16 MiB growth floor (not 32) keeps its peak under 100 MiB
			// on the 20,000-batch benchmark history.
			memlimit.Growth(16<<20, 25)
		}
		res, err := warehouse.Export(fsys, name, *out, *format)
		if errors.Is(err, warehouse.ErrOtherExport) {
			return usageError("export: %v", err)
		}
		if err != nil {
			return err
		}
		warnProblems(stderr, "export", len(res.Problems)+res.Dropped, res.Problems)
		if res.Batches == 0 && res.Failures == 0 {
			fmt.Fprintf(stderr, "export: nothing new: %s holds every batch of %s\n", *out, name)
			return nil
		}
		fmt.Fprintf(stderr, "export: %d batches (%d batch-run rows, %d failures) into %d files under %s\n", res.Batches, res.Runs, res.Failures, len(res.Files), *out)
		if res.Orphans > 0 {
			fmt.Fprintf(stderr, "export: %d failure records name no recorded run: exported with their own batch ID and time\n", res.Orphans)
		}
		return nil
	default:
		return usageError("export: --format must be openmetrics, prometheus, parquet or csv, not %q", *format)
	}
	clock := time.Now().UTC()
	if *demo {
		clock = sample.Clock
	}
	co, err := week.checkOptions("export", fs, *by, clock)
	if err != nil {
		return err
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	e, err := analyze.Export(fsys, name, co.Report)
	if err != nil {
		return err
	}
	warnProblems(stderr, "export", e.Problems, e.FirstProblems)
	var c *analyze.Check
	if *format == "prometheus" {
		// The check's state now: its SLO windows and the macOS gate,
		// which the alert rules of batchsli rules read.
		if c, err = analyze.RunCheck(fsys, name, co); err != nil {
			return filterUsage("export", err)
		}
	}
	write := func(w io.Writer) error {
		if *format == "prometheus" {
			return render.PrometheusText(w, e, c)
		}
		return render.OpenMetrics(w, e)
	}
	if *out == "-" {
		return write(stdout)
	}
	return atomicfile.Write(*out, write)
}

// warnProblems says on stderr that the data has records the export left
// out, naming the first: the export still runs, as the report does.
func warnProblems(stderr io.Writer, cmd string, n int, first []reader.Problem) {
	if n == 0 {
		return
	}
	what := "records"
	if n == 1 {
		what = "record"
	}
	fmt.Fprintf(stderr, "%s: warning: %d %s left out as unreadable (batchsli validate lists them)", cmd, n, what)
	if len(first) > 0 {
		fmt.Fprintf(stderr, "; the first: %s", safetext.Escape(first[0].String()))
	}
	fmt.Fprintln(stderr)
}
