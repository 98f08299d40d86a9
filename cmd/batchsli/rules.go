package main

import (
	"context"
	"io"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/atomicfile"
	"github.com/batchsli/batchsli/render"
)

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "rules", "rules [--config FILE] [--format FORMAT] [--out FILE]", stdout)
	cfgPath := fs.String("config", "", "configuration file: its [burn] rates and alpha set the alerts (default: ./batchsli.toml when there is one, else the defaults)")
	format := fs.String("format", "prometheus", "prometheus (a rule file: recording rules and multi-window burn-rate alerts) or grafana (a dashboard's JSON)")
	out := fs.String("out", "-", "write to `FILE` (written whole, then renamed into place) or - for standard output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("rules", pos); err != nil {
		return err
	}
	if *format != "prometheus" && *format != "grafana" {
		return usageError("rules: --format must be prometheus or grafana, not %q", *format)
	}
	o := analyze.DefaultCheckOptions(analyze.DefaultReportOptions(time.Now().UTC()))
	cfg, _, found, err := loadConfig(*cfgPath)
	if err != nil {
		return usageError("rules: %v", err)
	}
	if found {
		cfg.apply(&o, func(string) bool { return false })
	}
	if err := o.Validate(); err != nil {
		return usageError("rules: %v", err)
	}
	write := func(w io.Writer) error {
		if *format == "grafana" {
			return render.GrafanaDashboard(w)
		}
		return render.PrometheusRules(w, o.Burn)
	}
	if *out == "-" {
		return write(stdout)
	}
	return atomicfile.Write(*out, write)
}
