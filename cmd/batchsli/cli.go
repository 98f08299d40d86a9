package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/record"
	"github.com/batchsli/batchsli/render"
	"github.com/batchsli/batchsli/sample"
	"github.com/batchsli/batchsli/store"
)

// exitError carries a process status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		writeUsage(stderr)
		return &exitError{code: 2}
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		return runHelp(ctx, rest, stdout, stderr)
	case "-version", "--version":
		return runVersion(ctx, rest, stdout, stderr)
	}
	c := findCommand(name)
	if c == nil && strings.HasPrefix(name, "-") {
		msg := fmt.Sprintf("unknown flag %s before a command", name)
		if s := nearest(strings.TrimLeft(name, "-"), []string{"help", "version"}); s != "" {
			msg += fmt.Sprintf("; did you mean --%s?", s)
		} else {
			msg += "; a command's flags follow it (batchsli report --data DIR)"
		}
		return usageError("%s ('batchsli help' lists the commands)", msg)
	}
	if c == nil {
		return unknownCommand(name)
	}
	return c.run(ctx, rest, stdout, stderr)
}

// jobSeconds is a repeatable PLATFORM=SECONDS flag.
type jobSeconds map[string]float64

func (j jobSeconds) String() string {
	keys := make([]string, 0, len(j))
	for k := range j {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, j[k]))
	}
	return strings.Join(parts, ",")
}

func (j jobSeconds) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want PLATFORM=SECONDS, got %q", s)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("%q: seconds must be a non-negative number", s)
	}
	if _, dup := j[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	j[k] = f
	return nil
}

// count is an optional non-negative integer flag.
type count struct {
	n   int64
	set bool
}

func (c *count) String() string {
	if !c.set {
		return ""
	}
	return strconv.FormatInt(c.n, 10)
}

func (c *count) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a non-negative whole number", s)
	}
	c.n, c.set = n, true
	return nil
}

func (c *count) value() int64 {
	if !c.set {
		return -1
	}
	return c.n
}

func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "record", "record --data DIR --ecosystem ECO [flags] RESULTS...", stdout)
	data := fs.String("data", "data", "data directory (metrics/ and failures/ are made inside)")
	eco := fs.String("ecosystem", "", "ecosystem of results that name none (required)")
	batchID := fs.String("batch-id", "", "batch ID (default: in GitHub Actions, one made from the run, so a retried step finds its batch; elsewhere YYYY-MM-DD-ECO- and a random suffix)")
	ts := fs.String("timestamp", "", "when the batch finished, RFC 3339 (default: now)")
	var total, generated, merged count
	fs.Var(&total, "total", "recipes in the batch (default: distinct recipes in the results)")
	fs.Var(&generated, "generated", "recipes generated (default: total)")
	fs.Var(&merged, "merged", "recipes merged (default: recipes that passed everywhere they were tested)")
	js := jobSeconds{}
	fs.Var(js, "job-seconds", "a validation job's time, PLATFORM=SECONDS (repeatable)")
	perRun := fs.Bool("per-run", false, "write one metrics and one failures file per batch instead of appending to shared files")
	summary := fs.String("summary", "", "append the batch's markdown summary to FILE (- for standard output; default: $GITHUB_STEP_SUMMARY when set)")
	week := addWeekFlags(fs, false)
	pushgateway := fs.String("pushgateway", "", "after recording, push the batch's figures to the Pushgateway at URL (http://host:9091), a group per ecosystem and platform; a failed push is a warning (status 4), never a failed batch")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *eco == "" {
		return usageError("record: --ecosystem is required")
	}
	if p := *pushgateway; p != "" && !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://") {
		return usageError("record: --pushgateway wants an http:// or https:// URL, not %q", p)
	}
	weekOpts := analyze.DefaultSummaryOptions().Report
	if err := week.apply("record", fs, &weekOpts); err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError("record: name at least one results file or folder")
	}
	when := time.Now().UTC()
	if *ts != "" {
		when, err = time.Parse(time.RFC3339, *ts)
		if err != nil {
			return usageError("record: --timestamp %q is not RFC 3339 (2026-01-29T10:30:00Z)", *ts)
		}
	}
	opts := record.DefaultOptions
	opts.Ecosystem, opts.BatchID, opts.Timestamp = *eco, *batchID, when
	opts.Total, opts.Generated, opts.Merged = total.value(), generated.value(), merged.value()
	opts.JobSeconds = js
	if err := opts.Validate(); err != nil {
		return usageError("record: %v", err)
	}
	// Results that cannot be read or recorded are problems in the data
	// (status 1, as the README documents).
	results, err := record.ReadResults(files)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("record: %v (nothing was recorded)", err)}
	}
	run, failures, outcomes, err := record.Build(results, opts)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("record: %v (nothing was recorded)", err)}
	}
	// The job summary's checkpoint is read while the batch is appended.
	ahead := readSummaryAhead(*data, *summary)
	defer func() { _, parts := ahead.take(); closeParts(parts) }()
	w, err := record.Append(ctx, *data, run, failures, outcomes, record.AppendOptions{PerRun: *perRun, Identity: record.CIIdentity(os.Getenv), TimestampGiven: *ts != "", Rand: entropy,
		NoCache: os.Getenv("BATCHSLI_CACHE") == "off"})
	if err != nil {
		return err
	}
	if w.Already {
		fmt.Fprintf(stdout, "batch %s is already recorded (%s) with the same results; nothing was written\n", w.BatchID, render.Clean(w.Where))
	} else if err := render.RecordAccount(stdout, run, len(failures), w); err != nil {
		return committedWarning(w.BatchID, err)
	}
	if err := githubStep(ctx, *data, w.BatchID, *summary, weekOpts, ahead, stdout); err != nil {
		return committedWarning(w.BatchID, err)
	}
	if *pushgateway != "" && !w.Already {
		if err := pushBatch(ctx, *pushgateway, run); err != nil {
			return committedWarning(w.BatchID, err)
		}
		fmt.Fprintf(stdout, "pushed the batch's figures to %s\n", render.Clean(redacted(*pushgateway)))
	}
	return nil
}

