package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/simulate"
	"github.com/batchsli/batchsli/store"
)

// TestRecordSummaryCheckpoint: record --summary keeps the job summary's
// checkpoint in the data directory's cache; the next record's summary is
// extended from it and writes what the summary computed from the whole
// history writes.
func TestRecordSummaryCheckpoint(t *testing.T) {
	t.Setenv("BATCHSLI_CACHE", "")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	// A registry's draw: enough recipes x platforms and gaps for the
	// checkpoint to keep them in lower parts, stored in blocks.
	o := simulate.DefaultOptions
	o.Batches, o.Seed, o.Recipes = 100, 7, 20000
	if _, err := simulate.Write(data, o); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if i == 3 {
			// A block of each part stored in blocks damaged: the
			// summary reads it, sees it, and is computed whole.
			damageBlocks(t, data)
		}
		got := filepath.Join(tmp, fmt.Sprintf("got%d.md", i))
		before := summariesExtended
		// Recipes not recorded before from the fourth on: looked up in
		// the lower parts.
		results := []string{batch1, batch1, batch1, "testdata/results/history/batch2.json", "testdata/results/history/batch3.json"}[i]
		res := cli(t, "record", "--data", data, "--ecosystem", "npm", "--timestamp", fmt.Sprintf("2026-04-0%dT00:00:00Z", i+1), "--summary", got, results)
		if res.code != 0 {
			t.Fatal(res.stderr)
		}
		if n := summariesExtended - before; n != min(i, 1) && i != 3 || i == 3 && n != 0 {
			t.Errorf("record %d: %d summaries extended", i, n)
		}
		t.Setenv("BATCHSLI_CACHE", "off")
		want := filepath.Join(tmp, fmt.Sprintf("want%d.md", i))
		if res := cli(t, "summary", "--data", data, "--output", want); res.code != 0 {
			t.Fatal(res.stderr)
		}
		t.Setenv("BATCHSLI_CACHE", "")
		g, _ := os.ReadFile(got)
		w, _ := os.ReadFile(want)
		if string(g) != string(w) || len(g) == 0 {
			t.Errorf("record %d: the summary from the checkpoint differs from the whole history's:\n%s\n---\n%s", i, g, w)
		}
	}
	for _, kind := range []string{"summary", "sumbase", "pairbase", "gapbase"} {
		if m, _ := filepath.Glob(filepath.Join(data, ".batchsli.cache", kind+"-*")); len(m) != 1 {
			t.Errorf("%s entries in the cache: %v", kind, m)
		}
	}
}

