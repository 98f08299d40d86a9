package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/memlimit"
	"github.com/batchsli/batchsli/site"
)

const siteSynopsis = "site [--data DIR | --demo] --out DIR [flags]"

func runSite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "site", siteSynopsis, stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "build the site of the sample history built into batchsli")
	out := fs.String("out", "", "the site's folder (replaced whole when batchsli wrote it before)")
	win := addWindowFlags(fs, windowHelp{
		last:  "the main window: the N most recent batches (default: the whole history)",
		since: "the main window: batches from this date (YYYY-MM-DD or RFC 3339)",
		until: "the main window: batches up to this date, inclusive",
		now:   "the site's clock, RFC 3339 (default: now; with --demo, the sample's end)",
	})
	weeks := fs.Int("weeks", 12, "calendar weeks in the trend and budget charts")
	recipes := fs.Int("recipe-pages", 1000, "the most recipe pages (recipes failing on the most platforms first)")
	batches := fs.Int("batch-pages", 50, "pages for the N newest batches")
	week := addWeekFlags(fs, true)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("site", pos); err != nil {
		return err
	}
	if *out == "" {
		return usageError("site: --out DIR is required (the folder to write the site into)")
	}
	o, err := win.options("site", fs, *demo, week)
	if err != nil {
		return err
	}
	so := analyze.DefaultSiteOptions(o)
	so.Weeks, so.MaxRecipes, so.Batches = *weeks, *recipes, *batches
	if err := so.Validate(); err != nil {
		return usageError("site: %v", err)
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	// The site holds the reports of its windows and weeks and renders a
	// thousand pages: its garbage is mostly short-lived page text. The
	// collector's usual growth (100%, not the report's 25%) and a 256 MiB
	// soft limit: on the popular benchmark history, 4.7 s and 242 MiB
	// instead of 6.2 s and 174 MiB (bench/site.sh).
	if os.Getenv("GOGC") == "" {
		memlimit.Growth(32<<20, 100)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		memlimit.Keep(256 << 20)
	}
	s, err := analyze.BuildSite(fsys, name, so)
	if err != nil {
		return filterUsage("site", err)
	}
	if err := site.Write(*out, s); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	fmt.Fprintf(stderr, "site: wrote %s (%d platforms, %d recipe pages, %d batch pages)\n", *out, len(s.Report.Platforms), len(s.Recipes), len(s.Batches))
	return nil
}