// entropy supplies attempt tokens and random batch IDs; tests replace it.
var entropy io.Reader = rand.Reader

// exitCommittedWarning is the status of a record run that committed its
// batch but could not write something after (the account, the summary, the
// step outputs): the batch is recorded, and a retry would say so.
const exitCommittedWarning = 4

func committedWarning(id string, err error) error {
	return &exitError{code: exitCommittedWarning, msg: fmt.Sprintf("warning: batch %s is recorded, but what follows the commit failed: %v", id, err)}
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags(ctx, "validate", "validate [--data DIR | --demo] [--format text|json]", stdout)
	data := flags.String("data", "data", "data directory")
	demo := flags.Bool("demo", false, "validate the sample history built into batchsli")
	format := flags.String("format", "text", "output format: text or json")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if err := noArgs("validate", pos); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError("validate: --format must be text or json, not %q", *format)
	}
	fsys, name, release, err := dataFS(ctx, flags, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	inv, err := analyze.Take(fsys, name)
	if err != nil {
		return err
	}
	if *format == "json" {
		err = render.JSON(stdout, inv)
	} else {
		err = render.InventoryText(stdout, inv)
	}
	if err != nil {
		return err
	}
	if !inv.OK() {
		return &exitError{code: 1}
	}
	return nil
}

// dataFS opens the data directory for reading (under its shared lock, see
// store.Open), or the built-in sample with --demo, which cannot be given
// with --data. A data directory that does not exist is a usage error that
// says how to name one. The caller calls release when done.
func dataFS(ctx context.Context, flags *flagSet, dir string, demo bool) (fsys fs.FS, name string, release func(), err error) {
	given := flagGiven(flags, "data")
	cmd := flags.Name()
	if demo {
		if given {
			return nil, "", nil, usageError("%s: --demo reads the sample built into batchsli; give it or --data, not both", cmd)
		}
		return sample.FS(), "(built-in sample)", func() {}, nil
	}
	fsys, release, err = store.Open(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		how := fmt.Sprintf("name one with --data DIR (the default is ./%s)", dir)
		if given {
			how = "check the path given to --data"
		}
		return nil, "", nil, usageError("%s: there is no data directory %s; %s, or try --demo for the sample built into batchsli", cmd, render.Clean(dir), how)
	}
	if err != nil {
		return nil, "", nil, err
	}
	return fsys, dir, release, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagGiven(flags *flagSet, name string) bool {
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
