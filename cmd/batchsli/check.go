package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing/fstest"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/sample"
)

// The check's exit status: 0 when macOS may run and every SLO is ok;
// otherwise checkFlagged plus a bit for each finding, so a shell can test
// them (README, "batchsli check").
const (
	checkFlagged     = 16
	checkMacOSSample = 1
	checkMacOSPause  = 2
	checkSLOWarn     = 4
	checkSLOBreach   = 8
)

// checkStatus is the check's exit status.
func checkStatus(c *analyze.Check) int {
	code := 0
	switch c.MacOS {
	case "sample":
		code |= checkMacOSSample
	case "pause":
		code |= checkMacOSPause
	}
	switch c.SLO {
	case analyze.StatusWarn:
		code |= checkSLOWarn
	case analyze.StatusBreach:
		code |= checkSLOBreach
	}
	if code != 0 {
		code |= checkFlagged
	}
	return code
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "check", "check [--data DIR | --demo] [--config FILE] [flags]", stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "check the sample history built into batchsli")
	cfgPath := fs.String("config", "", "configuration file (default: ./batchsli.toml when there is one; without one: a 1,000-minute macOS week, sample from 80% used, pause from 95%, no SLO)")
	now := fs.String("now", "", "the check's clock, RFC 3339 (default: now; with --demo, the sample's end)")
	by := fs.String("by", "env", "the level SLOs are evaluated at: family, env, job or os")
	budget := fs.Float64("week-budget", 1000, "weekly macOS budget in minutes")
	weekStart := fs.String("week-start", "monday", "the day budget weeks start on, at 00:00 UTC")
	format := fs.String("format", "text", "output format: text or json")
	look := addTextFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("check", pos); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError("check: --format must be text or json, not %q", *format)
	}
	clock := time.Now().UTC()
	if *demo {
		clock = sample.Clock
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return usageError("check: --now %q is not RFC 3339", *now)
		}
		clock = t.UTC()
	}
	o := analyze.DefaultCheckOptions(analyze.DefaultReportOptions(clock))
	lvl, ok := model.ParseLevel(*by)
	if !ok {
		return usageError("check: --by must be family, env, job or os, not %q", *by)
	}
	o.Report.By, o.Report.WeekBudget = lvl, *budget
	if o.Report.WeekStart, err = parseWeekday(*weekStart); err != nil {
		return usageError("check: %v", err)
	}
	cfg, _, found, err := loadConfig(*cfgPath)
	if err != nil {
		return usageError("check: %v", err)
	}
	if found {
		cfg.apply(&o, func(name string) bool { return flagGiven(fs, name) })
	}
	if err := o.Validate(); err != nil {
		return usageError("check: %v", err)
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	var ue *exitError
	if errors.As(err, &ue) && ue.code == 2 && strings.Contains(ue.msg, "there is no data directory") {
		// No data directory yet (a pipeline's first run): nothing is
		// used and nothing is breached; the gate lets the batch run.
		fsys, name, release, err = fstest.MapFS{}, *data+" (not there yet)", func() {}, nil
	}
	if err != nil {
		return err
	}
	defer release()
	c, err := analyze.RunCheck(fsys, name, o)
	if err != nil {
		return filterUsage("check", err)
	}
	if *format == "json" {
		err = render.JSON(stdout, c)
	} else {
		var text render.TextOptions
		if text, err = look.options("check", stdout); err != nil {
			return err
		}
		err = render.CheckText(stdout, c, text)
	}
	if err != nil {
		return err
	}
	if out := os.Getenv("GITHUB_OUTPUT"); out != "" {
		if err := appendTo(out, render.CheckOutputs(c), false); err != nil {
			return fmt.Errorf("check: writing $GITHUB_OUTPUT: %w", err)
		}
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" && *format == "text" {
		io.WriteString(stdout, render.CheckAnnotations(c))
	}
	if code := checkStatus(c); code != 0 {
		return &exitError{code: code}
	}
	return nil
}
