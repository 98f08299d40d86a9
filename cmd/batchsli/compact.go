package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/batchsli/batchsli/compact"
	"github.com/batchsli/batchsli/render"
)

// compactClock is the time that names the quarantine file; tests fix it.
var compactClock = time.Now

func runCompact(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "compact", "compact --data DIR", stdout)
	data := fs.String("data", "data", "data directory to rewrite in place")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("compact", pos); err != nil {
		return err
	}
	res, err := compact.Run(ctx, *data, compactClock())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compacted %s: %d files became %d; %d batch runs and %d failure records, verified the same\n",
		render.Clean(*data), res.FilesBefore, res.FilesAfter, res.BatchRuns, res.FailureRecords)
	if res.Quarantined > 0 {
		fmt.Fprintf(stdout, "moved aside %d stretches of uncommitted or unreadable lines into %s\n", res.Quarantined, render.Clean(res.QuarantineFile))
	}
	if n := len(res.CarriedOver); n > 0 {
		what := "entries"
		if n == 1 {
			what = "entry"
		}
		fmt.Fprintf(stdout, "kept %d %s as they were (not data files, or not readable): see batchsli validate\n", n, what)
	}
	return nil
}
