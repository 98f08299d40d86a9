//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchsli/batchsli/store"
)

// cachedCLI runs the CLI with the report cache on and says whether the
// cache answered.
func cachedCLI(t *testing.T, args ...string) (cliResult, bool) {
	t.Helper()
	t.Setenv("BATCHSLI_CACHE", "")
	before := reportCacheHits
	res := cli(t, args...)
	if res.code != 0 {
		t.Fatalf("%v: exit %d: %s", args, res.code, res.stderr)
	}
	return res, reportCacheHits > before
}

// uncachedCLI runs the CLI with the cache off.
func uncachedCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	t.Setenv("BATCHSLI_CACHE", "off")
	res := cli(t, args...)
	if res.code != 0 {
		t.Fatalf("%v: exit %d: %s", args, res.code, res.stderr)
	}
	return res
}

// settleNow trusts fingerprints of files written just now (the tests write
// them); TestReportCacheUnsettled checks the default.
func settleNow(t *testing.T) {
	old := store.CacheSettle
	store.CacheSettle = 0
	t.Cleanup(func() { store.CacheSettle = old })
}

// TestReportCache: for every report case and format, a report from the
// cache (a miss, then a hit, then a hit for another clock) is byte for byte
// the report computed without it.
func TestReportCache(t *testing.T) {
	settleNow(t)
	for _, tc := range reportCases(t) {
		if tc.name == "demo" {
			continue
		}
		// Each case reads a copy, so that no cache is left in the tree.
		args := append([]string(nil), tc.args...)
		for i := range args {
			if i > 0 && args[i-1] == "--data" {
				dir := filepath.Join(t.TempDir(), "data")
				copyTree(t, args[i], dir)
				args[i] = dir
			}
		}
		for i, format := range []string{"text", "markdown", "json"} {
			a := append([]string{"report", "--format", format}, args...)
			want := uncachedCLI(t, a...)
			// The first format is computed; the others are rendered from
			// the report kept with it.
			got, hit := cachedCLI(t, a...)
			if hit != (i > 0) || got.stdout != want.stdout {
				t.Fatalf("%s %s: first run: hit %v, same output %v", tc.name, format, hit, got.stdout == want.stdout)
			}
			got, hit = cachedCLI(t, a...)
			if !hit || got.stdout != want.stdout || got.stderr != want.stderr {
				t.Fatalf("%s %s: second run: hit %v, same output %v", tc.name, format, hit, got.stdout == want.stdout)
			}
			// Another clock: the budget and generation time follow it.
			later := append(a, "--now", "2026-03-14T18:00:00Z")
			want2 := uncachedCLI(t, later...)
			got2, hit := cachedCLI(t, later...)
			if got2.stdout != want2.stdout {
				t.Fatalf("%s %s: another clock: output differs (hit %v):\n%s", tc.name, format, hit, diffLines(want2.stdout, got2.stdout))
			}
			if !hasSince(a) && !hit {
				t.Errorf("%s %s: another clock missed the cache", tc.name, format)
			}
		}
	}
}

func hasSince(args []string) bool {
	for _, a := range args {
		if a == "--since" {
			return true
		}
	}
	return false
}

// diffLines shows the first line where a and b differ.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "want: " + al[i] + "\n got: " + bl[i]
		}
	}
	return "lengths differ"
}

// TestReportCacheClockMatters checks that the clock changes the budget
// in the sample (or TestReportCache's other clock would prove nothing).
func TestReportCacheClockMatters(t *testing.T) {
	sim := simulated(t)
	a := uncachedCLI(t, "report", "--data", sim, "--now", simNow)
	b := uncachedCLI(t, "report", "--data", sim, "--now", "2026-03-14T18:00:00Z")
	if a.stdout == b.stdout {
		t.Fatal("the clock changed nothing in the report")
	}
}

