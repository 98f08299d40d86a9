package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/sample"
	"github.com/batchsli/batchsli/store"
)

// listFlag is a repeatable string flag; commas also separate values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// parseDate reads RFC 3339 or YYYY-MM-DD (00:00 UTC; with endOfDay, the
// day's last instant, so --until 2026-02-01 includes that day).
func parseDate(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	if endOfDay {
		t = t.Add(24*time.Hour - time.Nanosecond)
	}
	return t, nil
}

const reportSynopsis = "report [--data DIR | --demo] [flags]"

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "report", reportSynopsis, stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "report on the sample history built into batchsli")
	win := addWindowFlags(fs, windowHelp{
		last:  "keep the N most recent batches (default: the whole history)",
		since: "keep batches from this date (YYYY-MM-DD or RFC 3339)",
		until: "keep batches up to this date, inclusive",
		now:   "the report's clock, RFC 3339 (default: now; with --demo, the sample's end)",
	})
	format := fs.String("format", "text", "output format: text, markdown or json")
	week := addWeekFlags(fs, true)
	look := addTextFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("report", pos); err != nil {
		return err
	}
	o, err := win.options("report", fs, *demo, week)
	if err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return usageError("report: %v", err)
	}
	switch *format {
	case "text", "markdown", "json":
	default:
		return usageError("report: --format must be text, markdown or json, not %q", *format)
	}
	text, err := look.options("report", stdout)
	if err != nil {
		return err
	}
	if *format != "text" {
		text = render.TextOptions{}
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	// With --since and no --until the report depends on the clock, which
	// without --now is this instant: no later run could ask the same.
	clocked := *win.since != "" && *win.until == "" && *win.now == ""
	if *demo || clocked || os.Getenv("BATCHSLI_CACHE") == "off" {
		rep, err := analyze.BuildReport(fsys, name, o)
		if err != nil {
			return filterUsage("report", err)
		}
		return writeReport(stdout, *format, rep, text)
	}
	return filterUsage("report", cachedReport(stdout, fsys, name, *data, *format, text, o))
}

// windowFlags are the flags that choose a report's window, filters, level
// and clock (report and site).
type windowFlags struct {
	last                  *int
	since, until, by, now *string
	ecos, plats           listFlag
}

// windowHelp is the help of the flags whose meaning depends on the command.
type windowHelp struct{ last, since, until, now string }

func addWindowFlags(fs *flagSet, help windowHelp) *windowFlags {
	w := &windowFlags{
		last:  fs.Int("last", 0, help.last),
		since: fs.String("since", "", help.since),
		until: fs.String("until", "", help.until),
		by:    fs.String("by", "env", "roll platforms up to this level: family, env, job or os"),
		now:   fs.String("now", "", help.now),
	}
	fs.Var(&w.ecos, "ecosystem", "only this ecosystem (repeatable)")
	fs.Var(&w.plats, "platform", "only this platform, or every platform under it (repeatable)")
	return w
}

// options are the report options the flags give (the clock: --now, else
// the sample's end with --demo, else now), not yet validated as a whole.
func (w *windowFlags) options(cmd string, fs *flagSet, demo bool, week weekFlags) (analyze.ReportOptions, error) {
	clock := time.Now().UTC()
	if demo {
		clock = sample.Clock // the sample's own "now"
	}
	if *w.now != "" {
		t, err := time.Parse(time.RFC3339, *w.now)
		if err != nil {
			return analyze.ReportOptions{}, usageError("%s: --now %q is not RFC 3339", cmd, *w.now)
		}
		clock = t.UTC()
	}
	o := analyze.DefaultReportOptions(clock)
	o.Last, o.Ecosystems, o.Platforms = *w.last, w.ecos, w.plats
	if err := week.apply(cmd, fs, &o); err != nil {
		return o, err
	}
	if *w.last < 0 {
		return o, usageError("%s: --last must be a positive number of batches", cmd)
	}
	var err error
	if *w.since != "" {
		if o.Since, err = parseDate(*w.since, false); err != nil {
			return o, usageError("%s: --since %v", cmd, err)
		}
	}
	if *w.until != "" {
		if o.Until, err = parseDate(*w.until, true); err != nil {
			return o, usageError("%s: --until %v", cmd, err)
		}
	}
	lvl, ok := model.ParseLevel(*w.by)
	if !ok {
		return o, usageError("%s: --by must be family, env, job or os, not %q", cmd, *w.by)
	}
	o.By = lvl
	return o, nil
}

