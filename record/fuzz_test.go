package record

import (
	"bytes"
	"os"
	"path/filepath"
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
		run, fails, err := Build(rs, o)
		if err != nil {
			t.Fatal(err)
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