// TestReportCacheStale: what changes the data or the cache is seen.
func TestReportCacheStale(t *testing.T) {
	settleNow(t)
	dir := filepath.Join(t.TempDir(), "data")
	copyTree(t, simulated(t), dir)
	args := []string{"report", "--format", "json", "--data", dir, "--now", simNow}
	check := func(what string, wantHit bool) {
		t.Helper()
		want := uncachedCLI(t, args...)
		got, hit := cachedCLI(t, args...)
		if got.stdout != want.stdout {
			t.Fatalf("%s: output differs from the uncached report:\n%s", what, diffLines(want.stdout, got.stdout))
		}
		if hit != wantHit {
			t.Fatalf("%s: hit %v, want %v", what, hit, wantHit)
		}
	}
	check("first run", false)
	check("unchanged", true)

	// A new batch.
	res := cli(t, "record", "--data", dir, "--ecosystem", "cargo", "--batch-id", "cache-new",
		"--timestamp", "2026-03-12T11:00:00Z", "--summary", os.DevNull, "testdata/results/history/batch1.json")
	if res.code != 0 {
		t.Fatalf("record: exit %d: %s", res.code, res.stderr)
	}
	check("after a new batch", false)
	check("unchanged again", true)

	// A rewrite in the middle of a file that keeps its size and
	// modification time: the change time still moves.
	p := filepath.Join(dir, "metrics", "batch-runs.jsonl")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	mid := len(data) / 2
	for data[mid] != '"' {
		mid++
	}
	// Swap two digits of a count, if one follows; else retype a letter.
	i := strings.IndexAny(string(data[mid:]), "0123456789") + mid
	if data[i] == '1' {
		data[i] = '2'
	} else {
		data[i] = '1'
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	check("after an in-place rewrite", false)
	check("unchanged after the rewrite", true)

	// A new file.
	if err := os.WriteFile(filepath.Join(dir, "failures", "zz-new.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	check("after a new file", false)

	// A corrupt entry is a miss, and is replaced.
	ents, _ := os.ReadDir(filepath.Join(dir, store.CacheDir))
	n := 0
	for _, e := range ents {
		p := filepath.Join(dir, store.CacheDir, e.Name())
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 0x20
		os.WriteFile(p, b, 0o644)
		n++
	}
	if n == 0 {
		t.Fatal("no cache entry was written")
	}
	check("corrupt entries", false)
	check("after the rebuild", true)

	// Deleting the cache changes nothing.
	os.RemoveAll(filepath.Join(dir, store.CacheDir))
	check("deleted cache", false)
}

// TestReportCacheUnsettled: a file changed just now is not trusted, so
// nothing is kept for it.
func TestReportCacheUnsettled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	copyTree(t, simulated(t), dir)
	old := store.CacheSettle
	store.CacheSettle = time.Hour
	defer func() { store.CacheSettle = old }()
	args := []string{"report", "--data", dir, "--now", simNow}
	cachedCLI(t, args...)
	if _, hit := cachedCLI(t, args...); hit {
		t.Fatal("a report of files changed within CacheSettle was kept")
	}
}

// TestReportCacheLinkOut: a cache folder that is a link out of the data
// directory is not used, and nothing is written through it.
func TestReportCacheLinkOut(t *testing.T) {
	settleNow(t)
	dir := filepath.Join(t.TempDir(), "data")
	copyTree(t, simulated(t), dir)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, store.CacheDir)); err != nil {
		t.Fatal(err)
	}
	args := []string{"report", "--data", dir, "--now", simNow}
	want := uncachedCLI(t, args...)
	for range 2 {
		got, hit := cachedCLI(t, args...)
		if hit || got.stdout != want.stdout {
			t.Fatalf("hit %v, same output %v", hit, got.stdout == want.stdout)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("%d files written through the link", len(ents))
	}
}

// TestReportCacheReadError: a report that met a read error (here too many
// open files, under a low limit) is printed but not kept: the next run
// computes the report again rather than replay the failure.
func TestReportCacheReadError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	copyTree(t, simulated(t), dir)
	time.Sleep(store.CacheSettle + 100*time.Millisecond) // settled for the child
	args := []string{"report", "--format", "json", "--data", dir, "--now", simNow}
	want := uncachedCLI(t, args...)
	child := func(limit int) (string, error) {
		sh := fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, limit)
		if limit == 0 {
			sh = `exec "$0" "$@"`
		}
		cmd := exec.Command("sh", append([]string{"-c", sh, os.Args[0]}, args...)...)
		cmd.Env = append(os.Environ(), "BATCHSLI_TEST_MAIN=1", "BATCHSLI_CACHE=")
		out, err := cmd.Output()
		return string(out), err
	}
	met := 0
	for limit := 5; limit <= 24; limit++ {
		out, err := child(limit)
		if err != nil {
			continue // too few files to start
		}
		if out == want.stdout {
			break // enough files
		}
		if !strings.Contains(out, "too many open files") {
			t.Fatalf("under %d files the report differs, without a read error", limit)
		}
		met++
		if out, err := child(0); err != nil || out != want.stdout {
			t.Fatalf("after a report that met a read error (%d files), the next report differs from the uncached one (%v)", limit, err)
		}
		os.RemoveAll(filepath.Join(dir, store.CacheDir))
	}
	if met == 0 {
		t.Skip("no file limit made the report meet a read error here")
	}
}

// TestReportCacheSinceNow: with --since and neither --until nor --now the
// report depends on this instant; nothing is kept for it.
func TestReportCacheSinceNow(t *testing.T) {
	settleNow(t)
	dir := filepath.Join(t.TempDir(), "data")
	copyTree(t, simulated(t), dir)
	cachedCLI(t, "report", "--data", dir, "--since", "2026-03-05")
	if ents, _ := os.ReadDir(filepath.Join(dir, store.CacheDir)); len(ents) != 0 {
		t.Fatalf("%d entries kept for a report of this instant", len(ents))
	}
}