// filterUsage makes filters that match nothing in the data a usage error.
func filterUsage(cmd string, err error) error {
	var fe *analyze.FilterError
	if errors.As(err, &fe) {
		return usageError("%s: %v", cmd, fe)
	}
	return err
}

// writeReport renders rep in format.
func writeReport(w io.Writer, format string, rep *analyze.Report, text render.TextOptions) error {
	switch format {
	case "json":
		return render.JSON(w, rep)
	case "markdown":
		return render.ReportMarkdown(w, rep)
	default:
		return render.ReportText(w, rep, text)
	}
}

// The kinds of cache entries: a report rendered in one format, and the
// report itself (rendered in another format when asked).
const (
	reportCacheKind = "report"
	modelCacheKind  = "model"
)

// reportCacheHits counts the reports the cache answered (for tests).
var reportCacheHits int

// cachedReport writes the report through the data directory's cache
// (docs/STORAGE.md, "The cache"): a report rendered before from the same
// data files, program, options and output is completed for this run's
// clock instead of computed. Without a usable cache (a read-only checkout,
// a file system without file identities) it is computed as usual.
func cachedReport(w io.Writer, data fs.FS, name, dir, format string, text render.TextOptions, o analyze.ReportOptions) error {
	// A report that met a read error (too many open files, an I/O error)
	// may not read the same again: it is printed, not kept.
	fsys := store.Watch(data)
	fp, settled, err := store.Fingerprint(fsys, time.Now())
	var c *store.Cache
	var key []byte
	if err == nil {
		key, err = analyze.ReportKey(o, analyze.DataKey{Fingerprint: fp, Build: store.BuildID()})
	}
	var base []byte
	if err == nil {
		base = fmt.Appendf(key, "\nname %q", name)
		key = fmt.Appendf(slices.Clip(base), "\nformat %s color %t width %d", format, text.Color, text.Width)
		c = store.OpenCache(dir)
		defer c.Close()
		if payload, ok := c.Get(reportCacheKind, key); ok {
			if out, ok := fromCache(payload, o); ok {
				reportCacheHits++
				_, err := w.Write(out)
				return err
			}
		}
		// The same report kept for another format: rendered in this one.
		if payload, ok := c.Get(modelCacheKind, base); ok {
			if rep, runs, err := analyze.DecodeReport(payload); err == nil {
				if _, clocked, err := render.Report(format, rep, text); err == nil {
					if out, err := clocked.Render(o.Now, runs.Budget(o)); err == nil {
						if settled && fsys.Errors() == 0 {
							putClocked(c, key, runs, clocked)
						}
						reportCacheHits++
						_, err := w.Write(out)
						return err
					}
				}
			}
		}
	}
	rep, runs, err := analyze.BuildReportRuns(fsys, name, o)
	if err != nil {
		return err
	}
	out, clocked, err := render.Report(format, rep, text)
	if out == nil {
		return err
	}
	if err == nil && settled && c != nil && fsys.Errors() == 0 {
		putClocked(c, key, runs, clocked)
		if payload, ok := reportModel(rep, runs); ok {
			c.Put(modelCacheKind, base, payload)
		}
	}
	_, err = w.Write(out)
	return err
}

// putClocked keeps a rendered report for its format.
func putClocked(c *store.Cache, key []byte, runs *analyze.Runs, clocked *render.Clocked) {
	payload, _ := runs.AppendBinary(nil)
	if payload, err := clocked.AppendBinary(payload); err == nil {
		c.Put(reportCacheKind, key, payload)
	}
}

