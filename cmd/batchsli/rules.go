package main

import (
	"context"
	"io"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/sample"
)

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "rules", "rules [--data DIR | --demo] [--config FILE] [flags]", stdout)
	data := fs.String("data", "data", "data directory: it gives the platforms each SLO selects, and the batch cadence")
	demo := fs.Bool("demo", false, "generate for the sample history built into batchsli")
	cfgPath := fs.String("config", "", "configuration file with the SLOs and the macOS budget (default: ./batchsli.toml when there is one)")
	format := fs.String("format", "prometheus", "prometheus (a rule file: recording rules and multi-window burn-rate alerts) or grafana (a dashboard's JSON)")
	by := fs.String("by", "env", "the level SLOs are evaluated at: family, env, job or os")
	budget := fs.Float64("week-budget", 1000, "weekly macOS budget in minutes")
	interval := fs.Duration("batch-interval", 0, "the time between batches, which turns windows of batches into time (default: the median spacing of the last 100 batches)")
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
	if *interval < 0 || *interval > 0 && *interval < time.Minute {
		return usageError("rules: --batch-interval must be at least 1m")
	}
	clock := time.Now().UTC()
	if *demo {
		clock = sample.Clock
	}
	o := analyze.DefaultCheckOptions(analyze.DefaultReportOptions(clock))
	lvl, ok := model.ParseLevel(*by)
	if !ok {
		return usageError("rules: --by must be family, env, job or os, not %q", *by)
	}
	o.Report.By, o.Report.WeekBudget = lvl, *budget
	cfg, _, found, err := loadConfig(*cfgPath)
	if err != nil {
		return usageError("rules: %v", err)
	}
	if found {
		cfg.apply(&o, func(name string) bool { return flagGiven(fs, name) })
	}
	if err := o.Validate(); err != nil {
		return usageError("rules: %v", err)
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	p, err := analyze.PlanRules(fsys, name, o, *interval)
	if err != nil {
		return filterUsage("rules", err)
	}
	write := func(w io.Writer) error {
		if *format == "grafana" {
			return render.GrafanaDashboard(w, p)
		}
		return render.PrometheusRules(w, p)
	}
	if *out == "-" {
		return write(stdout)
	}
	return writeWhole(*out, write)
}
