package main

import (
	"context"
	"fmt"
	"io"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/render"
)

const recipeSynopsis = "recipe [--data DIR | --demo] [--format text|json] ID"

// runRecipe shows one recipe's history across batches and platforms.
func runRecipe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(ctx, "recipe", recipeSynopsis, stdout)
	data := fs.String("data", "data", "data directory")
	demo := fs.Bool("demo", false, "read the sample history built into batchsli")
	format := fs.String("format", "text", "output format: text or json")
	excerpt := fs.Int("excerpt", 300, "longest message excerpt shown, in bytes")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("recipe: give one recipe: a package ID (eco:name) or a name")
	}
	if *format != "text" && *format != "json" {
		return usageError("recipe: --format must be text or json, not %q", *format)
	}
	if *excerpt < 16 {
		return usageError("recipe: --excerpt must be at least 16")
	}
	fsys, name, release, err := dataFS(ctx, fs, *data, *demo)
	if err != nil {
		return err
	}
	defer release()
	v, err := analyze.BuildRecipeView(fsys, name, pos[0], *excerpt)
	if err != nil {
		return fmt.Errorf("recipe: %w", err)
	}
	if *format == "json" {
		return render.JSON(stdout, v)
	}
	return render.RecipeText(stdout, v)
}