// reportModel encodes rep for the cache, if every format renders the
// decoded copy exactly as it renders rep.
func reportModel(rep *analyze.Report, runs *analyze.Runs) ([]byte, bool) {
	payload, err := analyze.EncodeReport(rep, runs)
	if err != nil {
		return nil, false
	}
	back, _, err := analyze.DecodeReport(payload)
	if err != nil {
		return nil, false
	}
	for _, f := range []struct {
		format string
		text   render.TextOptions
	}{{"text", render.TextOptions{}}, {"text", render.TextOptions{Color: true, Width: 80}}, {"markdown", render.TextOptions{}}, {"json", render.TextOptions{}}} {
		a, _, err1 := render.Report(f.format, rep, f.text)
		b, _, err2 := render.Report(f.format, back, f.text)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			return nil, false
		}
	}
	return payload, true
}

// fromCache completes a cached report for o's clock.
func fromCache(payload []byte, o analyze.ReportOptions) ([]byte, bool) {
	runs, rest, err := analyze.DecodeRuns(payload)
	if err != nil {
		return nil, false
	}
	clocked, rest, err := render.DecodeClocked(rest)
	if err != nil || len(rest) != 0 {
		return nil, false
	}
	out, err := clocked.Render(o.Now, runs.Budget(o))
	return out, err == nil
}

// parseWeekday reads a weekday name (monday, Mon, ...).
func parseWeekday(s string) (time.Weekday, error) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if l := strings.ToLower(s); l == name || l == name[:3] {
			return d, nil
		}
	}
	return 0, fmt.Errorf("--week-start %q is not a weekday", s)
}

// textFlags are the flags of the text output's look.
type textFlags struct {
	color *string
	width *int
	given func() bool // whether --width was given
}

// minWidth is the narrowest layout: a terminal narrower than that gets
// lines of this width (the terminal wraps them) rather than no report.
const minWidth = 40

func addTextFlags(fs *flagSet) textFlags {
	return textFlags{
		color: fs.String("color", "auto", "colour the text output: auto (on a terminal, unless NO_COLOR is set or TERM is dumb), always or never"),
		width: fs.Int("width", -1, "lay the text output out in this many columns, at least 40 (default: the terminal's width, else $COLUMNS, else no limit; 0: no limit)"),
		given: func() bool { return flagGiven(fs, "width") },
	}
}

// options resolves the flags for output to w.
func (t textFlags) options(cmd string, w io.Writer) (render.TextOptions, error) {
	var o render.TextOptions
	f, _ := w.(*os.File)
	term := f != nil && isTerminal(f)
	switch *t.color {
	case "always":
		o.Color = true
	case "never":
	case "auto":
		o.Color = colorAuto(term, os.Getenv)
	default:
		return o, usageError("%s: --color must be auto, always or never, not %q", cmd, *t.color)
	}
	switch {
	case *t.width < -1 || *t.width == -1 && t.given():
		return o, usageError("%s: --width must be a number of columns (0: no limit), not %d", cmd, *t.width)
	case *t.width >= 0:
		o.Width = *t.width
		if o.Width > 0 && o.Width < minWidth {
			return o, usageError("%s: --width %d is too narrow; give at least %d (or 0: no limit)", cmd, o.Width, minWidth)
		}
	case term && terminalWidth(f) > 0:
		o.Width = max(terminalWidth(f), minWidth)
	default:
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
			o.Width = max(n, minWidth)
		}
	}
	return o, nil
}

// colorAuto is --color=auto: colour on a terminal, unless NO_COLOR is set
// and not empty (no-color.org) or TERM is dumb; CLICOLOR_FORCE (set, not
// 0) colours even through a pipe.
func colorAuto(term bool, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	if f := getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	return term && getenv("TERM") != "dumb"
}
