//go:build linux

package record

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
)

// TestOutcomePlatformBound: a batch whose outcome record would list more
// platforms than readers index is refused, and nothing is written.
func TestOutcomePlatformBound(t *testing.T) {
	for _, n := range []int{model.MaxOutcomePlatforms, model.MaxOutcomePlatforms + 1} {
		dir := t.TempDir()
		ts := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
		run := &model.BatchRun{SchemaVersion: model.SchemaVersion, Ecosystem: "cargo", Total: 1, Timestamp: ts, Platforms: map[string]model.Counts{}}
		out := &model.Outcomes{SchemaVersion: model.SchemaVersion, Timestamp: ts,
			Recipes: []model.RecipeOutcome{{PackageID: "cargo:a", Codes: strings.Repeat("P", n)}}}
		for i := range n {
			p := fmt.Sprintf("linux-p%d", i)
			run.Platforms[p] = model.Counts{Tested: 1, Passed: 1, SkippedKnown: true}
			out.Platforms = append(out.Platforms, p)
		}
		_, err := Append(context.Background(), dir, run, nil, out, AppendOptions{})
		if n <= model.MaxOutcomePlatforms {
			if err != nil {
				t.Fatalf("%d platforms: %v", n, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "at most 256") || !strings.Contains(err.Error(), "nothing was recorded") {
			t.Fatalf("%d platforms: %v", n, err)
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
				if st, _ := os.Stat(p); st.Size() > 0 {
					t.Errorf("%s written", p)
				}
			}
			return nil
		})
	}
}
