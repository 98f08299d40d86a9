package record

import (
	"bytes"
	"context"
	"github.com/batchsli/batchsli/reader"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
)

func FuzzResults(f *testing.F) {
	files, _ := filepath.Glob("../cmd/batchsli/testdata/results/*/*")
	if len(files) == 0 {
		f.Fatal("no seed results")
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseResults("r.json", bytes.NewReader(data))
		if err != nil {
			if len(rs) != 0 {
				t.Fatal("results returned with an error")
			}
			return
		}
		for _, r := range rs {
			if r.Recipe == "" || !model.ValidPlatformID(r.Platform) ||
				(r.Status != StatusPass && r.Status != StatusFail && r.Status != StatusSkipped) ||
				(r.Ecosystem != "" && !model.ValidEcosystem(r.Ecosystem)) ||
				(r.DurationSeconds != nil && *r.DurationSeconds < 0) || r.Attempts < 0 {
				t.Fatalf("invalid result accepted: %+v", r)
			}
		}
		o := DefaultOptions
		o.Ecosystem = "cargo"
		o.Timestamp = time.Date(2026, 1, 29, 10, 30, 0, 0, time.UTC)
		run, fails, outs, err := Build(rs, o)
		if err != nil {
			t.Fatal(err)
		}
		if why := outs.Disagrees(run); why != "" {
			t.Fatalf("the outcome record disagrees with the counts: %s", why)
		}
		var failed int64
		for id, c := range run.Platforms {
			if c.Passed+c.Failed != c.Tested || c.Tested+c.Skipped != run.Total {
				t.Fatalf("%s: counts %+v do not add up to total %d", id, c, run.Total)
			}
			failed += c.Failed
		}
		if failed != int64(len(fails)) {
			t.Fatalf("%d failed, %d failure records", failed, len(fails))
		}
	})
}

// FuzzRecordReadsBack: whatever results record accepts, what it writes
// reads back with no problem: one committed batch with the counts built,
// and every failure record counted.
func FuzzRecordReadsBack(f *testing.F) {
	files, _ := filepath.Glob("../cmd/batchsli/testdata/results/*/*")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, int64(0), "")
	}
	f.Add([]byte(`{"recipe":"a","platform":"darwin-arm64","status":"fail","duration_seconds":999999999,"message":"\u202e\u0000"}`), int64(1<<40), "darwin=1e9")
	f.Add([]byte(`{"recipe":"a","platform":"darwin-arm64","status":"pass","duration_seconds":6e8}
{"recipe":"b","platform":"darwin-arm64","status":"pass","duration_seconds":6e8}`), int64(-1), "")
	f.Fuzz(func(t *testing.T, data []byte, total int64, jobSeconds string) {
		rs, err := ParseResults("r.json", bytes.NewReader(data))
		if err != nil {
			return
		}
		o := DefaultOptions
		o.Ecosystem = "cargo"
		o.Timestamp = time.Date(2026, 1, 29, 10, 30, 0, 0, time.UTC)
		if total >= 0 {
			o.Total = total
		}
		if k, v, ok := strings.Cut(jobSeconds, "="); ok {
			if s, err := strconv.ParseFloat(v, 64); err == nil {
				o.JobSeconds = map[string]float64{k: s}
			}
		}
		if o.Validate() != nil {
			return
		}
		run, fails, outs, err := Build(rs, o)
		if err != nil {
			return
		}
		dir := t.TempDir()
		if _, err := Append(context.Background(), dir, run, fails, outs, AppendOptions{Rand: mathrand.NewChaCha8([32]byte{})}); err != nil {
			return // refused as a whole: nothing written is fine
		}
		r := reader.New(os.DirFS(dir), dir, reader.Options{})
		var runs []*model.BatchRun
		n := 0
		if err := r.Metrics(func(b *model.BatchRun) { runs = append(runs, b) }); err != nil {
			t.Fatal(err)
		}
		if err := r.Failures(func(*model.Failure) { n++ }); err != nil {
			t.Fatal(err)
		}
		var got []*model.Outcomes
		if err := r.Outcomes(func(o *model.Outcomes) { got = append(got, o) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].Recipes) != len(outs.Recipes) {
			t.Fatalf("the outcome record did not read back whole: %d records", len(got))
		}
		if why := got[0].Disagrees(runs[0]); why != "" {
			t.Fatalf("the outcome record read back disagrees with the batch: %s", why)
		}
		if ps, _ := r.Problems(); len(ps) > 0 {
			t.Fatalf("written records read back with problems: %v", ps)
		}
		if us, _ := r.Uncommitted(); len(us) > 0 || len(runs) != 1 || n != len(fails) {
			t.Fatalf("read back %d batches and %d of %d failures (%d uncommitted)", len(runs), n, len(fails), len(us))
		}
		for id, c := range run.Platforms {
			if got := runs[0].Platforms[id]; got.Tested != c.Tested || got.Failed != c.Failed {
				t.Fatalf("%s: read back %+v, built %+v", id, got, c)
			}
		}
	})
}
