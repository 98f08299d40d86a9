package analyze

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/batchsli/batchsli/simulate"
)

var checkpointLong = flag.Bool("checkpoint-long", false, "check the summary's checkpoint on longer simulated histories")

// historyByBatch reads a data directory into its files' lines, each with
// the batch it belongs to (the batch-run records' order).
type historyByBatch struct {
	ids   []string // batches in the order of their batch-run records
	files map[string][]batchLine
}

type batchLine struct {
	batch int
	text  []byte
}

func readHistoryByBatch(t *testing.T, dir string) *historyByBatch {
	t.Helper()
	h := &historyByBatch{files: map[string][]batchLine{}}
	at := map[string]int{}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The batch-run records first: they number the batches.
	for pass := range 2 {
		for _, p := range paths {
			rel, _ := filepath.Rel(dir, p)
			if (strings.HasPrefix(rel, "metrics/")) != (pass == 0) {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range bytes.SplitAfter(data, []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				var rec struct {
					BatchID string `json:"batch_id"`
				}
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatal(err)
				}
				if pass == 0 {
					at[rec.BatchID] = len(h.ids)
					h.ids = append(h.ids, rec.BatchID)
				}
				i, ok := at[rec.BatchID]
				if !ok {
					t.Fatalf("%s: a record of unknown batch %s", rel, rec.BatchID)
				}
				h.files[filepath.ToSlash(rel)] = append(h.files[filepath.ToSlash(rel)], batchLine{i, line})
			}
		}
	}
	return h
}

// upTo is the data as it stood once the first k batches were recorded.
func (h *historyByBatch) upTo(k int) fstest.MapFS {
	m := fstest.MapFS{}
	for p, lines := range h.files {
		var b []byte
		for _, l := range lines {
			if l.batch < k {
				b = append(b, l.text...)
			}
		}
		if len(b) > 0 {
			m[p] = &fstest.MapFile{Data: b, Mode: 0o644}
		}
	}
	return m
}

func summaryJSON(t *testing.T, s *Summary) string {
	t.Helper()
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSummaryFromCheckpoint: the job summary of each batch of simulated
// histories, recorded one batch after another, is the same extended from
// the checkpoint the summary of the batch before left as computed from the
// whole history; and every one after the first is extended.
func TestSummaryFromCheckpoint(t *testing.T) {
	batches := 90
	if *checkpointLong {
		batches = 400
	}
	for _, o := range []simulate.Options{
		{Batches: batches, Seed: 17, ICC: 0.02, Retests: true, Shared: 0.9, Flaky: 0.01, FlakeRate: 0.6, Outages: 0.03, MixDrift: true,
			Changes:   []simulate.Change{{Platform: "linux-rhel-glibc-arm64", At: 0.3, Drop: 0.2}, {Platform: "linux-debian-glibc-x86_64", At: 0.5, Drop: -0.25}},
			FlakyFrom: []simulate.FlakyChange{{Platform: "linux-alpine-musl-x86_64", At: 0.5, Share: 0.3}}},
		{Batches: batches, Seed: 5, Retests: true, Flaky: 0.02, FlakeRate: 0.3, Recipes: 3000, VersionEvery: 30},
	} {
		o.Start = simulate.DefaultOptions.Start
		dir := t.TempDir()
		if _, err := simulate.Write(dir, o); err != nil {
			t.Fatal(err)
		}
		h := readHistoryByBatch(t, dir)
		so := DefaultSummaryOptions()
		var cp []byte
		before := summariesExtended.Load()
		alarms, transitions, incidents := 0, 0, 0
		for k := 1; k <= len(h.ids); k++ {
			fsys := h.upTo(k)
			want, err := BuildSummary(fsys, "data", so)
			if err != nil {
				t.Fatal(err)
			}
			got, next, err := BuildSummaryFrom(fsys, "data", so, cp)
			if err != nil {
				t.Fatal(err)
			}
			if w, g := summaryJSON(t, want), summaryJSON(t, got); w != g {
				t.Fatalf("seed %d, batch %d (%s): the summary from the checkpoint differs:\n%s", o.Seed, k, h.ids[k-1], lineDiff(w, g))
			}
			if next == nil {
				t.Fatalf("seed %d, batch %d: no checkpoint", o.Seed, k)
			}
			cp = next
			for _, in := range want.NewInsights {
				switch in.Kind {
				case KindRegression:
					alarms++
				case KindIncident:
					incidents++
				}
			}
			transitions += len(want.Transitions)
		}
		if n := summariesExtended.Load() - before; n != int64(len(h.ids)-1) {
			t.Errorf("seed %d: %d of %d summaries extended", o.Seed, n, len(h.ids)-1)
		}
		t.Logf("seed %d: %d batches, %d alarms, %d incidents, %d transitions", o.Seed, len(h.ids), alarms, incidents, transitions)
		if o.Seed == 17 && (alarms == 0 || incidents == 0 || transitions == 0) {
			t.Errorf("the history holds too little to test: %d alarms, %d incidents, %d transitions", alarms, incidents, transitions)
		}
	}
}

// lineDiff shows the first lines where a and b differ.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			lo := max(0, i-3)
			return "want:\n" + strings.Join(al[lo:min(len(al), i+4)], "\n") + "\ngot:\n" + strings.Join(bl[lo:min(len(bl), i+4)], "\n")
		}
	}
	return "lengths differ"
}
