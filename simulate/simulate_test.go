package simulate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

func TestSimulateDeterministicAndShaped(t *testing.T) {
	o := Options{Batches: 40, Seed: 3, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	a, b := t.TempDir(), t.TempDir()
	if _, err := Write(a, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, o); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics/batch-runs.jsonl", "failures/homebrew.jsonl"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with one seed", f)
		}
	}
	if _, err := Write(a, o); err == nil {
		t.Error("simulate wrote over an existing history")
	}

	r := reader.New(os.DirFS(a), a, reader.DefaultOptions)
	ecos := map[string]bool{}
	n := 0
	r.Metrics(func(run *model.BatchRun) {
		n++
		ecos[run.Ecosystem] = true
		if len(run.Platforms) != 11 {
			t.Errorf("%s has %d platforms, want 11", run.BatchID, len(run.Platforms))
		}
		first := run.Platforms["linux-debian-glibc-x86_64"]
		if first.Skipped != 0 || first.Tested != run.Total {
			t.Errorf("%s: every recipe starts on Debian x86_64: %+v", run.BatchID, first)
		}
		for id, c := range run.Platforms {
			// Progressive validation: what failed first is skipped elsewhere.
			if id != "linux-debian-glibc-x86_64" && c.Skipped < first.Failed {
				t.Errorf("%s: %s skipped %d, fewer than the %d that failed first", run.BatchID, id, c.Skipped, first.Failed)
			}
		}
		if run.MacOSMinutesUsed == nil {
			t.Errorf("%s has no macOS minutes", run.BatchID)
		}
	})
	if n != o.Batches || len(ecos) < 5 {
		t.Errorf("%d batches over %d ecosystems", n, len(ecos))
	}
	if ps, _ := r.Problems(); len(ps) > 0 {
		t.Errorf("problems: %v", ps)
	}
}

// TestRegistryPool checks --recipes: draws spread over a registry-sized
// pool give many more distinct recipes than the default popular 4,000 per
// ecosystem, every one inside its ecosystem's share of the pool.
func TestRegistryPool(t *testing.T) {
	distinct := func(recipes int) (int, int) {
		o := DefaultOptions
		o.Batches, o.Seed, o.Recipes = 600, 5, recipes
		dir := t.TempDir()
		if _, err := Write(dir, o); err != nil {
			t.Fatal(err)
		}
		r := reader.New(os.DirFS(dir), dir, reader.DefaultOptions)
		seen := map[string]bool{}
		tests := 0
		if err := r.Outcomes(func(out *model.Outcomes) {
			for _, rc := range out.Recipes {
				seen[rc.PackageID] = true
				tests++
			}
		}); err != nil {
			t.Fatal(err)
		}
		if ps, _ := r.Problems(); len(ps) > 0 {
			t.Fatalf("problems: %v", ps)
		}
		return len(seen), tests
	}
	popular, _ := distinct(0)
	registry, tests := distinct(1_000_000)
	// Uniform draws from pools of 100,000 to 250,000 recipes repeat a
	// recipe almost only by retrying or re-validating it.
	if registry <= popular || registry*10 < tests*8 {
		t.Errorf("%d distinct recipes in %d recipe tests with a registry of 1,000,000; %d with the default pool", registry, tests, popular)
	}
	for _, c := range []struct {
		recipes int
		ok      bool
	}{{0, true}, {999, false}, {1000, true}, {100_000_000, true}, {100_000_001, false}, {-1, false}} {
		o := DefaultOptions
		o.Recipes = c.recipes
		if err := o.Validate(); (err == nil) != c.ok {
			t.Errorf("Recipes %d: Validate() = %v", c.recipes, err)
		}
	}
}
