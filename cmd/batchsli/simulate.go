package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/batchsli/batchsli/simulate"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "simulate", "simulate --out DIR [flags]", stdout)
	out := fs.String("out", "", "data directory to write (must hold no records yet)")
	batches := fs.Int("batches", simulate.DefaultOptions.Batches, "number of batches")
	recipes := fs.Int("recipes", 0, "registry size: draw each batch's recipes uniformly from N recipes (0: 4,000 per ecosystem, popular ones more often)")
	seed := fs.Uint64("seed", simulate.DefaultOptions.Seed, "random seed: the same seed writes the same history")
	start := fs.String("start", simulate.DefaultOptions.Start.Format(time.RFC3339), "time of the first batch")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("simulate", pos); err != nil {
		return err
	}
	if *out == "" {
		return usageError("simulate: --out is required")
	}
	o := simulate.DefaultOptions
	o.Batches, o.Seed, o.Recipes = *batches, *seed, *recipes
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return usageError("simulate: --start %q is not RFC 3339", *start)
	}
	o.Start = t.UTC()
	if err := o.Validate(); err != nil {
		return usageError("simulate: %v", err)
	}
	last, err := simulate.Write(*out, o)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d batches to %s (last batch at %s)\n", o.Batches, *out, last.Format(time.RFC3339))
	return nil
}