// damageBlocks changes, in each of the checkpoint's parts stored in
// blocks, the last byte of the middle name (where every lookup starts:
// the change leaves the part well formed, so only the block's checksum
// shows it), leaving the entries' heads sound.
func damageBlocks(t *testing.T, data string) {
	t.Helper()
	le := binary.LittleEndian
	// Each part's payload: magic and token, then its counts (the names'
	// and the versions'), the names' ends after all the counts, and the
	// names after the ends (analyze/sumpairs.go, analyze/sumgaps.go).
	for kind, counts := range map[string]int{"pairbase": 5, "gapbase": 4} {
		m, _ := filepath.Glob(filepath.Join(data, ".batchsli.cache", kind+"-*"))
		if len(m) != 1 {
			t.Fatalf("%s entries: %v", kind, m)
		}
		b, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		// The head: magic, key hash, payload length, block size, a
		// checksum a block, its checksum (store/blocks.go).
		head := 0
		for n := len(b); ; {
			h := len("batchsli-blocks 1\n") + 32 + len(binary.AppendUvarint(nil, uint64(n))) + len(binary.AppendUvarint(nil, store.BlockSize)) + 8*((n+store.BlockSize-1)/store.BlockSize) + 8
			if h+n == len(b) {
				head = h
				break
			}
			if n--; n < 0 {
				t.Fatalf("%s: no head found", m[0])
			}
		}
		p := b[head:]
		n := int(le.Uint32(p[21:]))
		ends := 21 + 4*counts
		names := ends + 8*n
		if kind == "pairbase" {
			names += 4 * int(le.Uint32(p[29:])) // the versions' ends
		}
		end := int(le.Uint32(p[ends+4*(n/2):]))
		p[names+end-1] ^= 1
		if err := os.WriteFile(m[0], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// summaryJSONs is the newest batch's summary as JSON, from the checkpoint
// (cache on) and computed whole (cache off), and how many summaries were
// extended.
func summaryJSONs(t *testing.T, data string) (cached, whole string, extended int) {
	t.Helper()
	before := summariesExtended
	c := cli(t, "summary", "--data", data, "--format", "json")
	t.Setenv("BATCHSLI_CACHE", "off")
	w := cli(t, "summary", "--data", data, "--format", "json")
	t.Setenv("BATCHSLI_CACHE", "")
	if c.code != 0 || w.code != 0 {
		t.Fatalf("summary: %s %s", c.stderr, w.stderr)
	}
	return c.stdout, w.stdout, summariesExtended - before
}

// TestSummaryCheckpointSameTime: a batch recorded with the time of the
// newest one (matrix legs given one --timestamp) is ordered among them by
// where its record is read, which the checkpoint cannot know: the next
// summary is computed whole, not extended.
func TestSummaryCheckpointSameTime(t *testing.T) {
	t.Setenv("BATCHSLI_CACHE", "")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	hist := filepath.Join("testdata", "results", "history")
	got := filepath.Join(tmp, "got.md")
	for _, r := range []struct{ id, ts, file string }{
		{"m-b", "2040-01-01T00:00:00Z", "batch1.json"},
		{"m-a", "2040-01-01T00:00:00Z", "batch2.json"},
		{"m-c", "2040-01-02T00:00:00Z", "batch3.json"},
	} {
		os.Remove(got)
		res := cli(t, "record", "--data", data, "--per-run", "--ecosystem", "npm", "--batch-id", r.id, "--timestamp", r.ts,
			"--summary", got, filepath.Join(hist, r.file))
		if res.code != 0 {
			t.Fatal(res.stderr)
		}
	}
	// m-c's summary, as record wrote it and computed whole: against m-b,
	// the batch before it in the history's order (m-a's record is read
	// first: batch-runs-m-a.jsonl).
	t.Setenv("BATCHSLI_CACHE", "off")
	want := filepath.Join(tmp, "want.md")
	if res := cli(t, "summary", "--data", data, "--output", want); res.code != 0 {
		t.Fatal(res.stderr)
	}
	g, _ := os.ReadFile(got)
	w, _ := os.ReadFile(want)
	if string(g) != string(w) {
		t.Errorf("m-c's summary differs from the whole history's:\n%s\n---\n%s", g, w)
	}
	if !strings.Contains(string(w), "m\\-b") && !strings.Contains(string(w), "m-b") {
		t.Errorf("m-c is not compared with m-b:\n%.600s", w)
	}
}

// TestSummaryCheckpointUncommittedOutcomes: an outcome record whose batch
// was not committed when a checkpoint was made (a record that died before
// its commit) is counted once its batch-run record appears: no checkpoint
// covers it.
func TestSummaryCheckpointUncommittedOutcomes(t *testing.T) {
	t.Setenv("BATCHSLI_CACHE", "")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	passes := filepath.Join(tmp, "pass.json")
	os.WriteFile(passes, []byte(`[{"recipe":"a","platform":"linux-debian-glibc-x86_64","status":"pass","recipe_version":"1.0","attempts":1},
 {"recipe":"b","platform":"linux-debian-glibc-x86_64","status":"pass","recipe_version":"1.0","attempts":1},
 {"recipe":"c","platform":"linux-debian-glibc-x86_64","status":"pass","recipe_version":"1.0","attempts":1},
 {"recipe":"b","platform":"darwin-arm64","status":"pass","recipe_version":"1.0","attempts":1}]`), 0o644)
	for _, r := range [][3]string{{"b1", "2040-01-01T00:00:00Z", filepath.Join("testdata", "results", "history", "batch1.json")}, {"x", "2040-01-02T00:00:00Z", passes}} {
		if res := cli(t, "record", "--data", data, "--ecosystem", "npm", "--batch-id", r[0], "--timestamp", r[1], r[2]); res.code != 0 {
			t.Fatal(res.stderr)
		}
	}
	// x's batch-run record taken away (as if its record died before the
	// commit), summarized, then put back.
	metrics := filepath.Join(data, "metrics", "batch-runs.jsonl")
	b, _ := os.ReadFile(metrics)
	cut := strings.LastIndex(strings.TrimSuffix(string(b), "\n"), "\n") + 1
	os.WriteFile(metrics, b[:cut], 0o644)
	if res := cli(t, "summary", "--data", data, "--format", "json"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	os.WriteFile(metrics, b, 0o644)
	c, w, _ := summaryJSONs(t, data)
	if c != w {
		t.Errorf("the summary differs from the whole history's:\n%s\n---\n%s", c, w)
	}
	if !strings.Contains(w, `"outcomes": true`) || !strings.Contains(w, `"kind": "newly_fixed"`) {
		t.Errorf("x's outcome record is not counted:\n%.600s", w)
	}
}

// TestRetryWithCheckpoint: a batch-run record read after the checkpoint of
// batch IDs takes the place of the checkpoint's record of its ID (the
// first in file and line order counts) in every question record asks of
// it: here a copy without a digest, in a file read first, so that a record
// of the same results is a new batch, with the checkpoint as without.
func TestRetryWithCheckpoint(t *testing.T) {
	t.Setenv("BATCHSLI_CACHE", "")
	tmp := t.TempDir()
	hist := filepath.Join("testdata", "results", "history")
	data := filepath.Join(tmp, "data")
	for i, f := range []string{"batch1.json", "batch2.json"} {
		if res := cli(t, "record", "--data", data, "--ecosystem", "npm", "--timestamp", fmt.Sprintf("2040-01-0%dT00:00:00Z", i+1), filepath.Join(hist, f)); res.code != 0 {
			t.Fatal(res.stderr)
		}
	}
	b, _ := os.ReadFile(filepath.Join(data, "metrics", "batch-runs.jsonl"))
	first, _, _ := strings.Cut(string(b), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(first), &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "digest")
	line, _ := json.Marshal(rec)
	os.WriteFile(filepath.Join(data, "metrics", "batch-runs-"+rec["batch_id"].(string)+".jsonl"), append(line, '\n'), 0o644)
	off := filepath.Join(tmp, "off")
	if err := os.CopyFS(off, os.DirFS(data)); err != nil {
		t.Fatal(err)
	}
	again := func(dir string) string {
		res := cli(t, "record", "--data", dir, "--ecosystem", "npm", "--timestamp", "2040-01-01T00:00:00Z", filepath.Join(hist, "batch1.json"))
		if res.code != 0 {
			t.Fatal(res.stderr)
		}
		return res.stdout
	}
	cached := again(data)
	t.Setenv("BATCHSLI_CACHE", "off")
	whole := again(off)
	if strings.Contains(whole, "already recorded") || strings.Contains(cached, "already recorded") {
		t.Errorf("with the checkpoint:\n%s\nwithout:\n%s", cached, whole)
	}
}
