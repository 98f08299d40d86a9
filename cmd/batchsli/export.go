package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/sample"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "export", "export [--data DIR | --demo] [--format FORMAT] [flags]", stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "export the sample history built into batchsli")
	format := fs.String("format", "openmetrics", "openmetrics (every batch, with timestamps, for promtool tsdb create-blocks-from openmetrics) or prometheus (the latest values, for a textfile collector)")
	by := fs.String("by", "env", "the platforms' level: family, env, job or os")
	out := fs.String("out", "-", "write to `FILE` (written whole, then renamed into place) or - for standard output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("export", pos); err != nil {
		return err
	}
	if *format != "openmetrics" && *format != "prometheus" {
		return usageError("export: --format must be openmetrics or prometheus, not %q", *format)
	}
	lvl, ok := model.ParseLevel(*by)
	if !ok {
		return usageError("export: --by must be family, env, job or os, not %q", *by)
	}
	clock := time.Now().UTC()
	if *demo {
		clock = sample.Clock
	}
	o := analyze.DefaultReportOptions(clock)
	o.By = lvl
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	e, err := analyze.Export(fsys, name, o)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		if *format == "prometheus" {
			return render.PrometheusText(w, e)
		}
		return render.OpenMetrics(w, e)
	}
	if *out == "-" {
		return write(stdout)
	}
	return writeWhole(*out, write)
}

// writeWhole writes a file through a temporary file in its folder, renamed
// into place once complete: a reader (a textfile collector) never sees
// half of it.
func writeWhole(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".batchsli-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
