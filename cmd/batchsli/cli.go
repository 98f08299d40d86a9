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

const usage = `batchsli: per-platform SLI metrics for batch recipe generation

Usage:
  batchsli record   --data DIR --ecosystem ECO [flags] RESULTS...   append a batch's records
  batchsli report   [--data DIR | --demo] [flags]                    per-platform SLIs across runs
  batchsli summary  [--data DIR | --demo] [--batch-id ID]            one batch's job summary (markdown)
  batchsli recipe   [--data DIR | --demo] ID                         one recipe's history across batches
  batchsli validate [--data DIR | --demo] [--format text|json]       check a data directory
  batchsli compact  --data DIR                                       rewrite the data into canonical files
  batchsli simulate --out DIR [--batches N] [--seed S]               write a realistic history
  batchsli version

Run 'batchsli COMMAND -h' for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		io.WriteString(stderr, usage)
		return &exitError{code: 2}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "record":
		return runRecord(ctx, rest, stdout, stderr)
	case "validate":
		return runValidate(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "compact":
		return runCompact(ctx, rest, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, rest, stdout, stderr)
	case "summary":
		return runSummary(ctx, rest, stdout, stderr)
	case "recipe":
		return runRecipe(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "batchsli", version)
		return nil
	case "help", "-h", "-help", "--help":
		io.WriteString(stdout, usage)
		return nil
	default:
		io.WriteString(stderr, usage)
		return usageError("unknown command %q", cmd)
	}
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: batchsli %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, mapping flag errors to usage errors. Flags may
// follow positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &exitError{code: 0}
			}
			return nil, &exitError{code: 2}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
	fs := newFlags("record", "record --data DIR --ecosystem ECO [flags] RESULTS...", stderr)
	data := fs.String("data", "data", "data directory (metrics/ and failures/ are made inside)")
	eco := fs.String("ecosystem", "", "ecosystem of results that name none (required)")
	batchID := fs.String("batch-id", "", "batch ID (default: YYYY-MM-DD-ECO-NNN, the next free number)")
	ts := fs.String("timestamp", "", "when the batch finished, RFC 3339 (default: now)")
	var total, generated, merged count
	fs.Var(&total, "total", "recipes in the batch (default: distinct recipes in the results)")
	fs.Var(&generated, "generated", "recipes generated (default: total)")
	fs.Var(&merged, "merged", "recipes merged (default: recipes that passed everywhere they were tested)")
	js := jobSeconds{}
	fs.Var(js, "job-seconds", "a validation job's time, PLATFORM=SECONDS (repeatable)")
	perRun := fs.Bool("per-run", false, "write one metrics and one failures file per batch instead of appending to shared files")
	summary := fs.String("summary", "", "append the batch's markdown summary to FILE (- for standard output; default: $GITHUB_STEP_SUMMARY when set)")
	budget := fs.Float64("week-budget", 1000, "weekly macOS budget in minutes, for the summary")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *eco == "" {
		return usageError("record: --ecosystem is required")
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
	results, err := record.ReadResults(files)
	if err != nil {
		return fmt.Errorf("record: %w (nothing was recorded)", err)
	}
	run, failures, outcomes, err := record.Build(results, opts)
	if err != nil {
		return fmt.Errorf("record: %w (nothing was recorded)", err)
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
	if err := githubStep(ctx, *data, w.BatchID, *summary, *budget, ahead, stdout); err != nil {
		return committedWarning(w.BatchID, err)
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
	flags := newFlags("validate", "validate [--data DIR | --demo] [--format text|json]", stderr)
	data := flags.String("data", "data", "data directory")
	demo := flags.Bool("demo", false, "validate the sample history built into batchsli")
	format := flags.String("format", "text", "output format: text or json")
	if _, err := parseFlags(flags, args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError("validate: --format must be text or json, not %q", *format)
	}
	fsys, name, release, err := dataFS(ctx, *data, *demo)
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
// store.Open), or the built-in sample. The caller calls release when done.
func dataFS(ctx context.Context, dir string, demo bool) (fsys fs.FS, name string, release func(), err error) {
	if demo {
		return sample.FS(), "(built-in sample)", func() {}, nil
	}
	fsys, release, err = store.Open(ctx, dir)
	if err != nil {
		return nil, "", nil, err
	}
	return fsys, dir, release, nil
}
