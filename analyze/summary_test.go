package analyze

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
	"github.com/batchsli/batchsli/simulate"
)

// TestSummarySkipsOutcomesExactly: the summary of every batch of a
// simulated history, with problems in every kind of file, is the same
// whether or not the reports before and after the batch read the outcome
// records and the finest-level one the failure records, at the default
// level and at the family level; and the history has insights that come and
// go, so the comparison is not vacuous. The reports before and after the
// batch are then computed in one reading (buildReports): the comparison is
// with each report computed alone. It runs on a history whose batch records
// all count their infrastructure failures (the finest-level report leaves
// the failure records unread) and on one where some do not.
func TestSummarySkipsOutcomesExactly(t *testing.T) {
	for _, uncounted := range []bool{false, true} {
		t.Run(fmt.Sprintf("uncounted=%v", uncounted), func(t *testing.T) { summaryShortcuts(t, uncounted) })
	}
}

func summaryShortcuts(t *testing.T, uncounted bool) {
	dir := t.TempDir()
	so := simulate.DefaultOptions // with outcome records, as the CLI writes
	so.Batches, so.Seed = 80, 3
	so.Outages = 0.02 // incidents, which come and go
	// A regression the detector raises an alarm at.
	so.Changes = []simulate.Change{{Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: 0.4}}
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	if uncounted {
		// Every seventh batch record without its infrastructure counts.
		p := filepath.Join(dir, "metrics/batch-runs.jsonl")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		stripped := 0
		for i := range lines {
			if i%7 == 3 && strings.Contains(lines[i], `,"infrastructure":`) {
				lines[i] = regexp.MustCompile(`,"infrastructure":\d+`).ReplaceAllString(lines[i], "")
				stripped++
			}
		}
		if stripped == 0 {
			t.Fatal("no batch record lost its infrastructure counts")
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Problems in every kind of file: the summary counts them all, with or
	// without the shortcuts.
	for file, line := range map[string]string{
		"metrics/batch-runs.jsonl": `{"schema_version":2,"batch_id":"torn`,
		"failures/npm.jsonl":       `not json`,
		"outcomes/outcomes.jsonl":  `{"schema_version":2,"batch_id":"x","recipes":5}`,
	} {
		f, err := os.OpenFile(filepath.Join(dir, file), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line + "\n")
		f.Close()
	}
	var ids []string
	if err := reader.New(os.DirFS(dir), dir, reader.DefaultOptions).Metrics(func(b *model.BatchRun) { ids = append(ids, b.BatchID) }); err != nil {
		t.Fatal(err)
	}
	changes, finesRead, incidentChanges, alarms, transitions := 0, 0, 0, 0, 0
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
			if s.finestReadFailures {
				finesRead++
			}
			if b, _ := sum(false); a != b {
				t.Fatalf("batch %s by %v: the summary differs with the shortcuts:\n%s\n%s", id, by, a, b)
			}
			if s.Problems < 3 {
				t.Fatalf("batch %s by %v: %d problems counted, want the 3 written at least", id, by, s.Problems)
			}
			changes += len(s.NewInsights) + len(s.ClearedInsights)
			for _, in := range append(s.NewInsights, s.ClearedInsights...) {
				switch in.Kind {
				case KindIncident:
					incidentChanges++
				case KindRegression:
					alarms++
				}
			}
			transitions += len(s.Transitions)
		}
	}
	if changes == 0 || incidentChanges == 0 || alarms == 0 || transitions == 0 {
		t.Fatalf("%d insights came or went, %d of them incidents, %d regression alarms, %d transitions: the comparison proves too little", changes, incidentChanges, alarms, transitions)
	}
	if finesRead > 0 != uncounted {
		t.Fatalf("the finest-level report read the failure records for %d summaries, with uncounted infrastructure %v", finesRead, uncounted)
	}
}

// TestSummaryPrevious: the batch a summary compares with is the previous
// batch of its ecosystem that tested something, found from every record
// (here by brute force), whether the summary kept it from its first
// reading of the metrics (the newest batches) or read it again (older
// ones), and the batch described is the one named (or the newest).
func TestSummaryPrevious(t *testing.T) {
	dir := t.TempDir()
	so := simulate.DefaultOptions
	so.Batches, so.Seed = 40, 9
	if _, err := simulate.Write(dir, so); err != nil {
		t.Fatal(err)
	}
	var runs []*model.BatchRun
	if err := reader.New(os.DirFS(dir), dir, reader.DefaultOptions).Metrics(func(b *model.BatchRun) { runs = append(runs, b) }); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Timestamp.Before(runs[j].Timestamp) })
	compared := 0
	for i, b := range runs {
		if raceOn && i%4 != 0 {
			continue
		}
		want := ""
		var prev *model.BatchRun
		for j := i - 1; j >= 0; j-- {
			if runs[j].Ecosystem == b.Ecosystem && runs[j].Tested() > 0 {
				want, prev = runs[j].BatchID, runs[j]
				break
			}
		}
		o := DefaultSummaryOptions()
		o.BatchID = b.BatchID
		if i == len(runs)-1 {
			o.BatchID = "" // the newest
		}
		s, err := BuildSummary(os.DirFS(dir), dir, o)
		if err != nil {
			t.Fatal(err)
		}
		if s.BatchID != b.BatchID || s.Previous != want {
			t.Fatalf("summary of %s (named %q): batch %s, previous %q; want previous %q", b.BatchID, o.BatchID, s.BatchID, s.Previous, want)
		}
		for _, p := range s.Platforms {
			if prev == nil {
				break
			}
			if c, ok := prev.Platforms[p.Platform]; ok && c.Tested > 0 && p.Tested > 0 {
				compared++
				if p.PreviousTested != c.Tested {
					t.Fatalf("summary of %s, %s: previous tested %d, want %d", b.BatchID, p.Platform, p.PreviousTested, c.Tested)
				}
			}
		}
	}
	if compared == 0 {
		t.Fatal("no platform was compared with a previous batch")
	}
}
