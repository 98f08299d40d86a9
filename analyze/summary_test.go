package analyze

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/simulate"
)

// TestSummarySkipsOutcomesExactly: the summary of every batch of a
// simulated history is the same whether the reports before and after the
// batch read the outcome records or not, at the default level and at the
// family level; and the history has insights that come and go, so the
// comparison is not vacuous.
func TestSummarySkipsOutcomesExactly(t *testing.T) {
	dir := t.TempDir()
	if _, err := simulate.Write(dir, simulate.Options{Batches: 80, Seed: 3, Start: simulate.DefaultOptions.Start}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := reader.New(os.DirFS(dir), dir, reader.DefaultOptions).Metrics(func(b *model.BatchRun) { ids = append(ids, b.BatchID) }); err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, by := range []model.Level{model.LevelEnv, model.LevelFamily} {
		for i, id := range ids {
			// Under the race detector (ten times slower), a sample.
			if by == model.LevelFamily && i%4 != 0 || raceOn && i%5 != 0 {
				continue
			}
			o := DefaultSummaryOptions()
			o.BatchID = id
			o.Report.By = by
			o.Report.Now = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			sum := func(skip bool) (string, *Summary) {
				summarySkipsOutcomes = skip
				defer func() { summarySkipsOutcomes = true }()
				s, err := BuildSummary(os.DirFS(dir), dir, o)
				if err != nil {
					t.Fatal(err)
				}
				out, _ := json.Marshal(s)
				return string(out), s
			}
			a, s := sum(true)
			if b, _ := sum(false); a != b {
				t.Fatalf("batch %s by %v: the summary differs when the outcome records are skipped", id, by)
			}
			changes += len(s.NewInsights) + len(s.ClearedInsights)
		}
	}
	if changes == 0 {
		t.Fatal("no insight came or went: the comparison proves nothing")
	}
}
